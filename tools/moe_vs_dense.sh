#!/usr/bin/env bash
# moe_vs_dense.sh SCARCE OUT_DIR [LLAMA_BIN_DIR] - what mixture-of-experts buys at decode.
#
# Writes three synthetic q4_0 models into OUT_DIR with `SCARCE mkmodel` (kept, so a second
# run only measures; about 8 GB) and prints one markdown table of their decode speed:
#   moe          OLMoE-1B-7B's shape: n_embd 2048, 16 layers, 64 experts of n_ff 1024, top-8
#   dense-total  the same layers with one dense FFN of n_ff 64 x 1024: the same total bytes
#   dense-active the same layers with one dense FFN of n_ff 8 x 1024: the same bytes read per
#                token (the MoE's active bytes, less its router)
# with `SCARCE bench -p 0 -n 32 -r 3 -t T` for T = 1 and 2 (mean of the repetitions; GB/s
# and % of the peak from scarce membw) and, when LLAMA_BIN_DIR holds llama-bench, llama.cpp's
# decode on the same files at 1 and 2 threads. Needs the llama SentencePiece vocabulary of
# the shared data (SCARCE_SHARED, default ../shared beside the checkout); without it, it says
# so and exits 0. Each benchmark runs under `flock $BENCH_LOCK` (default
# /work/cache/bench.lock) when that file exists, and under `timeout $BENCH_TIMEOUT` (default
# 300 s; a row says "timed out" past it). MOE_VS_DENSE_LAYERS (default 16) makes all three
# shallower, for a quick check. The load average before and after goes to stderr.
set -uo pipefail
if [ $# -lt 2 ]; then
    echo "usage: moe_vs_dense.sh SCARCE OUT_DIR [LLAMA_BIN_DIR]" >&2
    exit 2
fi
scarce=$1 out=$2 llama=${3:-}
here=$(cd "$(dirname "$0")/.." && pwd)
shared=${SCARCE_SHARED:-$here/../shared}
vocab=$shared/models/vocab/ggml-vocab-llama-spm.gguf
if [ ! -x "$scarce" ]; then
    echo "moe_vs_dense.sh: $scarce is not an executable scarce binary" >&2
    exit 2
fi
if [ ! -f "$vocab" ]; then
    echo "moe_vs_dense.sh: no vocabulary at $vocab (set SCARCE_SHARED); skipping" >&2
    exit 0
fi
if [ -n "$llama" ] && [ ! -x "$llama/llama-bench" ]; then
    echo "moe_vs_dense.sh: no llama-bench in $llama; llama.cpp column skipped" >&2
    llama=
fi
mkdir -p "$out" || exit 1
lock=() lock_file=${BENCH_LOCK-/work/cache/bench.lock}
[ -n "$lock_file" ] && [ -f "$lock_file" ] && command -v flock > /dev/null && lock=(flock "$lock_file")
lock+=(timeout "${BENCH_TIMEOUT:-300}")
layers=${MOE_VS_DENSE_LAYERS:-16}
load() { echo "moe_vs_dense.sh: load average $1: $(cut -d' ' -f1-3 /proc/loadavg)" >&2; }

common=(--vocab "$vocab" --n-embd 2048 --n-layer "$layers" --n-head 16 --n-head-kv 16 --type q4_0
        --seed 1)
make_model() { # name, mkmodel flags
    local f=$out/$1-$layers.gguf
    [ -f "$f" ] && return 0
    echo "moe_vs_dense.sh: writing $f" >&2
    "$scarce" mkmodel -o "$f" "${common[@]}" "${@:2}" > /dev/null || exit 1
}
make_model moe --arch olmoe --n-ff 1024 --n-expert 64 --n-expert-used 8
make_model dense-total --arch llama --n-ff 65536
make_model dense-active --arch llama --n-ff 8192

# column of a csv header line by name
col() { awk -F, -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) print i }'; }

# scarce's csv for file $1 at 1 and 2 threads (one header), empty when a run failed
scarce_csv() {
    local one two
    one=$("${lock[@]}" "$scarce" bench -m "$1" -p 0 -n 32 -r 3 -t 1 -o csv 2> /dev/null) || return
    two=$("${lock[@]}" "$scarce" bench -m "$1" -p 0 -n 32 -r 3 -t 2 -o csv 2> /dev/null) || return
    printf '%s\n%s\n' "$one" "$(tail -n +2 <<< "$two")"
}

# llama-bench's mean tok/s of file $1 at $2 threads, or -
llama_ts() {
    local lcsv c_avg
    lcsv=$(LD_LIBRARY_PATH=$llama "${lock[@]}" "$llama/llama-bench" -m "$1" -p 0 -n 32 -r 3 \
        -t "$2" -o csv 2> /dev/null)
    c_avg=$(col avg_ts <<< "$lcsv")
    [ -n "$c_avg" ] || { echo -; return; }
    awk -F, -v c="$c_avg" 'NR == 2 { gsub(/"/, "", $c); printf "%.2f", $c }' <<< "$lcsv"
}

load before
echo "| model | total GB | read MB/token | tok/s, 1 thread | tok/s, 2 threads | GB/s, 2 threads | % of peak | llama.cpp tok/s, 1 / 2 threads |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for name in moe dense-total dense-active; do
    f=$out/$name-$layers.gguf
    csv=$(scarce_csv "$f")
    if [ -z "$csv" ]; then
        echo "| $name | bench failed or timed out | | | | | | |"
        continue
    fi
    c_th=$(col threads <<< "$csv") c_ts=$(col tok_s <<< "$csv") c_gb=$(col gb_s <<< "$csv")
    c_pct=$(col pct_of_peak <<< "$csv") c_w=$(col weight_bytes_per_token <<< "$csv")
    c_kv=$(col kv_bytes_per_token <<< "$csv") c_size=$(col size_bytes <<< "$csv")
    row=$(awk -F, -v th="$c_th" -v ts="$c_ts" -v gb="$c_gb" -v pct="$c_pct" -v w="$c_w" \
        -v kv="$c_kv" -v size="$c_size" '
        NR > 1 { t[$th] = $ts; if ($th == 2) { g = $gb; p = $pct }
                 bytes = $w + $kv; total = $size }
        END { printf "%.2f | %.0f | %.2f | %.2f | %.1f | %s", total / 1e9, bytes / 1e6, t[1], t[2],
                     g, p == "" ? "-" : p }' <<< "$csv")
    ref=-
    [ -n "$llama" ] && ref="$(llama_ts "$f" 1) / $(llama_ts "$f" 2)"
    echo "| $name | $row | $ref |"
done
load after
