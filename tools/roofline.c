/* roofline.c - the roofline SVG: measured compute roof, membw memory roof, measured points. */
#include "roofline.h"
#include "roofline_svg.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "api_setup.h"
#include "atomic_file.h"
#include "svg.h"

/* The message into msg (512 bytes); -1. */
static int fail(char *msg, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(char *msg, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, 512, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- the picture ------------------------------------------------------------------------ */

enum { W = 960, H = 690, LEFT = 90, RIGHT = 40, TOP = 60, BOTTOM = 200 };

/* compute roofs: one colour each, told apart from the memory roof (blue) */
static const char *const roof_colour[] = {"#c05621", "#2f855a", "#805ad5",
                                          "#b7791f", "#c53030", "#4a5568"};

typedef struct {
    char type[16];
    int threads;
    double gflops;
} roof;

typedef struct {
    double x0, x1, y0, y1; /* log10 of the ranges shown */
} frame;

static double px(const frame *f, double x) {
    return LEFT + (log10(x) - f->x0) / (f->x1 - f->x0) * (W - LEFT - RIGHT);
}
static double py(const frame *f, double y) {
    return TOP + (f->y1 - log10(y)) / (f->y1 - f->y0) * (H - TOP - BOTTOM);
}

/* Whole decades around every point and the ridge points (where the roofs meet). */
static frame make_frame(const roofline_point *pts, int n, const roof *roofs, int n_roofs,
                        double bw) {
    double xl = INFINITY, xh = -INFINITY, yl = INFINITY, yh = -INFINITY;
    for (int i = 0; i < n; i++) {
        xl = fmin(xl, pts[i].intensity), xh = fmax(xh, pts[i].intensity);
        yl = fmin(yl, pts[i].gflops), yh = fmax(yh, pts[i].gflops);
    }
    for (int r = 0; r < n_roofs; r++) {
        yl = fmin(yl, roofs[r].gflops), yh = fmax(yh, roofs[r].gflops);
        if (bw > 0) xl = fmin(xl, roofs[r].gflops / bw), xh = fmax(xh, roofs[r].gflops / bw);
    }
    if (!(xl > 0)) xl = 0.1, xh = 10;
    if (!(yl > 0)) yl = 0.1, yh = 10;
    frame f = {floor(log10(xl / 2)), ceil(log10(xh * 2)), floor(log10(yl / 2)),
               ceil(log10(yh * 2))};
    return f;
}

static void grid(FILE *out, const frame *f) {
    const int pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
    for (int d = (int)f->x0; d <= (int)f->x1; d++) {
        const double x = px(f, pow(10, d));
        fprintf(out,
                "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e4e4e4\"/>\n"
                "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" text-anchor=\"middle\">%g</text>\n",
                x, x, TOP, TOP + ph, x, TOP + ph + 18, pow(10, d));
    }
    for (int d = (int)f->y0; d <= (int)f->y1; d++) {
        const double y = py(f, pow(10, d));
        fprintf(out,
                "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n"
                "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" text-anchor=\"end\">%g</text>\n",
                LEFT, LEFT + pw, y, y, LEFT - 6, y + 4, pow(10, d));
    }
    fprintf(out,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n"
            "<text x=\"%.1f\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\">arithmetic "
            "intensity (FLOP per byte of weights + KV read, log scale)</text>\n"
            "<text transform=\"translate(%d,%.1f) rotate(-90)\" font-size=\"13\" "
            "text-anchor=\"middle\">achieved GFLOP/s (log scale)</text>\n",
            LEFT, TOP, pw, ph, LEFT + pw / 2.0, TOP + ph + 40, LEFT - 58, TOP + ph / 2.0);
}

/* ---- labels that do not overlap ---- */

typedef struct {
    double x, y, w, h; /* box: x, y top-left */
} box;

enum { LINE_H = 3 };        /* height of the box a flat roof line occupies */
enum { SLANT_BOXES = 120 }; /* boxes along the memory roof (8 px each, ~7 px apart) */

static int overlaps(const box *a, const box *b) {
    return a->x < b->x + b->w && b->x < a->x + a->w && a->y < b->y + b->h && b->y < a->y + a->h;
}

/* In the plot and touching nothing placed; line_y (not NAN): a roof label, which may lie on
 * other roof lines within 3 px of its own line (roofs that coincide). */
static int fits(const box *b, const box *placed, int n, double line_y) {
    if (b->x < LEFT + 2 || b->x + b->w > W - RIGHT - 2 || b->y < TOP + 2 ||
        b->y + b->h > H - BOTTOM - 2)
        return 0;
    for (int i = 0; i < n; i++) {
        const int near_line = placed[i].h == LINE_H && fabs(placed[i].y + 1.5 - line_y) < 3;
        if (!near_line && overlaps(b, &placed[i])) return 0;
    }
    return 1;
}

/* The first of the candidate boxes (positions next to the anchor, best first) that is in
 * the plot and touches nothing placed; when none is free, the first moved down (then up)
 * in 13 px steps until it is. */
static box place(const box *cand, int n_cand, const box *placed, int n, double line_y) {
    for (int c = 0; c < n_cand; c++)
        if (fits(&cand[c], placed, n, line_y)) return cand[c];
    box b = cand[0];
    for (int step = 1; step < 80; step++) {
        b.y = cand[0].y + (step % 2 ? 13.0 : -13.0) * ((step + 1) / 2);
        if (fits(&b, placed, n, line_y)) return b;
    }
    return cand[0];
}

static double text_width(const char *s) {
    return 6.4 * (double)strlen(s);
} /* 11 px sans */

/* The label at the first free candidate position; a thin leader line from the anchor
 * when the label ended up away from it. ax NAN: the anchor is a horizontal line at ay,
 * anywhere under the label. */
static void label(FILE *out, const box *cand, int n_cand, box *placed, int *n_placed, double ax,
                  double ay, const char *text, const char *colour) {
    const box b = place(cand, n_cand, placed, *n_placed, isnan(ax) ? ay : NAN);
    placed[(*n_placed)++] = b;
    if (isnan(ax)) ax = b.x + b.w / 2;
    const double nx = fmin(fmax(ax, b.x), b.x + b.w), ny = fmin(fmax(ay, b.y), b.y + b.h);
    if (hypot(nx - ax, ny - ay) > 14)
        fprintf(out,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\" "
                "stroke-width=\"0.7\"/>\n",
                ax, ay, nx, ny);
    fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" fill=\"%s\">", b.x, b.y + b.h - 2,
            colour);
    svg_escape(out, text);
    fputs("</text>\n", out);
}

/* The roofs' lines; each horizontal one becomes an obstacle for the labels. */
static void roof_lines(FILE *out, const frame *f, const roof *roofs, int n_roofs, double bw,
                       box *placed, int *n_placed) {
    const double xr = pow(10, f->x1), xl = pow(10, f->x0);
    if (bw > 0) { /* memory roof: y = bw x intensity, clipped to the plot */
        const double x0 = px(f, xl), y0 = py(f, bw * xl), x1 = px(f, xr), y1 = py(f, bw * xr);
        fprintf(out,
                "<line class=\"memory-roof\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#2b6cb0\" stroke-width=\"2\" clip-path=\"url(#plot)\"/>\n",
                x0, y0, x1, y1);
        /* the slanted line as a chain of small boxes, so labels avoid it too */
        for (int i = 0; i < SLANT_BOXES; i++) {
            const double t = (i + 0.5) / SLANT_BOXES, y = y0 + t * (y1 - y0);
            if (y > TOP && y < H - BOTTOM)
                placed[(*n_placed)++] = (box){x0 + t * (x1 - x0) - 4, y - 4, 8, 8};
        }
    }
    for (int r = 0; r < n_roofs; r++) {
        const double x0 = px(f, fmax(bw > 0 ? roofs[r].gflops / bw : xl, xl)),
                     y = py(f, roofs[r].gflops);
        fprintf(out,
                "<line class=\"compute-roof\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"%s\" stroke-width=\"2\"/>\n",
                x0, y, px(f, xr), y, roof_colour[r % 6]);
        placed[(*n_placed)++] = (box){x0, y - 1.5, px(f, xr) - x0, LINE_H};
    }
}

static void roof_labels(FILE *out, const frame *f, const roof *roofs, int n_roofs, double bw,
                        box *placed, int *n_placed) {
    char text[96];
    if (bw > 0) { /* near the left end of the memory roof, where it is inside the plot */
        snprintf(text, sizeof text, "memory roof %.1f GB/s", bw);
        double x = pow(10, f->x0) * 2;
        if (bw * x < pow(10, f->y0)) x = pow(10, f->y0) * 2 / bw;
        const double ax = px(f, x), ay = py(f, bw * x), w = text_width(text);
        const box cand[] = {{ax + 10, ay - 4, w, 13}, {ax - w - 10, ay - 18, w, 13}};
        label(out, cand, 2, placed, n_placed, ax, ay, text, "#2b6cb0");
    }
    for (int r = 0; r < n_roofs; r++) { /* a tag on its line; the figures go in the legend */
        snprintf(text, sizeof text, "%s", roofs[r].type);
        const double w = text_width(text), y = py(f, roofs[r].gflops);
        const double x_min = px(f, fmax(bw > 0 ? roofs[r].gflops / bw : 0, pow(10, f->x0)));
        /* just above or below the line, at x positions from the right end leftwards */
        box cand[64];
        int n = 0;
        for (int k = 0; k < 2; k++)
            for (double x = W - RIGHT - w - 6; x >= x_min && n < 64; x -= 30)
                cand[n++] = (box){x, y + (k ? 3 : -15), w, 13};
        if (!n) cand[n++] = (box){W - RIGHT - w - 6, y - 15, w, 13};
        label(out, cand, n, placed, n_placed, NAN, y, text, roof_colour[r % 6]);
    }
}

static void point_circles(FILE *out, const frame *f, const roofline_point *pts, int n, box *placed,
                          int *n_placed) {
    for (int i = 0; i < n; i++) {
        const int pp = !strncmp(pts[i].test, "pp", 2);
        const double x = px(f, pts[i].intensity), y = py(f, pts[i].gflops);
        fprintf(out,
                "<circle class=\"point\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"%s\" "
                "stroke=\"white\"/>\n",
                x, y, pp ? "#dd6b20" : "#3182ce");
        placed[(*n_placed)++] = (box){x - 5, y - 5, 10, 10};
    }
}

static void point_labels(FILE *out, const frame *f, const roofline_point *pts, int n, box *placed,
                         int *n_placed) {
    for (int i = 0; i < n; i++) {
        char text[64];
        snprintf(text, sizeof text, "%s t%d %s", pts[i].type, pts[i].threads, pts[i].test);
        const double x = px(f, pts[i].intensity), y = py(f, pts[i].gflops);
        const double w = text_width(text);
        const box cand[] = {{x + 8, y - 6, w, 13},      {x - 8 - w, y - 6, w, 13},
                            {x + 2, y - 21, w, 13},     {x + 2, y + 8, w, 13},
                            {x - w - 2, y - 21, w, 13}, {x - w - 2, y + 8, w, 13}};
        label(out, cand, 6, placed, n_placed, x, y, text, "#222");
    }
}

static void notes(FILE *out, double bw, const roof *roofs, int n_roofs) {
    scarce_machine mach;
    scarce_machine_info(&mach);
    const int y = H - BOTTOM + 68;
    fprintf(out,
            "<g font-size=\"12\" fill=\"#333\">\n<text x=\"%d\" y=\"%d\">"
            "<tspan fill=\"#3182ce\">&#9679;</tspan> tg = decode, one token per pass   "
            "<tspan fill=\"#dd6b20\">&#9679;</tspan> pp = prefill, the prompt as one batch"
            "   (label: type, threads, test)</text>\n<text x=\"%d\" y=\"%d\">",
            LEFT, y, LEFT, y + 18);
    if (bw > 0)
        fprintf(out,
                "memory roof: %.2f GB/s streaming read, measured by scarce membw (cached "
                "for this CPU)",
                bw);
    else
        fputs("no memory roof: run scarce membw once to measure this machine's read bandwidth",
              out);
    fprintf(out,
            "</text>\n<text x=\"%d\" y=\"%d\">compute roof%s, measured while drawing: the faster "
            "of the type's dot kernel on rows in L1</text>\n<text x=\"%d\" y=\"%d\">and a "
            "32-token matmul from L2, with the most threads of the type's points.   machine: ",
            LEFT, y + 36, n_roofs > 1 ? "s" : "", LEFT + 12, y + 54);
    svg_escape(out, mach.cpu_name);
    fputs("</text>\n", out);
    for (int r = 0; r < n_roofs; r++) /* the legend of the compute roofs, 3 per line */
        fprintf(out,
                "<text x=\"%d\" y=\"%d\"><tspan fill=\"%s\" font-weight=\"bold\">&#8212;</tspan> "
                "%s kernels, %d thread%s: %.1f GFLOP/s</text>\n",
                LEFT + (r % 3) * 270, y + 76 + (r / 3) * 18, roof_colour[r % 6], roofs[r].type,
                roofs[r].threads, roofs[r].threads > 1 ? "s" : "", roofs[r].gflops);
    fputs("</g>\n", out);
}

/* The compute roof of a type at `threads` threads, in the process's kernel configuration
 * (scarce_kernel_peak_measure); 0 or -1 with msg (512 bytes) set. */
static int compute_roof(roof *r, char *msg) {
    const scarce_model_params mp = api_setup_model_params(r->threads);
    scarce_kernel_peak peak = {.size = sizeof peak};
    if (scarce_kernel_peak_measure(r->type, &mp, &peak, msg, 512)) return -1;
    r->gflops = peak.gflops;
    return 0;
}

int roofline_write(const char *path, const roofline_point *pts, int n, char *msg) {
    roof *roofs = calloc((size_t)n + 1, sizeof *roofs);
    /* the slanted roof's boxes, the flat roofs, circles, labels */
    box *placed = calloc(SLANT_BOXES + 4 * (size_t)n + 4, sizeof *placed);
    if (!roofs || !placed) {
        free(roofs), free(placed);
        return fail(msg, "roofline: out of memory");
    }
    int n_roofs = 0, n_placed = 0, rc = -1;
    /* one compute roof per type, at the most threads any of its points used: the most
     * this machine multiplies that type (more roofs than types crowd the picture) */
    for (int i = 0; i < n; i++) {
        int r = 0;
        while (r < n_roofs && strcmp(roofs[r].type, pts[i].type)) r++;
        if (r == n_roofs) snprintf(roofs[n_roofs++].type, sizeof roofs->type, "%s", pts[i].type);
        if (pts[i].threads > roofs[r].threads) roofs[r].threads = pts[i].threads;
    }
    for (int r = 0; r < n_roofs; r++)
        if (compute_roof(&roofs[r], msg)) goto done;
    double bw = 0;
    if (scarce_membw_cached_peak(&bw)) bw = 0;
    const frame f = make_frame(pts, n, roofs, n_roofs, bw);
    atomic_file af;
    if (atomic_open(&af, path, msg)) goto done;
    FILE *out = af.fp;
    fprintf(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" "
        "version=\"1.1\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
        "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
        "<clipPath id=\"plot\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/></clipPath>\n"
        "<text x=\"%d\" y=\"30\" font-size=\"16\" font-weight=\"bold\" text-anchor=\"middle\">"
        "scarce roofline: where each run sits against this machine's limits</text>\n",
        W, H, W, H, LEFT, TOP, W - LEFT - RIGHT, H - TOP - BOTTOM, W / 2);
    grid(out, &f);
    /* lines and points first: every label then avoids them and the labels before it */
    roof_lines(out, &f, roofs, n_roofs, bw, placed, &n_placed);
    point_circles(out, &f, pts, n, placed, &n_placed);
    roof_labels(out, &f, roofs, n_roofs, bw, placed, &n_placed);
    point_labels(out, &f, pts, n, placed, &n_placed);
    notes(out, bw, roofs, n_roofs);
    fputs("</svg>\n", out);
    rc = atomic_commit(&af, msg);
done:
    free(roofs), free(placed);
    return rc;
}

/* ---- the points of bench and run ---------------------------------------------------------- */

static roofline_point point_of(const char *type, int threads, const char *test, double flops,
                               double bytes, double tok_s) {
    roofline_point p = {.threads = threads,
                        .intensity = bytes > 0 ? flops / bytes : 0,
                        .gflops = flops * tok_s / 1e9};
    snprintf(p.type, sizeof p.type, "%s", type), snprintf(p.test, sizeof p.test, "%s", test);
    return p;
}

int bench_roofline_svg(const char *path, const bench_result *rows, int n, char *msg) {
    roofline_point *pts = calloc((size_t)n + 1, sizeof *pts);
    if (!pts) return fail(msg, "roofline: out of memory");
    int n_pts = 0;
    for (int i = 0; i < n; i++) {
        const bench_result *r = &rows[i];
        if (!(r->tok_s > 0) || !(r->flops_per_token > 0)) continue; /* no place on log axes */
        pts[n_pts++] = point_of(r->type, r->threads, r->test, r->flops_per_token,
                                r->weight_bytes_per_token + r->kv_bytes_per_token, r->tok_s);
    }
    const int rc = n_pts ? roofline_write(path, pts, n_pts, msg)
                         : fail(msg, "%s: nothing was timed to plot", path);
    free(pts);
    return rc;
}

/* ---- scarce run --svg (tools/roofline_svg.h) ---- */

int run_roofline_svg(const char *path, const char *type, int threads, const scarce_stats *st,
                     char *msg) {
    roofline_point pts[2];
    int n = 0;
    const uint64_t tokens[2] = {st->prompt_tokens, st->decode_tokens};
    const double tok_s[2] = {st->prompt_tok_s, st->decode_tok_s};
    const double flops[2] = {st->prompt_flops_per_token, st->decode_flops_per_token};
    const double bytes[2] = {st->prompt_weight_bytes_per_token + st->prompt_kv_bytes_per_token,
                             st->decode_weight_bytes_per_token + st->decode_kv_bytes_per_token};
    for (int k = 0; k < 2; k++) {
        if (!tokens[k] || !(tok_s[k] > 0) || !(flops[k] > 0)) continue;
        roofline_point *p = &pts[n++];
        *p = (roofline_point){.threads = threads,
                              .intensity = bytes[k] > 0 ? flops[k] / bytes[k] : 0,
                              .gflops = flops[k] * tok_s[k] / 1e9};
        snprintf(p->type, sizeof p->type, "%s", type);
        snprintf(p->test, sizeof p->test, "%s%llu", k ? "tg" : "pp", (unsigned long long)tokens[k]);
    }
    if (!n) return fail(msg, "%s: nothing was timed to plot", path);
    return roofline_write(path, pts, n, msg);
}
