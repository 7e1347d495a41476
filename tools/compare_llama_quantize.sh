#!/bin/sh
# compare_llama_quantize.sh LLAMA_BIN_DIR [MODEL.gguf] [TYPES...]
# Quantizes MODEL (default ../shared/models/stories260K.gguf) with llama.cpp's llama-quantize
# and with scarce quantize to the same types, and prints the total RMSE of each against the
# source (both dequantized by our reader: scarce quantize --compare). Per-tensor tables are
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
OUT=${TMPDIR:-/tmp}/cmpq
mkdir -p "$OUT"
printf '%-8s %-9s %12s %10s %12s %12s %10s %12s\n' type ours bytes bpw rmse llama bpw rmse
for T in $TYPES; do
    ours=$(echo "$T" | tr 'A-Z' 'a-z')
    [ "$ours" = q2_k ] && ours=q2_k_m   # llama.cpp's Q2_K is a mix: our q2_k_m
    LD_LIBRARY_PATH="$BIN" "$BIN/llama-quantize" "$MODEL" "$OUT/llama-$T.gguf" "$T" >"$OUT/llama-$T.log" 2>&1
    "$SCARCE" quantize "$MODEL" "$OUT/scarce-$T.gguf" "$ours" >"$OUT/scarce-$T.log"
    "$SCARCE" quantize --compare "$MODEL" "$OUT/llama-$T.gguf" >"$OUT/llama-$T.rmse"
    "$SCARCE" quantize --compare "$MODEL" "$OUT/scarce-$T.gguf" >"$OUT/scarce-$T.rmse"
    l=$(tail -1 "$OUT/llama-$T.rmse" | awk '{print $2, $4, $7}')
    s=$(tail -1 "$OUT/scarce-$T.rmse" | awk '{print $2, $4, $7}')
    printf '%-8s %-9s %12s %10s %12s %12s %10s %12s\n' "$T" "$ours" $s $l
done
