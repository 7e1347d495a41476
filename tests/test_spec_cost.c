/* test_spec_cost.c - the draft-length chooser never picks a length its own figures say
 * loses (on synthetic costs and acceptances, with a negative control that does), the
 * online cost model follows the figures it is fed, and the n-gram lookup index finds what
 * a brute-force search finds. */
#include <math.h>
#include <string.h>

#include "../engine/lookup.h"
#include "../engine/spec_cost.h"
#include "test.h"

/* splitmix64 -> [0, 1) */
static double uniform(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (double)((z ^ (z >> 31)) >> 11) / 9007199254740992.0;
}

TEST(spec_expected_tokens_is_the_geometric_sum) {
    CHECK_NEAR(spec_expected_tokens(0.0, 5), 1.0, 1e-12);
    CHECK_NEAR(spec_expected_tokens(1.0, 5), 6.0, 1e-12);
    uint64_t seed = 7;
    for (int t = 0; t < 100; t++) {
        const double a = uniform(&seed);
        const int k = 1 + t % 12;
        double sum = 0, ak = 1;
        for (int i = 0; i <= k; i++) sum += ak, ak *= a;
        CHECK_NEAR(spec_expected_tokens(a, k), sum, 1e-9 * sum);
    }
}

/* S(k) = E(a, k) / (v[k] + k d), S(0) = 1 */
static double speedup(const double *v, double d, double a, int k) {
    return k ? spec_expected_tokens(a, k) / (v[k] + k * d) : 1.0;
}

/* 0 when choosing k on these figures is right: nothing in range is better, and a draft
 * (k > 0) is expected to beat plain decoding. */
static int wrong_choice(const double *v, double d, double a, int k_min, int k_max, int k) {
    const double s = speedup(v, d, a, k);
    if (k && s <= 1.0) return 1;
    for (int j = k_min; j <= k_max; j++)
        if (speedup(v, d, a, j) > s * (1 + 1e-12)) return 1;
    return 0;
}

/* random figures: verify costs rising from 1 (bandwidth-bound: flat; compute-bound:
 * steep), draft steps from free (lookup) to a full plain step */
static void random_figures(uint64_t *seed, double *v, double *d, double *a, int k_max) {
    const double slope = uniform(seed) * 0.6, jitter = uniform(seed) * 0.1;
    v[0] = 1;
    for (int k = 1; k <= k_max; k++) v[k] = v[k - 1] + slope * uniform(seed) + jitter;
    *d = uniform(seed) < 0.2 ? 0 : uniform(seed);
    *a = uniform(seed) < 0.1 ? 1 : uniform(seed);
}

TEST(spec_chooser_never_picks_a_length_its_figures_say_loses) {
    uint64_t seed = 12345;
    int drafted = 0, plain = 0;
    for (int t = 0; t < 20000; t++) {
        const int k_max = 1 + t % SPEC_COST_MAX, k_min = 1 + (t / 7) % k_max;
        double v[SPEC_COST_MAX + 1], d, a;
        random_figures(&seed, v, &d, &a, k_max);
        spec_choice c;
        const int k = spec_choose_length(v, d, a, k_min, k_max, &c);
        CHECK_EQ_INT(k, c.k);
        CHECK(k == 0 || (k >= k_min && k <= k_max));
        if (wrong_choice(v, d, a, k_min, k_max, k)) {
            test_fail_at(__FILE__, __LINE__, "a=%.3f d=%.3f k=%d..%d: chose %d (S %.3f)", a, d,
                         k_min, k_max, k, speedup(v, d, a, k));
            break;
        }
        CHECK_NEAR(c.expected_speedup, speedup(v, d, a, k), 1e-9);
        drafted += k > 0, plain += k == 0;
    }
    /* the figures cover both outcomes, so the check above saw both kinds of choice */
    CHECK_MSG(drafted > 1000 && plain > 1000, "drafted %d, plain %d", drafted, plain);
}

TEST(spec_chooser_check_catches_a_chooser_that_ignores_costs) {
    /* negative control: "always the longest draft" (what a fixed --draft does) fails the
     * property on the same figures, so the property can fail */
    uint64_t seed = 12345;
    int caught = 0;
    for (int t = 0; t < 2000; t++) {
        double v[9], d, a;
        random_figures(&seed, v, &d, &a, 8);
        caught += wrong_choice(v, d, a, 1, 8, 8);
    }
    CHECK_MSG(caught > 200, "always-8 was wrong only %d times in 2000", caught);
}

TEST(spec_chooser_known_cases) {
    double flat[9], steep[9];
    for (int k = 0; k <= 8; k++) flat[k] = 1 + 0.02 * k, steep[k] = 1 + 0.8 * k;
    spec_choice c;
    /* free drafts, bandwidth-bound verify, a = 0.9: the longest pays */
    CHECK_EQ_INT(spec_choose_length(flat, 0, 0.9, 1, 8, &c), 8);
    CHECK(c.why == SPEC_WHY_BEST && c.expected_speedup > 4);
    /* a useless draft: plain decoding, and the best it could do is reported */
    CHECK_EQ_INT(spec_choose_length(flat, 0.5, 0.05, 1, 8, &c), 0);
    CHECK(c.why == SPEC_WHY_NO_GAIN && c.best_k == 1 && c.best_speedup < 1);
    /* verify as dear as decoding k+1 tokens: nothing pays even at a = 0.95 */
    CHECK_EQ_INT(spec_choose_length(steep, 0.3, 0.95, 1, 8, &c), 0);
    /* a good draft at half a plain step: a middle length */
    const int k = spec_choose_length(flat, 0.15, 0.8, 1, 8, &c);
    CHECK(k > 1 && k < 8);
}

/* Feeds the model passes timed t1 (1 + slope k) and draft steps d t1, acceptance a. */
static spec_choice run_model(spec_cost *c, double slope, double d, double a, int passes,
                             uint64_t *seed, int *plain_passes) {
    const double t1 = 0.01;
    spec_choice ch = {0};
    *plain_passes = 0;
    for (int p = 0; p < passes; p++) {
        ch = spec_cost_next(c);
        int acc = 0;
        while (acc < ch.k && uniform(seed) < a) acc++;
        spec_cost_observe(c, ch.k, acc, ch.k * d * t1, t1 * (1 + slope * ch.k));
        *plain_passes += ch.k == 0;
    }
    return ch;
}

TEST(spec_cost_model_learns_and_decides) {
    uint64_t seed = 99;
    spec_cost c;
    int plain;
    /* a cheap, good draft: drafts, and the choice is the chooser's on its own figures */
    spec_cost_init(&c, 1, 8, 0);
    run_model(&c, 0.05, 0.1, 0.85, 200, &seed, &plain);
    double v[SPEC_COST_MAX + 1], d;
    REQUIRE(spec_cost_figures(&c, v, &d));
    CHECK_NEAR(v[4], 1.2, 0.01);
    CHECK_NEAR(d, 0.1, 0.01);
    spec_choice want;
    spec_choose_length(v, d, c.accepted / (c.accepted + c.rejected), 1, 8, &want);
    CHECK(want.k >= 3);
    CHECK_MSG(plain < 200 / SPEC_COST_REFRESH + 3, "%d plain passes of 200", plain);
    /* a draft that is always rejected: plain decoding, a probe every SPEC_COST_PROBE */
    spec_cost_init(&c, 1, 8, 0);
    run_model(&c, 0.05, 0.5, 0.0, 200, &seed, &plain);
    CHECK_MSG(plain > 200 * (SPEC_COST_PROBE - 1) / SPEC_COST_PROBE - 8, "%d plain of 200", plain);
    CHECK(c.last.why == SPEC_WHY_NO_GAIN || c.last.why == SPEC_WHY_PROBE);
}

/* ---- lookup index against brute force ------------------------------------------------- */

/* The position after the most recent occurrence of key (n tokens) in t[0..len) that has a
 * following token, else -1. */
static int brute_next(const int *t, int len, const int *key, int n) {
    for (int j = len - n - 1; j >= 0; j--)
        if (!memcmp(t + j, key, (size_t)n * sizeof *t)) return j + n;
    return -1;
}

TEST(lookup_index_matches_brute_force_longest_first) {
    enum { LEN = 3000, FILE_LEN = 500, K = 5 };
    static int t[LEN], file[FILE_LEN];
    uint64_t seed = 3;
    for (int i = 0; i < LEN; i++) t[i] = (int)(uniform(&seed) * 6); /* small alphabet: matches */
    for (int i = 0; i < FILE_LEN; i++) file[i] = (int)(uniform(&seed) * 9);
    lookup_index ctx, fx;
    REQUIRE(!lookup_index_init(&ctx, 2, 5) && !lookup_index_init(&fx, 2, 5));
    REQUIRE(!lookup_index_update(&fx, file, FILE_LEN));
    int checked = 0, from_file = 0;
    for (int len = 1; len <= LEN; len += 1 + len / 50) {
        REQUIRE(!lookup_index_update(&ctx, t, len));
        const lookup_source src[2] = {{&ctx, t, len}, {&fx, file, FILE_LEN}};
        int draft[K], n_got = 0, which = -1;
        const int got = lookup_draft(src, 2, t, len, K, draft, &n_got, &which);
        /* brute force: n from 5 down to 2, the context before the file */
        int want_next = -1, want_n = 0, want_src = -1;
        for (int n = len < 5 ? len : 5; n >= 2 && want_next < 0; n--) {
            if ((want_next = brute_next(t, len, t + len - n, n)) >= 0)
                want_src = 0;
            else if ((want_next = brute_next(file, FILE_LEN, t + len - n, n)) >= 0)
                want_src = 1;
            want_n = n;
        }
        if (want_next < 0) {
            CHECK_EQ_INT(got, 0);
            continue;
        }
        const int *from = want_src ? file : t, from_len = want_src ? FILE_LEN : len;
        int want_got = from_len - want_next < K ? from_len - want_next : K;
        CHECK_EQ_INT(got, want_got);
        CHECK_EQ_INT(n_got, want_n);
        CHECK_EQ_INT(which, want_src);
        CHECK(got == want_got && !memcmp(draft, from + want_next, (size_t)got * sizeof *draft));
        checked++, from_file += want_src == 1;
    }
    CHECK(checked > 100 && from_file > 0);
    CHECK(ctx.cap > 1024); /* it grew */
    lookup_index_free(&ctx);
    lookup_index_free(&fx);
}

TEST(lookup_index_refuses_bad_lengths) {
    lookup_index ix;
    CHECK(lookup_index_init(&ix, 0, 3) == -1);
    CHECK(lookup_index_init(&ix, 3, 2) == -1);
    CHECK(lookup_index_init(&ix, 1, LOOKUP_MAX_N + 1) == -1);
}
