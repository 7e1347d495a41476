#!/usr/bin/env python3
"""side_by_side.py - scarce bench and llama-bench on the same files, one after the other, and
one markdown table of their tok/s, the ratio, and the share of the read peak each reaches.

    tools/side_by_side.py [--llama-bin DIR] [--isa amx,avx512,avx2] [-p 128] [-n 64] [-r 3]
                          [-t 1,2] FILE...

DIR holds llama.cpp's llama-bench (built by the user, outside this repository); without it, or
when it is missing, only scarce's columns are filled. Each ISA the CPU has gets its own scarce
column (SCARCE_ISA=...); an ISA it lacks is left out with a note. The read peak is
`scarce membw`'s, measured in the same run (its 1- and 2-thread figures, the largest thread
count the run uses); a model whose weights fit in the last-level cache gets no share. Quote ratios, not absolute figures: machines are shared and noisy.
"""
import argparse
import csv
import io
import os
import subprocess
import sys

SCARCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scarce")


def run(cmd, env=None):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"side_by_side: {' '.join(cmd)} failed: {out.stderr.strip().splitlines()[-1:]}")
    return out.stdout


def membw_peaks(threads):
    """Read GB/s per thread count: the rows `| t | read | copy |` of `scarce membw`."""
    peaks = {}
    for line in run([SCARCE, "membw", "-t", str(max(threads))]).splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            peaks[int(cells[0])] = float(cells[1])
    return peaks


def cpu_isas():
    flags = set()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    have = ["scalar"]
    if "avx2" in flags and "fma" in flags:
        have.append("avx2")
    if {"avx512f", "avx512bw", "avx512vl"} <= flags:
        have.append("avx512")
        if {"amx_tile", "amx_int8"} <= flags:
            have.append("amx")
    return have


def scarce_rows(files, isa, a):
    env = dict(os.environ, SCARCE_ISA=isa)
    text = run([SCARCE, "bench", "-m", ",".join(files), "-p", str(a.p), "-n", str(a.n),
                "-r", str(a.r), "-t", a.t, "-o", "csv"], env)
    rows = {}
    for r in csv.DictReader(io.StringIO(text)):
        rows[(r["model"], int(r["threads"]), r["test"])] = r
    return rows


def llama_rows(files, a):
    exe = os.path.join(a.llama_bin, "llama-bench")
    env = dict(os.environ, LD_LIBRARY_PATH=a.llama_bin)
    rows = {}
    for f in files:
        text = run([exe, "-m", f, "-p", str(a.p), "-n", str(a.n), "-r", str(a.r), "-t", a.t,
                    "-o", "csv"], env)
        for r in csv.DictReader(io.StringIO(text)):
            test = f"pp{r['n_prompt']}" if int(r["n_gen"]) == 0 else f"tg{r['n_gen']}"
            rows[(f, int(r["n_threads"]), test)] = float(r["avg_ts"])
    return rows


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("files", nargs="+")
    ap.add_argument("--llama-bin", default="")
    ap.add_argument("--isa", default="avx512,avx2")
    ap.add_argument("-p", type=int, default=128)
    ap.add_argument("-n", type=int, default=64)
    ap.add_argument("-r", type=int, default=3)
    ap.add_argument("-t", default="1,2")
    a = ap.parse_args()
    threads = [int(x) for x in a.t.split(",")]
    have = cpu_isas()
    isas = [i for i in a.isa.split(",") if i in have]
    for i in a.isa.split(","):
        if i not in have:
            print(f"side_by_side: this CPU lacks {i}; its column is left out", file=sys.stderr)
    peaks = membw_peaks(threads)
    ours = {isa: scarce_rows(a.files, isa, a) for isa in isas}
    theirs = {}
    if a.llama_bin and os.access(os.path.join(a.llama_bin, "llama-bench"), os.X_OK):
        theirs = llama_rows(a.files, a)
    else:
        print("side_by_side: no llama-bench given (--llama-bin DIR); scarce only", file=sys.stderr)

    print("read peak (scarce membw): " +
          ", ".join(f"{peaks[t]:.1f} GB/s at {t} thr" for t in threads))
    head = ["file", "test", "thr"] + [f"scarce {i}" for i in isas]
    if theirs:
        head += ["llama.cpp"] + [f"{i}/llama" for i in isas]
    head += [f"{i} % peak" for i in isas]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    first = ours[isas[0]]
    for key in first:
        f, t, test = key
        cells = [os.path.basename(f), test, str(t)]
        ts = [float(ours[i][key]["tok_s"]) if key in ours[i] else None for i in isas]
        cells += [f"{x:.1f}" if x else "-" for x in ts]
        if theirs:
            lt = theirs.get(key)
            cells.append(f"{lt:.1f}" if lt else "-")
            cells += [f"{x / lt:.2f}" if x and lt else "-" for x in ts]
        for i in isas:
            r = ours[i].get(key)
            if not r or not test.startswith("tg"):
                cells.append("")
            elif not r["pct_of_peak"]:  # bench leaves it empty when the weights fit in the LLC
                cells.append("in LLC")
            else:
                cells.append(f"{100 * float(r['gb_s']) / peaks[t]:.0f}%")
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
