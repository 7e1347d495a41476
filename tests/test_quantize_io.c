/* test_quantize_io.c - how `scarce quantize` writes: the same bytes for any thread count,
 * and no output file at all when it is interrupted (SIGINT) or the disk fills up (a file
 * size limit stands in for a full disk). */
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../engine/gguf.h"
#include "../engine/quantize_model.h"
#include "../kernels/cpu.h"
#include "../quant/types.h"
#include "test.h"

#define STORIES "models/stories260K.gguf"

static const char *tmp_path(const char *name) {
    static char buf[4][512];
    static int slot;
    char *p = buf[slot++ % 4];
    snprintf(p, 512, "%s/%s", test_tmpdir(), name);
    return p;
}

/* A random model with rows of n_embd (K-quants fit when it is a multiple of 256). */
static int make_model(const char *path, int n_embd, int n_layer, int n_ff) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "%s mkmodel -o %s --vocab %s --n-embd %d --n-layer %d --n-head 8 "
             "--n-head-kv 4 --n-ff %d --seed 5",
             scarce_bin(), path, shared_path(STORIES), n_embd, n_layer, n_ff);
    return run_cmd(cmd, NULL, NULL);
}

static int same_bytes(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *x = read_file(a, &na), *y = read_file(b, &nb);
    int same = x && y && na == nb && !memcmp(x, y, na);
    free(x), free(y);
    return same;
}

/* Rows are split between threads; each row's bytes depend on its values only. */
TEST(quantize_threads_same_bytes) {
    NEED_SHARED(STORIES);
    kernels_init(NULL, NULL);
    const char *model = tmp_path("syn.gguf");
    REQUIRE(make_model(model, 256, 1, 512) == 0);
    static const char *types[] = {"q8_0", "q4_0",  "q4_1",  "q5_0",   "q2_k",   "q3_k", "q4_k_m",
                                  "q5_k", "q6_k",  "tq2_0", "mxfp4",  "iq4_nl", "iq4_xs"};
    const char *one = tmp_path("t1.gguf"), *two = tmp_path("t2.gguf");
    for (size_t k = 0; k < sizeof types / sizeof types[0]; k++) {
        scarce_error err;
        quantize_opts o1 = {.n_threads = 1}, o2 = {.n_threads = 2};
        CHECK_MSG(quantize_model(model, one, types[k], &o1, NULL, &err) == 0, "%s: %s", types[k],
                  err.msg);
        CHECK_MSG(quantize_model(model, two, types[k], &o2, NULL, &err) == 0, "%s: %s", types[k],
                  err.msg);
        CHECK_MSG(same_bytes(one, two), "%s: 1 and 2 threads wrote different files", types[k]);
    }
}

/* Nothing named like `out` (the file or its temporary) in the test's directory. */
static void check_nothing_left(const char *stem) {
    DIR *d = opendir(test_tmpdir());
    REQUIRE(d);
    for (struct dirent *e; (e = readdir(d));)
        CHECK_MSG(!strstr(e->d_name, stem), "left behind: %s", e->d_name);
    closedir(d);
}

/* Starts `scarce quantize in out type -t 1` with stderr to a file; a file size limit
 * (bytes, 0: none) applies to the child only, SIGXFSZ at its default (the tool must ignore
 * it itself). */
static pid_t start_quantize(const char *in, const char *out, const char *type, long fsize_limit) {
    pid_t pid = fork();
    if (pid == 0) {
        if (fsize_limit > 0) {
            struct rlimit r = {(rlim_t)fsize_limit, (rlim_t)fsize_limit};
            setrlimit(RLIMIT_FSIZE, &r);
        }
        signal(SIGXFSZ, SIG_DFL);
        if (!freopen(tmp_path("child.err"), "w", stderr) || !freopen("/dev/null", "w", stdout))
            _exit(99);
        execl(scarce_bin(), scarce_bin(), "quantize", in, out, type, "-t", "1", (char *)NULL);
        _exit(98);
    }
    return pid;
}

/* 1 when a file whose name starts with stem exists in the test's directory */
static int temp_exists(const char *stem) {
    DIR *d = opendir(test_tmpdir());
    int found = 0;
    for (struct dirent *e; d && (e = readdir(d));) found |= !strncmp(e->d_name, stem, strlen(stem));
    if (d) closedir(d);
    return found;
}

TEST(quantize_sigint_leaves_no_file) {
    NEED_SHARED(STORIES);
    const char *model = tmp_path("big.gguf");
    REQUIRE(make_model(model, 512, 6, 1536) == 0); /* ~20M weights: seconds of q4_k work */
    pid_t pid = start_quantize(model, tmp_path("sig-out.gguf"), "q4_k", 0);
    REQUIRE(pid > 0);
    /* wait for the temporary file: the writing has begun */
    for (int i = 0; i < 3000 && !temp_exists("sig-out.gguf.tmp"); i++) {
        struct timespec ts = {0, 2000000};
        nanosleep(&ts, NULL);
    }
    CHECK_MSG(temp_exists("sig-out.gguf.tmp"), "quantize never began writing");
    kill(pid, SIGINT);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
    char *msg = read_file(tmp_path("child.err"), NULL);
    CHECK_MSG(msg && strstr(msg, "interrupted"), "stderr: %s", msg ? msg : "");
    free(msg);
    check_nothing_left("sig-out");
}

TEST(quantize_disk_full_leaves_no_file) {
    NEED_SHARED(STORIES);
    /* stories260K in q8_0 is about 300 KB: a 64 KB limit fails in the tensor data */
    pid_t pid = start_quantize(shared_path(STORIES), tmp_path("full-out.gguf"), "q8_0", 65536);
    REQUIRE(pid > 0);
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d", status);
    char *msg = read_file(tmp_path("child.err"), NULL);
    CHECK_MSG(msg && strstr(msg, "full-out.gguf"), "stderr: %s", msg ? msg : "");
    free(msg);
    check_nothing_left("full-out");
}

/* scarce imatrix writes llama-imatrix's GGUF (name.in_sum2 / name.counts); rewritten here
 * as llama-imatrix's legacy .dat and as scarce's earlier layout (one tensor of means per
 * weight), the three give the same quantization. */
TEST(quantize_reads_llama_imatrix_formats) {
    NEED_SHARED(STORIES);
    NEED_SHARED("data/tinystories-valid.txt");
    kernels_init(NULL, NULL);
    const char *ours = tmp_path("im.gguf"), *dat = tmp_path("im.dat"),
               *lg = tmp_path("im-means.gguf");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s imatrix -m %s -f %s -c 64 --chunks 2 -o %s -t 1", scarce_bin(),
             shared_path(STORIES), shared_path("data/tinystories-valid.txt"), ours);
    REQUIRE(run_cmd(cmd, NULL, NULL) == 0);
    scarce_error err;
    gguf_file *im = gguf_open(ours, &err);
    REQUIRE(im);
    FILE *fp = fopen(dat, "wb");
    gguf_writer *w = gguf_writer_new();
    REQUIRE(fp && w);
    const int32_t n = (int32_t)im->n_tensors / 2, ncall = 8;
    fwrite(&n, 4, 1, fp);
    gguf_writer_set_str(w, "general.type", "imatrix");
    char name[256];
    for (uint64_t i = 0; i < im->n_tensors; i += 2) {
        const gguf_tensor *t = &im->tensors[i];
        REQUIRE(strlen(t->name) > 8 && !strcmp(t->name + strlen(t->name) - 8, ".in_sum2"));
        snprintf(name, sizeof name, "%.*s", (int)strlen(t->name) - 8, t->name);
        int64_t ne[1] = {t->ne[0]};
        CHECK(gguf_writer_add_tensor(w, name, QT_F32, 1, ne, &err) == 0);
    }
    REQUIRE(gguf_writer_open(w, lg, &err) == 0);
    for (uint64_t i = 0; i < im->n_tensors; i += 2) {
        const gguf_tensor *t = &im->tensors[i];
        const float count = *(const float *)im->tensors[i + 1].data;
        const int32_t len = (int32_t)strlen(t->name) - 8, nval = (int32_t)t->ne[0];
        float *mean = malloc(sizeof(float) * (size_t)nval), *v = malloc(sizeof(float) * nval);
        for (int32_t j = 0; j < nval; j++) {
            mean[j] = ((const float *)t->data)[j] / count;
            v[j] = mean[j] * ncall;
        }
        fwrite(&len, 4, 1, fp), fwrite(t->name, 1, (size_t)len, fp);
        fwrite(&ncall, 4, 1, fp), fwrite(&nval, 4, 1, fp), fwrite(v, 4, (size_t)nval, fp);
        CHECK(gguf_writer_write(w, mean, sizeof(float) * (size_t)nval, &err) == 0);
        free(mean), free(v);
    }
    fclose(fp);
    REQUIRE(gguf_writer_finish(w, &err) == 0);
    gguf_writer_free(w);
    gguf_close(im);
    char outs[3][512]; /* tmp_path's buffers rotate: the inputs' names are still in use */
    const char *paths[3] = {ours, dat, lg};
    for (int k = 0; k < 3; k++) snprintf(outs[k], sizeof outs[k], "%s/q%d.gguf", test_tmpdir(), k);
    for (int k = 0; k < 3; k++) {
        quantize_opts o = {.n_threads = 1, .imatrix_path = paths[k]};
        quantize_report rep;
        CHECK_MSG(quantize_model(shared_path(STORIES), outs[k], "q4_0", &o, &rep, &err) == 0, "%s",
                  err.msg);
        CHECK_MSG(rep.n_imatrix_used == 5 * 7 + 1, "%s: %d tensors with importance", paths[k],
                  rep.n_imatrix_used);
        quantize_report_free(&rep);
    }
    CHECK_MSG(same_bytes(outs[0], outs[1]), "the .dat imatrix quantized differently");
    CHECK_MSG(same_bytes(outs[0], outs[2]), "the means' GGUF quantized differently");
}
