#!/bin/sh
# bench_kernels.sh - decode and prefill tok/s of one or more scarce binaries on models,
# interleaved (the machine is shared: runs of each binary alternate) with the median of
# REPS runs. Usage: tools/bench_kernels.sh "bin1 bin2" "model1.gguf model2.gguf" [threads]
# Env: REPS (3), N (decode tokens, 32), PROMPT_WORDS (prefill prompt length, 0 = skip).
set -e
BINS=$1
MODELS=$2
THREADS=${3:-"1 2"}
REPS=${REPS:-3}
N=${N:-32}
PROMPT_WORDS=${PROMPT_WORDS:-0}
prompt="Hello"
if [ "$PROMPT_WORDS" -gt 0 ]; then
    prompt=$(yes "the small cat" | head -n $((PROMPT_WORDS / 3)) | tr '\n' ' ')
fi
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for m in $MODELS; do
    for t in $THREADS; do
        for b in $BINS; do : >"/tmp/bench_k_$$.$(basename $b).$t"; done
        for r in $(seq "$REPS"); do
            for b in $BINS; do
                "$b" run -m "$m" -n "$N" --temp 0 -t "$t" -p "$prompt" 2>&1 >/dev/null |
                    awk '/^prompt:/ {p=$(NF-1)} /^decode:/ {d=$(NF-5)} END {print p, d}' \
                        | tr -d '(' >>"/tmp/bench_k_$$.$(basename $b).$t"
            done
        done
        for b in $BINS; do
            f="/tmp/bench_k_$$.$(basename $b).$t"
            pre=$(cut -d' ' -f1 "$f" | median)
            dec=$(cut -d' ' -f2 "$f" | median)
            echo "$(basename "$m") -t $t $b: prefill $pre tok/s, decode $dec tok/s"
            rm -f "$f"
        done
    done
done
