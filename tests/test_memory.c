/* test_memory.c - weights are used in place from the mmapped file, never copied.
 *
 * A synthetic f16 model of a few hundred MB (mkmodel with the llama-spm vocabulary) is
 * loaded in this process: VmRSS right after model_load must grow by far less than the
 * file, and after a few decode steps (which touch every weight once) by about the weights
 * + KV cache + a few MB of buffers, never by two copies of the weights. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../engine/forward.h"
#include "../kernels/cpu.h"
#include "../kernels/matmul.h"
#include "test.h"

static long rss_kb(void) {
    char *s = read_file("/proc/self/status", NULL);
    const char *p = s ? strstr(s, "VmRSS:") : NULL;
    long kb = p ? strtol(p + 6, NULL, 10) : -1;
    free(s);
    return kb;
}

TEST(memory_mmap_no_copy) {
    const char *vocab = shared_path("models/vocab/ggml-vocab-llama-spm.gguf");
    NEED_FILE(vocab);
    char path[600], cmd[2048];
    snprintf(path, sizeof path, "%s/big.gguf", test_tmpdir());
    /* 8 layers x 12.6M + 2 x 32000 x 1024 weights, f16: ~270 MB */
    snprintf(cmd, sizeof cmd, "%s mkmodel -o %s --vocab %s --n-embd 1024 --n-layer 8 --n-head 8 "
             "--n-head-kv 8 --n-ff 2816 --type f16 --ctx 256", scarce_bin(), path, vocab);
    if (run_cmd(cmd, NULL, NULL) != 0) SKIP("scarce mkmodel not built or failed");
    struct stat st;
    REQUIRE(stat(path, &st) == 0);
    double file_mb = st.st_size / 1048576.0;

    kernels_init(NULL, NULL);
    long before = rss_kb();
    scarce_error err = {0};
    model *m = model_load(path, NULL, &err);
    CHECK_MSG(m != NULL, "model_load: %s", err.msg);
    if (!m) return;
    double load_mb = (rss_kb() - before) / 1024.0;
    printf("      file %.0f MB, RSS +%.1f MB after model_load\n", file_mb, load_mb);
    CHECK_MSG(load_mb < 0.1 * file_mb, "model_load grew RSS by %.1f MB for a %.0f MB file",
              load_mb, file_mb);

    REQUIRE(model_set_threads(m, 2, &err) == 0);
    session s = {0};
    int n_ctx = 64;
    REQUIRE(session_init(&s, m, n_ctx, &err) == 0);
    int tok = 1;
    for (int i = 0; i < 4; i++) {
        const float *logits = forward(&s, &tok, 1, 0, &err);
        REQUIRE(logits != NULL);
        tok = (i * 7 + 3) % m->cfg.n_vocab;
    }
    double weights_mb = model_weight_bytes(m) / 1048576.0;
    double kv_mb = 2.0 * m->cfg.n_layer * n_ctx * m->cfg.n_head_kv * m->cfg.head_dim * 4 / 1048576.0;
    double run_mb = (rss_kb() - before) / 1024.0;
    printf("      RSS +%.1f MB after 4 tokens (weights %.1f MB, KV cache <= %.1f MB)\n", run_mb,
           weights_mb, kv_mb);
    /* slack: activations, logits, f32 norms, thread stacks, allocator */
    CHECK_MSG(run_mb < weights_mb + kv_mb + 48, "RSS +%.1f MB > weights + KV + 48 MB", run_mb);
    session_free(&s);
    model_free(m);
}
