/* test_type_table.c - the format registry (quant/type_list.h -> the type table) and the
 * per-ISA kernel tables (kernels/cpu.h) are complete and consistent: every format has the
 * fields its kind requires, on every ISA this CPU supports. The checkers are themselves
 * tested on broken copies of good rows, so a missing field cannot pass unnoticed. */
#include <string.h>
#include <strings.h>

#include "../kernels/cpu.h"
#include "../kernels/repack.h"
#include "../quant/policy.h"
#include "../quant/types.h"
#include "test.h"

/* Problems are reported through this: the first reason is kept, all are counted. */
typedef struct {
    int n;
    char first[160];
} problems;

static void problem(problems *p, const char *name, const char *what) {
    if (!p->n++) snprintf(p->first, sizeof p->first, "%s: %s", name, what);
}

/* ---- one row of the type table ---- */

static void row_problems(const quant_type *t, problems *p) {
    const char *nm = t->name ? t->name : "(no name)";
    if (!t->name || !t->name[0]) problem(p, nm, "no name");
    if (t->id >= QT_MAX_ID) problem(p, nm, "id >= QT_MAX_ID");
    if (t->block < 1 || t->block_bytes == 0) problem(p, nm, "empty block");
    if (!(t->kind & QT_KIND_WA)) problem(p, nm, "neither a weight nor an activation format");
    if (!t->dequantize) problem(p, nm, "no dequantize (every format must be readable)");
    /* weight formats are written by quantize and mkmodel */
    if ((t->kind & QT_KIND_W) && !t->quantize) problem(p, nm, "weight format without quantize");
    if (t->is_scarce != (t->id >= 200)) problem(p, nm, "is_scarce disagrees with the id range");
    if (t->file_type >= 0 && !(t->kind & QT_KIND_W))
        problem(p, nm, "file_type on a format that holds no matrices");
    if (t->file_type >= 0 && (t->file_type >= 200) != t->is_scarce)
        problem(p, nm, "file_type range disagrees with is_scarce (ours are >= 200)");
    const quant_type *dt = qtype(t->dot_type);
    if (!dt) {
        problem(p, nm, "dot_type is no known format");
        return;
    }
    if (!(dt->kind & QT_KIND_A)) problem(p, nm, "dot_type is not an activation format");
    if (t->block % dt->block) problem(p, nm, "block is not a multiple of the dot_type's block");
    if ((t->kind & QT_KIND_A) && t->dot_type != t->id)
        problem(p, nm, "an activation format must be its own dot_type");
}

/* ---- a layout of repack.h: its runs cover a block and a packed block once ---- */

/* A layout with its own converters (kernels/lut.h): no runs, and unpack undoes pack on 8
 * rows of two blocks of every byte value: exactly, or for a format with several bytes of
 * one value (TQ1_0's base-3 bytes), up to them (pack(unpack(pack(x))) = pack(x)). */
static void converted_layout_problems(const x8_layout *l, const quant_type *t, problems *p) {
    if (l->n_runs != 0 || !l->unpack) {
        problem(p, t->name, "converted layout with runs or without unpack");
        return;
    }
    enum { MAX_BYTES = REPACK_ROWS * 2 * 528 };
    const size_t bytes = REPACK_ROWS * 2 * t->block_bytes;
    if (bytes > MAX_BYTES) {
        problem(p, t->name, "block too large for the layout check");
        return;
    }
    unsigned char src[MAX_BYTES], packed[MAX_BYTES], back[MAX_BYTES], again[MAX_BYTES];
    for (size_t i = 0; i < bytes; i++) src[i] = (unsigned char)(i * 167 + 13);
    l->pack(REPACK_ROWS, 2 * t->block, src, packed);
    l->unpack(REPACK_ROWS, 2 * t->block, packed, back);
    l->pack(REPACK_ROWS, 2 * t->block, back, again);
    const size_t packed_bytes = REPACK_ROWS * repack_row_bytes(l, 2 * t->block);
    if (packed_bytes > MAX_BYTES || memcmp(packed, again, packed_bytes) ||
        (t->id != QT_TQ1_0 && memcmp(src, back, bytes)))
        problem(p, t->name, "converted layout does not round-trip");
}

static void layout_problems(const x8_layout *l, const quant_type *t, problems *p) {
    if (l->type != t->id) problem(p, t->name, "packed layout of another type");
    if (!l->ref_tile) problem(p, t->name, "packed layout without its reference tile");
    if (l->pack) {
        converted_layout_problems(l, t, p);
        return;
    }
    if (l->n_runs < 1 || l->n_runs > X8_MAX_RUNS) {
        problem(p, t->name, "packed layout run count out of range");
        return;
    }
    enum { MAX_BLOCK = 512 };
    const size_t bb = t->block_bytes;
    if (bb > MAX_BLOCK) {
        problem(p, t->name, "block too large for the layout check");
        return;
    }
    unsigned char src[MAX_BLOCK] = {0}, dst[REPACK_ROWS * MAX_BLOCK] = {0};
    for (int k = 0; k < l->n_runs; k++) {
        const x8_run *run = &l->runs[k];
        for (int c = 0; c < run->count; c++)
            for (int b = 0; b < run->len; b++) {
                size_t from = run->from + (size_t)c * run->len + b;
                if (from < bb)
                    src[from]++;
                else
                    problem(p, t->name, "packed layout reads past the block");
                for (int r = 0; r < REPACK_ROWS; r++) {
                    size_t at = run->at + (size_t)c * run->at_step + (size_t)r * run->row_step + b;
                    if (at < REPACK_ROWS * bb)
                        dst[at]++;
                    else
                        problem(p, t->name, "packed layout writes past the packed block");
                }
            }
    }
    for (size_t i = 0; i < bb; i++)
        if (src[i] != 1) {
            problem(p, t->name, "packed layout does not move every block byte exactly once");
            break;
        }
    for (size_t i = 0; i < REPACK_ROWS * bb; i++)
        if (dst[i] != 1) {
            problem(p, t->name, "packed layout does not fill every packed byte exactly once");
            break;
        }
}

/* ---- one format's kernels on one ISA (the ISA's table gives the dot format's) ---- */

static void kernel_problems(const quant_type *t, const type_kernels *k, const type_kernels *dot,
                            problems *p) {
    if (t->kind & QT_KIND_W) {
        if (!k->vec_dot) problem(p, t->name, "weight format without a row dot");
        if (!k->dequantize) problem(p, t->name, "weight format without a batch dequantizer");
        if (t->dot_type != QT_F32 && (!dot || !dot->from_float))
            problem(p, t->name, "its dot_type has no from_float");
    }
    if ((t->kind & QT_KIND_A) && t->id != QT_F32 && !k->from_float)
        problem(p, t->name, "activation format without from_float");
    if (!(t->kind & QT_KIND_W) && (k->vec_dot || k->vec_dot_tile || k->packed_tile))
        problem(p, t->name, "dot kernels on a format that holds no matrices");
    if (k->vec_dot_tile && !k->vec_dot) problem(p, t->name, "tile without a row dot");
    if (k->packed_tile && !k->packed_layout) problem(p, t->name, "packed tile without a layout");
    if (k->gemm_i8x8 && !k->packed_tile && !k->to_q8_0)
        problem(p, t->name, "GEMM_I8X8 without a packed tile to run the panels");
    if (k->packed_layout) layout_problems(k->packed_layout, t, p);
}

static void isa_problems(isa_level isa, const isa_kernels *ik, problems *p) {
    const char *name = kernels_isa_name(isa);
    if (!ik->gemm_tile) problem(p, name, "no f32 GEMM micro-kernel");
    if (!ik->ops.attention_heads || !ik->ops.swiglu) problem(p, name, "no attention / swiglu");
    for (int i = 0; qtype_at(i); i++) {
        const quant_type *t = qtype_at(i);
        kernel_problems(t, &ik->type[i], kernels_for(isa, t->dot_type), p);
    }
}

/* ---- the tests ---- */

TEST(type_table_rows_complete) {
    int n = 0;
    for (int i = 0; qtype_at(i); i++, n++) {
        const quant_type *t = qtype_at(i);
        problems p = {0};
        row_problems(t, &p);
        CHECK_MSG(p.n == 0, "%s (%d problems)", p.first, p.n);
        CHECK_MSG(qtype(t->id) == t && qtype_index(t->id) == i, "%s: lookup by id", t->name);
        CHECK_MSG(qtype_by_name(t->name) == t, "%s: lookup by name", t->name);
        /* row bytes follow the block */
        CHECK_EQ_INT(qtype_row_bytes(t->id, 3 * (int64_t)t->block), 3 * t->block_bytes);
        if (t->block > 1) CHECK_EQ_INT(qtype_row_bytes(t->id, t->block + 1), 0);
        CHECK_NEAR(qtype_bpw(t->id), 8.0 * t->block_bytes / t->block, 1e-12);
        for (int j = 0; j < i; j++) {
            const quant_type *u = qtype_at(j);
            CHECK_MSG(u->id != t->id, "%s and %s share id %u", u->name, t->name, t->id);
            CHECK_MSG(strcasecmp(u->name, t->name), "%s named twice", t->name);
            CHECK_MSG(t->file_type < 0 || u->file_type != t->file_type,
                      "%s and %s share file_type %d", u->name, t->name, t->file_type);
        }
        /* every activation format serves some weight format */
        int serves = !(t->kind & QT_KIND_A);
        for (int j = 0; qtype_at(j) && !serves; j++)
            serves = (qtype_at(j)->kind & QT_KIND_W) && qtype_at(j)->dot_type == t->id;
        CHECK_MSG(serves, "%s: activation format of no weight format", t->name);
    }
    CHECK_EQ_INT(n, QT_COUNT);
    CHECK(qtype(QT_MAX_ID) == NULL && qtype_index(QT_MAX_ID + 7) == -1 && !qtype_by_name("q9_9"));
}

/* Broken copies of good rows are caught (so the walk above can fail). */
TEST(type_table_checker_catches_missing_fields) {
    const quant_type *good = qtype(QT_Q4_0);
    REQUIRE(good);
    problems p = {0};
    row_problems(good, &p);
    REQUIRE(p.n == 0);
    quant_type bad[8];
    for (int i = 0; i < 8; i++) bad[i] = *good;
    bad[0].quantize = NULL;
    bad[1].dequantize = NULL;
    bad[2].dot_type = QT_Q4_1; /* not an activation format */
    bad[3].dot_type = 199;     /* unknown */
    bad[4].block = 0;
    bad[5].is_scarce = 1;
    bad[6].kind = QT_KIND_A;   /* an activation format with a file type, not its own dot */
    bad[7].dot_type = QT_Q8_K; /* block 32 is no multiple of 256 */
    for (int i = 0; i < 8; i++) {
        problems q = {0};
        row_problems(&bad[i], &q);
        CHECK_MSG(q.n > 0, "broken row %d passed", i);
    }
}

/* Every ISA this CPU supports has a table, complete for every format; the others none. */
TEST(type_table_kernels_complete_on_every_isa) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    int n_supported = 0;
    for (int isa = 0; isa < ISA_COUNT; isa++) {
        const isa_kernels *ik = kernels_of(isa);
        if (!kernels_isa_supported(isa)) {
            CHECK_MSG(ik == NULL, "%s: table without CPU support", kernels_isa_name(isa));
            continue;
        }
        REQUIRE(ik);
        n_supported++;
        problems p = {0};
        isa_problems(isa, ik, &p);
        CHECK_MSG(p.n == 0, "%s: %s (%d problems)", kernels_isa_name(isa), p.first, p.n);
        CHECK(kernels_for(isa, QT_MAX_ID) == NULL);
    }
    CHECK(n_supported >= 1 && kernels_isa_supported(ISA_SCALAR));
    CHECK(kernels_isa_supported(kernels_isa()));
    /* the scalar ISA runs the references only: no tiles, nothing packed */
    for (int i = 0; qtype_at(i); i++) {
        const type_kernels *k = kernels_for(ISA_SCALAR, qtype_at(i)->id);
        CHECK_MSG(!k->vec_dot_tile && !k->packed_tile && !k->gemm_i8x8, "scalar %s: ISA kernels",
                  qtype_at(i)->name);
    }
    char msg[128];
    CHECK(kernels_init("no-such-isa", msg) == -1 && strstr(msg, "no-such-isa"));
    for (int isa = 0; isa < ISA_COUNT; isa++)
        if (!kernels_isa_supported(isa)) CHECK(kernels_init(kernels_isa_name(isa), msg) == -1);
}

/* The kernel checker catches broken entries, and a layout whose runs overlap. */
TEST(type_table_kernel_checker_catches_missing_fields) {
    REQUIRE(kernels_init(NULL, NULL) == 0);
    const quant_type *q4 = qtype(QT_Q4_0), *q8k = qtype(QT_Q8_K);
    const type_kernels *good = kernels_for(ISA_SCALAR, QT_Q4_0);
    const type_kernels *q8 = kernels_for(ISA_SCALAR, QT_Q8_0);
    REQUIRE(good && q8);
    problems p = {0};
    kernel_problems(q4, good, q8, &p);
    REQUIRE(p.n == 0);
    x8_layout overlap = *good->packed_layout;
    overlap.runs[1].from = 0; /* qs chunks read the scale again */
    type_kernels bad[6];
    for (int i = 0; i < 6; i++) bad[i] = *good;
    bad[0].vec_dot = NULL;
    bad[1].dequantize = NULL;
    bad[2].packed_layout = NULL, bad[2].packed_tile = good->packed_layout->ref_tile;
    bad[3].gemm_i8x8 = 1; /* no packed tile on the scalar ISA */
    bad[4].packed_layout = &overlap;
    bad[5].vec_dot = NULL, bad[5].vec_dot_tile = good->packed_layout->ref_tile;
    for (int i = 0; i < 6; i++) {
        problems q = {0};
        kernel_problems(q4, &bad[i], q8, &q);
        CHECK_MSG(q.n > 0, "broken kernels %d passed", i);
    }
    problems q = {0}; /* a dot format without from_float */
    kernel_problems(q4, good, &(type_kernels){0}, &q);
    CHECK(q.n > 0);
    q = (problems){0};
    kernel_problems(q8k, &(type_kernels){0}, NULL, &q);
    CHECK(q.n > 0);
}

/* quantize's pure schemes and mkmodel's file types come from the table. */
TEST(type_table_schemes_follow_the_table) {
    for (int i = 0; qtype_at(i); i++) {
        const quant_type *t = qtype_at(i);
        const quant_scheme *s = quant_scheme_by_name(t->name);
        if (t->file_type < 0) {
            CHECK_MSG(!s, "%s: a scheme without a file type", t->name);
            continue;
        }
        REQUIRE(s);
        CHECK_MSG(s->base == t->id && s->file_type == (uint32_t)t->file_type, "%s", t->name);
        CHECK_MSG(s->mix == MIX_NONE || s->mix == MIX_PURE, "%s: pure scheme with a mix", t->name);
    }
    /* llama.cpp: a file of Q3_K / Q4_K / Q5_K matrices is its _M file type */
    const char *pure[] = {"q3_k", "q4_k", "q5_k"}, *mix[] = {"q3_k_m", "q4_k_m", "q5_k_m"};
    for (int i = 0; i < 3; i++)
        CHECK_EQ_INT(quant_scheme_by_name(pure[i])->file_type,
                     quant_scheme_by_name(mix[i])->file_type);
    int n = 0;
    for (int i = 0; quant_scheme_at(i); i++) n++;
    CHECK(n > QT_COUNT - 2 && quant_scheme_at(n) == NULL);
}
