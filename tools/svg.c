/* svg.c - scatter panels as SVG 1.1 (well-formed XML: text is escaped), written atomically. */
#include "svg.h"

#include "atomic_file.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { PANEL_W = 440, PANEL_H = 400, MARGIN_L = 70, MARGIN_R = 20, MARGIN_T = 50, MARGIN_B = 60 };

void svg_escape(FILE *f, const char *s) {
    for (; s && *s; s++) {
        if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '&') fputs("&amp;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

static double y_value(const svg_panel *p, double y) {
    return p->log_y ? log10(y > 1e-12 ? y : 1e-12) : y;
}

int svg_on_front(const svg_panel *p, int i) {
    const svg_point *a = &p->points[i];
    for (int j = 0; j < p->n; j++) {
        const svg_point *b = &p->points[j];
        const int y_ok = p->higher_is_better ? b->y >= a->y : b->y <= a->y;
        const int y_strict = p->higher_is_better ? b->y > a->y : b->y < a->y;
        if (j != i && b->x <= a->x && y_ok && (b->x < a->x || y_strict)) return 0;
    }
    return 1;
}

typedef struct {
    double x0, x1, y0, y1; /* data range (y in axis units: log10 when log_y) */
    int left, top, w, h;   /* plot area in pixels */
} frame;

static double px(const frame *f, double x) { return f->left + (x - f->x0) / (f->x1 - f->x0) * f->w; }
static double py(const frame *f, double y) { return f->top + f->h - (y - f->y0) / (f->y1 - f->y0) * f->h; }

/* A round tick step (1, 2 or 5 x 10^k) giving about 5 ticks over span. */
static double nice_step(double span) {
    const double raw = span / 5, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r < 1.5 ? 1 : r < 3.5 ? 2 : r < 7.5 ? 5 : 10) * mag;
}

/* Widens [*lo, *hi] to whole multiples of its nice step. */
static double round_range(double *lo, double *hi) {
    const double step = nice_step(*hi - *lo);
    *lo = floor(*lo / step) * step, *hi = ceil(*hi / step) * step;
    return step;
}

static frame panel_frame(const svg_panel *p, int index) {
    frame f = {.x0 = INFINITY, .x1 = -INFINITY, .y0 = INFINITY, .y1 = -INFINITY,
               .left = index * PANEL_W + MARGIN_L, .top = MARGIN_T,
               .w = PANEL_W - MARGIN_L - MARGIN_R, .h = PANEL_H - MARGIN_T - MARGIN_B};
    for (int i = 0; i < p->n; i++) {
        const double y = y_value(p, p->points[i].y);
        f.x0 = fmin(f.x0, p->points[i].x), f.x1 = fmax(f.x1, p->points[i].x);
        f.y0 = fmin(f.y0, y), f.y1 = fmax(f.y1, y);
    }
    if (!(f.x1 > f.x0)) f.x0 -= 1, f.x1 += 1;
    if (!(f.y1 > f.y0)) f.y0 -= 1, f.y1 += 1;
    const double dx = (f.x1 - f.x0) * 0.08, dy = (f.y1 - f.y0) * 0.1;
    f.x0 -= dx, f.x1 += dx;
    round_range(&f.x0, &f.x1);
    if (p->log_y) {
        f.y0 = floor(f.y0 - dy), f.y1 = ceil(f.y1 + dy);
    } else { /* speeds and sizes: the axis starts at 0 */
        f.y0 = f.y0 >= 0 ? 0 : f.y0 - dy, f.y1 += dy;
        round_range(&f.y0, &f.y1);
    }
    return f;
}

static void axes(FILE *out, const svg_panel *p, const frame *f) {
    fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
            f->left, f->top, f->w, f->h);
    const double x_step = nice_step(f->x1 - f->x0);
    for (double x = f->x0; x <= f->x1 + x_step / 2; x += x_step) /* x ticks */
        fprintf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%g</text>\n",
                px(f, x), f->top + f->h + 16, x);
    const double y_step = p->log_y ? 1 : nice_step(f->y1 - f->y0);
    for (double y = f->y0; y <= f->y1 + y_step / 2; y += y_step) {
        fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n",
                f->left, f->left + f->w, py(f, y), py(f, y));
        fprintf(out, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">", f->left - 4,
                py(f, y) + 4);
        if (p->log_y) fprintf(out, "1e%d</text>\n", (int)lround(y));
        else fprintf(out, "%g</text>\n", fabs(y) < y_step / 2 ? 0.0 : y);
    }
    fprintf(out, "<text x=\"%.1f\" y=\"%d\" font-size=\"13\" text-anchor=\"middle\">", f->left + f->w / 2.0,
            f->top + f->h + 40);
    svg_escape(out, p->x_label);
    fprintf(out, "</text>\n<text transform=\"translate(%d,%.1f) rotate(-90)\" font-size=\"13\" "
                 "text-anchor=\"middle\">", f->left - 50, f->top + f->h / 2.0);
    svg_escape(out, p->y_label);
    fprintf(out, "</text>\n<text x=\"%.1f\" y=\"%d\" font-size=\"14\" font-weight=\"bold\" "
                 "text-anchor=\"middle\">", f->left + f->w / 2.0, f->top - 12);
    svg_escape(out, p->title);
    fputs("</text>\n", out);
}

static int cmp_x(const void *a, const void *b) {
    double x = ((const svg_point *)a)->x, y = ((const svg_point *)b)->x;
    return (x > y) - (x < y);
}

static void front(FILE *out, const svg_panel *p, const frame *f) {
    svg_point *pts = malloc((size_t)p->n * sizeof *pts);
    if (!pts) return;
    int n = 0;
    for (int i = 0; i < p->n; i++)
        if (svg_on_front(p, i)) pts[n++] = p->points[i];
    qsort(pts, (size_t)n, sizeof *pts, cmp_x);
    fputs("<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\" points=\"", out);
    for (int i = 0; i < n; i++) fprintf(out, "%s%.1f,%.1f", i ? " " : "", px(f, pts[i].x), py(f, y_value(p, pts[i].y)));
    fputs("\"/>\n", out);
    free(pts);
}

int svg_write(const char *path, const char *title, const svg_panel *panels, int n_panels,
              char *msg) {
    atomic_file af;
    if (atomic_open(&af, path, msg)) return -1;
    FILE *out = af.fp;
    const int width = n_panels * PANEL_W, height = PANEL_H + 30;
    fprintf(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" height=\"%d\" "
                 "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\">\n"
                 "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                 "<text x=\"%d\" y=\"20\" font-size=\"15\" text-anchor=\"middle\">",
            width, height, width, height, width / 2);
    svg_escape(out, title);
    fputs("</text>\n", out);
    for (int k = 0; k < n_panels; k++) {
        const svg_panel *p = &panels[k];
        const frame f = panel_frame(p, k);
        axes(out, p, &f);
        front(out, p, &f);
        for (int i = 0; i < p->n; i++) {
            const svg_point *pt = &p->points[i];
            int first = 1; /* points that coincide (same file after fallbacks) share one label */
            for (int j = 0; j < i; j++) first &= !(p->points[j].x == pt->x && p->points[j].y == pt->y);
            if (!first) continue;
            const double x = px(&f, pt->x), y = py(&f, y_value(p, pt->y));
            fprintf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", x, y,
                    svg_on_front(p, i) ? "#d62728" : "#1f77b4");
            fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">", x + 6, y - 5);
            for (int j = i, n = 0; j < p->n; j++)
                if (p->points[j].x == pt->x && p->points[j].y == pt->y) {
                    if (n++) fputs(" = ", out);
                    svg_escape(out, p->points[j].label);
                }
            fputs("</text>\n", out);
        }
    }
    fputs("</svg>\n", out);
    return atomic_commit(&af, msg);
}
