/* cmd_inspect.c - scarce inspect FILE: a GGUF file's metadata and tensor table (like
 * gguf-dump), to see what a model holds before running it. */
#include <stdio.h>
#include <string.h>

#include "../include/scarce.h"
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

static void print_number(int type, const scarce_gguf_value *v) {
    if (type == SCARCE_GGUF_F32 || type == SCARCE_GGUF_F64) printf("%.9g", v->f);
    else if (type == SCARCE_GGUF_BOOL) printf("%s", v->i ? "true" : "false");
    else if (type == SCARCE_GGUF_U64) printf("%llu", (unsigned long long)v->u);
    else printf("%lld", (long long)v->i);
}

static void print_value(const scarce_gguf *g, uint64_t i, uint64_t j, int type) {
    scarce_gguf_value v;
    scarce_gguf_get_value(g, i, j, &v);
    if (type == SCARCE_GGUF_STRING) print_str(v.str, v.len);
    else print_number(type, &v);
}

static void print_kv(const scarce_gguf *g, uint64_t i) {
    scarce_gguf_kv kv;
    scarce_gguf_get_kv(g, i, &kv);
    if (kv.type == SCARCE_GGUF_ARRAY) {
        printf("%-40s [%s x %llu] ", kv.key, scarce_gguf_type_name(kv.elem_type),
               (unsigned long long)kv.n);
        for (uint64_t j = 0; j < kv.n && j < MAX_ITEMS; j++) {
            if (j) printf(", ");
            print_value(g, i, j, kv.elem_type);
        }
        if (kv.n > MAX_ITEMS) printf(", ...");
    } else {
        printf("%-40s %-6s ", kv.key, scarce_gguf_type_name(kv.type));
        print_value(g, i, 0, kv.type);
    }
    putchar('\n');
}

static uint64_t print_tensor(const scarce_gguf *g, uint64_t i) {
    scarce_gguf_tensor t;
    scarce_gguf_get_tensor(g, i, &t);
    char shape[96];
    int n = snprintf(shape, sizeof shape, "[");
    for (int d = 0; d < t.n_dims; d++)
        n += snprintf(shape + n, sizeof shape - n, "%s%lld", d ? ", " : "", (long long)t.ne[d]);
    snprintf(shape + n, sizeof shape - n, "]");
    printf("%-40s %-8s %-24s %12llu %12llu\n", t.name, t.type, shape,
           (unsigned long long)t.offset, (unsigned long long)t.bytes);
    return t.bytes;
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
    char msg[512];
    scarce_gguf *g;
    if (scarce_gguf_open(argv[1], &g, msg, sizeof msg))
        return cli_error("inspect", EXIT_RUNTIME, "%s", msg);
    scarce_gguf_info f;
    scarce_gguf_get_info(g, &f);
    printf("%s: GGUF v%u, %llu keys, %llu tensors, alignment %llu, data at %llu, %llu bytes\n",
           argv[1], f.version, (unsigned long long)f.n_kv, (unsigned long long)f.n_tensors,
           (unsigned long long)f.alignment, (unsigned long long)f.data_offset,
           (unsigned long long)f.file_bytes);
    printf("\nmetadata:\n");
    for (uint64_t i = 0; i < f.n_kv; i++) print_kv(g, i);
    printf("\ntensors:\n%-40s %-8s %-24s %12s %12s\n", "name", "type", "shape", "offset", "bytes");
    uint64_t total = 0;
    for (uint64_t i = 0; i < f.n_tensors; i++) total += print_tensor(g, i);
    printf("\ntotal tensor bytes: %llu (%.2f MiB) in %llu tensors\n", (unsigned long long)total,
           (double)total / (1 << 20), (unsigned long long)f.n_tensors);
    scarce_gguf_close(g);
    return EXIT_OK;
}
