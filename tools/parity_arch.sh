#!/usr/bin/env bash
# parity_arch.sh LLAMA_BIN_DIR - one synthetic f32 model per architecture (scarce mkmodel
# --arch, the stories260K vocabulary), next-token log-probabilities over the first chunks
# of a text from llama.cpp's llama-perplexity --kl-divergence-base against scarce
# logits-diff. Without a llama.cpp build (a directory with llama-perplexity) it says so and
# exits 0. f32 weights, f32 K/V and flash attention off: both sides then do the same
# arithmetic, so differences are float summation order (~1e-6), except Gemma's GELU, which
# ggml takes from an fp16 table (|logit| differences up to ~2e-4 on these models).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-${LLAMA_BIN:-}}
if [ -z "$bin" ] || [ ! -x "$bin/llama-perplexity" ]; then
    echo "parity_arch.sh: no llama.cpp build given (LLAMA_BIN_DIR with llama-perplexity); skipping" >&2
    exit 0
fi
shared=${SCARCE_SHARED:-$here/../shared}
vocab=$shared/models/stories260K.gguf
text=${PARITY_TEXT:-$shared/data/tinystories-valid.txt}
scarce=$here/scarce
if [ ! -f "$vocab" ]; then
    echo "parity_arch.sh: no vocabulary at $vocab (set SCARCE_SHARED); skipping" >&2
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# name | mkmodel flags (6 layers: gemma3 has local and global ones; the llama.cpp loader
# wants rope.dimension_count == head size for llama, so no --n-rot here; later flags
# override the common shape, e.g. olmoe's --n-head-kv 4)
cases=(
    "llama|--arch llama"
    "llama3-rope|--arch llama --rope-freqs 1 --ctx 64"
    "qwen2|--arch qwen2 --rope-base 1000000"
    "qwen3|--arch qwen3 --head-dim 24"
    "gemma2|--arch gemma2 --swa 5 --head-dim 32 --attn-softcap 0.05 --final-softcap 0.1"
    "gemma3|--arch gemma3 --swa 6 --head-dim 32 --rope-base 1000000"
    "phi3|--arch phi3"
    "phi3-longrope|--arch phi3 --longrope 1 --ctx 2048"
    "smollm3|--arch smollm3"
    "qwen3moe|--arch qwen3moe --head-dim 24 --n-expert 8 --n-expert-used 3 --n-ff-exp 32"
    "olmoe|--arch olmoe --n-head-kv 4 --n-expert 8 --n-expert-used 2"
    "qwen2moe|--arch qwen2moe --n-expert 8 --n-expert-used 2 --n-ff-exp 32 --n-ff-shexp 48"
    "deepseek2|--arch deepseek2 --n-expert 8 --n-expert-used 2 --n-ff-exp 32 --leading-dense 1 --kv-lora-rank 32 --head-dim 24 --n-rot 8 --v-head-dim 16"
    "deepseek2-yarn|--arch deepseek2 --n-expert 8 --n-expert-used 2 --n-ff-exp 32 --leading-dense 1 --kv-lora-rank 32 --head-dim 24 --n-rot 8 --v-head-dim 16 --yarn 8 --yarn-log-mul 0.707 --ctx 256"
    "qwen3moe-yarn|--arch qwen3moe --head-dim 24 --n-expert 8 --n-expert-used 3 --n-ff-exp 32 --yarn 4 --ctx 256"
    "gpt-oss|--arch gpt-oss --n-expert 8 --n-expert-used 2 --n-ff-exp 32 --swa 5 --yarn 8 --ctx 256"
    "deepseek3|--arch deepseek2 --n-expert 8 --n-expert-used 2 --n-ff-exp 32 --leading-dense 1 --kv-lora-rank 32 --q-lora-rank 24 --head-dim 24 --n-rot 8 --v-head-dim 16 --n-expert-shared 2 --gating 2 --expert-weights-norm 1 --expert-weights-scale 2.5 --expert-groups 4 --expert-groups-used 2 --probs-bias 1"
)
status=0
for c in "${cases[@]}"; do
    name=${c%%|*} flags=${c#*|}
    m=$tmp/$name.gguf
    # shellcheck disable=SC2086 # flags are words
    if ! "$scarce" mkmodel -o "$m" --vocab "$vocab" --n-embd 64 --n-layer 6 --n-head 4 \
            --n-head-kv 2 --n-ff 96 --seed 5 --random-norms 1 $flags > /dev/null; then
        echo "== $name: mkmodel failed"; status=1; continue
    fi
    echo "== $name ($flags)"
    if "$bin/llama-perplexity" -m "$m" -f "$text" -c 128 --chunks 4 -t 2 -fa off -ctk f32 \
            -ctv f32 --kl-divergence-base "$tmp/base.bin" > "$tmp/ppl.log" 2>&1; then
        "$scarce" logits-diff -m "$m" --llama-logits "$tmp/base.bin" -t 2 || status=1
    else
        echo "llama-perplexity failed: $(tail -n 2 "$tmp/ppl.log")"; status=1
    fi
done
exit $status
