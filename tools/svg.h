/* svg.h - a small SVG plot writer: side-by-side scatter panels with labelled points, a
 * log or linear y axis, and the Pareto front drawn through the points it holds. */
#ifndef SCARCE_SVG_H
#define SCARCE_SVG_H

#include <stdio.h>

typedef struct {
    double x, y;
    const char *label;
} svg_point;

typedef struct {
    const char *title, *x_label, *y_label; /* labels carry their units */
    int log_y;                             /* log10 y axis (values must be > 0) */
    int higher_is_better;                  /* y: for the Pareto front; x: lower is better */
    const svg_point *points;
    int n;
} svg_panel;

/* Writes n_panels panels side by side to path (atomically); 0, or -1 with msg (512 bytes). */
int svg_write(const char *path, const char *title, const svg_panel *panels, int n_panels,
              char *msg);

/* 1 when point i is on the Pareto front: no other point has x <= and y at least as good,
 * one of the two strictly. */
int svg_on_front(const svg_panel *p, int i);

/* Writes s with the XML special characters escaped (text and attribute values). */
void svg_escape(FILE *f, const char *s);

#endif
