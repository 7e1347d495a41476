/* cmd_inspect.c - scarce inspect FILE: a GGUF file's metadata and tensor table (like
 * gguf-dump), to see what a model holds before running it. */
#include <stdio.h>
#include <string.h>

#include "../engine/gguf.h"
#include "../quant/types.h"
#include "cli.h"

enum { MAX_STR = 60, MAX_ITEMS = 8 };

static void usage(FILE *out) {
    fprintf(out, "usage: scarce inspect FILE.gguf\n"
                 "  prints the GGUF version, alignment, every key (type, value; arrays and long\n"
                 "  strings abbreviated) and the tensor table (name, type, shape, offset, bytes)\n");
}

/* A string, quoted, with control bytes escaped and cut after MAX_STR bytes. */
static void print_str(const char *s, uint64_t len) {
    putchar('"');
    for (uint64_t i = 0; i < len && i < MAX_STR; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f) printf("\\x%02x", ch);
        else putchar(ch);
    }
    putchar('"');
    if (len > MAX_STR) printf("...(%llu bytes)", (unsigned long long)len);
}

static void print_number(const gguf_kv *kv, uint32_t type, uint64_t i, int is_array) {
    double f = is_array ? gguf_arr_f64(kv, i) : kv->f64;
    if (type == GGUF_F32 || type == GGUF_F64) printf("%.9g", f);
    else if (type == GGUF_BOOL) printf("%s", (is_array ? gguf_arr_i64(kv, i) : kv->i64) ? "true" : "false");
    else if (type == GGUF_U64) {
        uint64_t u = kv->u64;
        if (is_array) memcpy(&u, (const uint8_t *)kv->arr_data + 8 * i, 8);
        printf("%llu", (unsigned long long)u);
    } else printf("%lld", (long long)(is_array ? gguf_arr_i64(kv, i) : kv->i64));
}

static void print_kv(const gguf_kv *kv) {
    if (kv->type == GGUF_ARRAY) {
        printf("%-40s [%s x %llu] ", kv->key, gguf_vtype_name(kv->arr_type),
               (unsigned long long)kv->arr_n);
        for (uint64_t i = 0; i < kv->arr_n && i < MAX_ITEMS; i++) {
            if (i) printf(", ");
            if (kv->arr_type == GGUF_STRING) print_str(kv->arr_str[i], kv->arr_str_len[i]);
            else print_number(kv, kv->arr_type, i, 1);
        }
        if (kv->arr_n > MAX_ITEMS) printf(", ...");
    } else {
        printf("%-40s %-6s ", kv->key, gguf_vtype_name(kv->type));
        if (kv->type == GGUF_STRING) print_str(kv->str, kv->str_len);
        else print_number(kv, kv->type, 0, 0);
    }
    putchar('\n');
}

static void print_tensor(const gguf_tensor *t) {
    char shape[96];
    int n = snprintf(shape, sizeof shape, "[");
    for (int d = 0; d < t->n_dims; d++)
        n += snprintf(shape + n, sizeof shape - n, "%s%lld", d ? ", " : "", (long long)t->ne[d]);
    snprintf(shape + n, sizeof shape - n, "]");
    const quant_type *qt = qtype(t->type);
    printf("%-40s %-8s %-24s %12llu %12zu\n", t->name, qt ? qt->name : "?", shape,
           (unsigned long long)t->offset, t->bytes);
}

int cmd_inspect(int argc, char **argv) {
    if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
        usage(stdout);
        return EXIT_OK;
    }
    if (argc != 2) {
        usage(stderr);
        return cli_error("inspect", EXIT_USAGE, "expected one FILE argument");
    }
    scarce_error err = {{0}};
    gguf_file *f = gguf_open(argv[1], &err);
    if (!f) return cli_error("inspect", EXIT_RUNTIME, "%s", err.msg);
    printf("%s: GGUF v%u, %llu keys, %llu tensors, alignment %zu, data at %zu, %zu bytes\n",
           f->path, f->version, (unsigned long long)f->n_kv,
           (unsigned long long)f->n_tensors, f->alignment, f->data_offset, f->size);
    printf("\nmetadata:\n");
    for (uint64_t i = 0; i < f->n_kv; i++) print_kv(&f->kv[i]);
    printf("\ntensors:\n%-40s %-8s %-24s %12s %12s\n", "name", "type", "shape", "offset", "bytes");
    uint64_t total = 0;
    for (uint64_t i = 0; i < f->n_tensors; i++) {
        print_tensor(&f->tensors[i]);
        total += f->tensors[i].bytes;
    }
    printf("\ntotal tensor bytes: %llu (%.2f MiB) in %llu tensors\n", (unsigned long long)total,
           (double)total / (1 << 20), (unsigned long long)f->n_tensors);
    gguf_close(f);
    return EXIT_OK;
}
