/* summary.c - summary pieces on include/scarce.h's types. */
#include "summary.h"

#include <math.h>
#include <string.h>

void json_str(FILE *out, const char *s) {
    fputc('"', out);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

void json_num(FILE *out, double v) {
    if (isfinite(v))
        fprintf(out, "%.6g", v);
    else
        fputs("null", out);
}

void summary_params_json(FILE *out, const scarce_model_params *p) {
    fputs("{\"isa\": ", out), json_str(out, p->isa);
    fprintf(out, ", \"repack\": %s", p->repack ? "true" : "false");
    fputs(", \"gemm\": ", out), json_str(out, p->gemm ? p->gemm : "auto");
    fprintf(out, ", \"adapt_threads\": %s", p->fixed_threads ? "false" : "true");
    fprintf(out, ", \"steal\": %s, \"threads\": %d}", p->static_rows ? "false" : "true",
            p->n_threads);
}

void summary_kernels_run_text(const scarce_kernels_run *kr, char *buf, size_t cap) {
    size_t len = (size_t)snprintf(buf, cap, "%s set; matmul", kr->set);
    for (int i = 0; i < kr->n_formats && len < cap; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "%s %s %s", i ? "," : "", kr->matmul[i].type,
                                kr->matmul[i].isa);
        if (len < cap && strcmp(kr->matmul[i].batch_isa, kr->matmul[i].isa))
            len += (size_t)snprintf(buf + len, cap - len, " (batches %s)", kr->matmul[i].batch_isa);
    }
    if (len < cap) snprintf(buf + len, cap - len, "; attention %s", kr->attention);
}

void summary_kernels_run_json(FILE *out, const scarce_kernels_run *kr) {
    fputs("{\"set\": ", out), json_str(out, kr->set);
    fputs(", \"matmul\": [", out);
    for (int i = 0; i < kr->n_formats; i++) {
        fputs(i ? ", {\"type\": " : "{\"type\": ", out), json_str(out, kr->matmul[i].type);
        fputs(", \"isa\": ", out), json_str(out, kr->matmul[i].isa);
        fputs(", \"batch_isa\": ", out), json_str(out, kr->matmul[i].batch_isa);
        fprintf(out, ", \"bytes\": %llu}", (unsigned long long)kr->matmul[i].bytes);
    }
    fputs("], \"attention\": ", out), json_str(out, kr->attention);
    fputs("}", out);
}

void summary_kernels_line(FILE *out, const scarce_kernels_run *kr, const scarce_machine *mach) {
    char text[384];
    summary_kernels_run_text(kr, text, sizeof text);
    fprintf(out, "kernels: %s; CPU %s, %d physical cores\n", text, mach->cpu_name,
            mach->physical_cores);
}
