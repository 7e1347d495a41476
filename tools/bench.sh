#!/bin/sh
# make bench: prefill (pp128) and decode (tg64) for every weight type, 1 and 2 threads, on
# stories260K (quantized from its f32 file) and on synthetic models at the 110M and
# TinyLlama-1.1B shapes, written by scarce mkmodel directly in each type and cached in
# models/cache/ (git-ignored). The machine's bandwidth is measured once (scarce membw).
#   BENCH_TYPES="f16 q8_0 ..."  BENCH_SHAPES="stories 110m tinyllama"  BENCH_REPS=3
#   BENCH_THREADS=1,2  BENCH_OUT=md|csv|json
set -e
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
TYPES=${BENCH_TYPES:-"f32 f16 bf16 q8_0 fp8_e4m3 fp8_e5m2 q6_k q5_k q4_k q4_0 q4_1 iq4_nl q3_k q2_k q2_0_32"}
SHAPES=${BENCH_SHAPES:-"stories 110m tinyllama"}
REPS=${BENCH_REPS:-3}
THREADS=${BENCH_THREADS:-1,2}
OUT=${BENCH_OUT:-md}
VOCAB=$SHARED/models/vocab/ggml-vocab-llama-spm.gguf
cache=models/cache
mkdir -p "$cache"
[ -f "$HOME/.cache/scarce/membw" ] || ./scarce membw >&2

shape_args() {
    case $1 in
    110m) echo "--n-embd 768 --n-layer 12 --n-head 12 --n-head-kv 12 --n-ff 2048" ;;
    tinyllama) echo "--n-embd 2048 --n-layer 22 --n-head 32 --n-head-kv 4 --n-ff 5632" ;;
    esac
}

models=""
for shape in $SHAPES; do
    for type in $TYPES; do
        file=$cache/$shape-$type.gguf
        if [ ! -f "$file" ]; then
            if [ "$shape" = stories ]; then
                [ -f "$SHARED/models/stories260K.gguf" ] || continue
                ./scarce quantize "$SHARED/models/stories260K.gguf" "$file" "$type" >/dev/null 2>&1 || continue
            else
                [ -f "$VOCAB" ] || { echo "bench.sh: $VOCAB missing, skipping $shape" >&2; continue; }
                case $type in f32) [ "$shape" = tinyllama ] && continue ;; esac # 4.4 GB: skipped
                echo "bench.sh: writing $file" >&2
                ./scarce mkmodel -o "$file" --vocab "$VOCAB" $(shape_args "$shape") --type "$type" >&2 || continue
            fi
        fi
        models="${models:+$models,}$file"
    done
done
[ -n "$models" ] || { echo "bench.sh: no models to bench" >&2; exit 1; }
./scarce bench -m "$models" -p 128 -n 64 -t "$THREADS" -r "$REPS" -o "$OUT"
