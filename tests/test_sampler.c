/* test_sampler.c - the sampler's transforms and its draws. */
#include <math.h>
#include <string.h>

#include "../engine/sampler.h"
#include "test.h"

static const float logits[8] = {1.0f, 3.0f, 2.5f, -1.0f, 0.0f, 2.9f, 0.5f, -3.0f};

TEST(sampler_greedy_is_argmax) {
    sampler s;
    sampler_params p = {.temp = 0};
    REQUIRE(sampler_init(&s, &p, 8) == 0);
    CHECK_EQ_INT(sampler_sample(&s, logits), 1);
    float probs[8];
    sampler_probs(&s, logits, probs);
    CHECK_NEAR(probs[1], 1.0, 0);
    sampler_free(&s);
}

static int nonzero(const float *p, int n) {
    int k = 0;
    for (int i = 0; i < n; i++) k += p[i] > 0;
    return k;
}

TEST(sampler_top_k_top_p_min_p) {
    sampler s;
    float probs[8], sum;
    sampler_params p = {.temp = 1, .top_k = 3, .top_p = 1};
    REQUIRE(sampler_init(&s, &p, 8) == 0);
    sampler_probs(&s, logits, probs);
    CHECK_EQ_INT(nonzero(probs, 8), 3);
    CHECK(probs[1] > 0 && probs[5] > 0 && probs[2] > 0);
    sum = 0;
    for (int i = 0; i < 8; i++) sum += probs[i];
    CHECK_NEAR(sum, 1.0, 1e-6);
    sampler_free(&s);

    /* softmax of the logits: p(1)=.31 p(5)=.28 p(2)=.19 ... top-p 0.5 keeps the first two */
    p = (sampler_params){.temp = 1, .top_p = 0.5f};
    REQUIRE(sampler_init(&s, &p, 8) == 0);
    sampler_probs(&s, logits, probs);
    CHECK_EQ_INT(nonzero(probs, 8), 2);
    CHECK(probs[1] > probs[5] && probs[5] > 0);
    sampler_free(&s);

    /* min-p 0.5 keeps tokens with p >= 0.5 p_max: 1, 5, 2 (e^-0.5 = .61 of the max) */
    p = (sampler_params){.temp = 1, .top_p = 1, .min_p = 0.5f};
    REQUIRE(sampler_init(&s, &p, 8) == 0);
    sampler_probs(&s, logits, probs);
    CHECK_EQ_INT(nonzero(probs, 8), 3);
    sampler_free(&s);
}

/* 40000 draws at temperature 1 follow softmax(logits): chi-square with 7 degrees of
 * freedom stays below 24.3 (p = 0.001). The seed is fixed, so this is deterministic. */
TEST(sampler_draws_follow_distribution) {
    sampler s;
    sampler_params p = {.temp = 1, .top_p = 1, .seed = 1234};
    REQUIRE(sampler_init(&s, &p, 8) == 0);
    float probs[8];
    sampler_probs(&s, logits, probs);
    int counts[8] = {0};
    const int N = 40000;
    for (int i = 0; i < N; i++) counts[sampler_sample(&s, logits)]++;
    double chi2 = 0;
    for (int i = 0; i < 8; i++) {
        double e = probs[i] * N;
        chi2 += (counts[i] - e) * (counts[i] - e) / e;
    }
    CHECK_MSG(chi2 < 24.3, "chi-square %.2f", chi2);
    sampler_free(&s);
}

TEST(sampler_seed_reproducible) {
    sampler a, b;
    sampler_params p = {.temp = 0.9f, .top_k = 5, .top_p = 0.9f, .seed = 99};
    REQUIRE(sampler_init(&a, &p, 8) == 0 && sampler_init(&b, &p, 8) == 0);
    for (int i = 0; i < 100; i++) CHECK_EQ_INT(sampler_sample(&a, logits), sampler_sample(&b, logits));
    sampler_free(&a);
    sampler_free(&b);
}
