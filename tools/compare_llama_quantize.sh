#!/bin/sh
# compare_llama_quantize.sh LLAMA_BIN_DIR [MODEL.gguf] [TYPES...]
# Quantizes MODEL (default ../shared/models/stories260K.gguf) with llama.cpp's llama-quantize
# and with scarce quantize to the same types, same thread count (THREADS, default 2), and
# prints for each: wall seconds of both, and the total RMSE of each against the source (both
# dequantized by our reader: scarce quantize --compare). With KL_TEXT=FILE it also scores
# both quantizations against MODEL's own distributions on that text (c=KL_CTX, default 256;
# KL_CHUNKS windows, default all): the base is computed once by `scarce ppl --kl-base-out`
# (llama-perplexity's --kl-divergence-base format) and both files are scored against it.
# IMATRIX=FILE passes an importance matrix to both quantizers. Per-type logs and tables are
# left in $TMPDIR/cmpq/. Skips cleanly (exit 0) when llama-quantize is not there.
set -eu
BIN=${1:-}
if [ -z "$BIN" ] || [ ! -x "$BIN/llama-quantize" ]; then
    echo "compare_llama_quantize: no llama-quantize in '${BIN}': skipped"
    exit 0
fi
shift
MODEL=${1:-../shared/models/stories260K.gguf}
[ $# -gt 0 ] && shift
TYPES=${*:-Q8_0 Q5_1 Q5_0 Q4_1 Q4_0 IQ4_NL Q6_K Q5_K_M Q4_K_M Q3_K_M Q2_K}
SCARCE=${SCARCE_BIN:-./scarce}
THREADS=${THREADS:-2}
OUT=${TMPDIR:-/tmp}/cmpq
mkdir -p "$OUT"
LIM=""; SIM=""
if [ -n "${IMATRIX:-}" ]; then LIM="--imatrix $IMATRIX"; SIM="--imatrix $IMATRIX"; fi
if [ -n "${KL_TEXT:-}" ]; then
    CH=""; [ -n "${KL_CHUNKS:-}" ] && CH="--chunks $KL_CHUNKS"
    "$SCARCE" ppl -m "$MODEL" -f "$KL_TEXT" -c "${KL_CTX:-256}" $CH -t "$THREADS" \
        --kl-base-out "$OUT/base.kl" >"$OUT/base.log" 2>&1
fi
now() { date +%s.%N; }
printf '%-8s %-9s %8s %8s %10s %10s %10s %10s %9s %9s\n' type ours our_s llama_s our_rmse llama_rmse our_kl llama_kl our_top1 llama_top1
for T in $TYPES; do
    ours=$(echo "$T" | tr 'A-Z' 'a-z')
    [ "$ours" = q2_k ] && ours=q2_k_m   # llama.cpp's Q2_K is a mix: our q2_k_m
    t0=$(now)
    LD_LIBRARY_PATH="$BIN" "$BIN/llama-quantize" $LIM "$MODEL" "$OUT/llama-$T.gguf" "$T" "$THREADS" >"$OUT/llama-$T.log" 2>&1
    t1=$(now)
    "$SCARCE" quantize "$MODEL" "$OUT/scarce-$T.gguf" "$ours" -t "$THREADS" $SIM >"$OUT/scarce-$T.log"
    t2=$(now)
    "$SCARCE" quantize --compare "$MODEL" "$OUT/llama-$T.gguf" >"$OUT/llama-$T.rmse"
    "$SCARCE" quantize --compare "$MODEL" "$OUT/scarce-$T.gguf" >"$OUT/scarce-$T.rmse"
    l=$(tail -1 "$OUT/llama-$T.rmse" | awk '{print $7}')
    s=$(tail -1 "$OUT/scarce-$T.rmse" | awk '{print $7}')
    skl=- lkl=- st=- lt=-
    if [ -n "${KL_TEXT:-}" ]; then
        for who in scarce llama; do
            "$SCARCE" ppl -m "$OUT/$who-$T.gguf" --kl-base "$OUT/base.kl" -t "$THREADS" >"$OUT/$who-$T.kl" 2>&1
        done
        skl=$(grep -o 'mean [0-9.]*' "$OUT/scarce-$T.kl" | awk '{print $2}')
        lkl=$(grep -o 'mean [0-9.]*' "$OUT/llama-$T.kl" | awk '{print $2}')
        st=$(grep -o 'agreement) [0-9.]*' "$OUT/scarce-$T.kl" | awk '{print $2}')
        lt=$(grep -o 'agreement) [0-9.]*' "$OUT/llama-$T.kl" | awk '{print $2}')
    fi
    printf '%-8s %-9s %8.2f %8.2f %10s %10s %10s %10s %9s %9s\n' "$T" "$ours" \
        "$(awk "BEGIN{print $t2 - $t1}")" "$(awk "BEGIN{print $t1 - $t0}")" "$s" "$l" "$skl" "$lkl" "$st" "$lt"
done
