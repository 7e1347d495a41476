#!/usr/bin/env bash
# parity.sh LLAMA_BIN_DIR [MODEL.gguf ...] - does scarce compute what llama.cpp computes?
#
# For each model: the token ids of a few prompts (llama-tokenize vs scarce tokenize), the
# greedy continuation of 64 tokens (llama-simple vs scarce run --temp 0), and the
# next-token log-probabilities over the first chunks of a text (llama-perplexity
# --kl-divergence-base vs scarce logits-diff, which also compares the text's tokens).
# LLAMA_BIN_DIR holds a llama.cpp build's binaries; without it the script says so and
# exits 0 (nothing to compare against).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-${LLAMA_BIN:-}}
if [ -z "$bin" ] || [ ! -x "$bin/llama-tokenize" ]; then
    echo "parity.sh: no llama.cpp build given (LLAMA_BIN_DIR with llama-tokenize, llama-simple," \
         "llama-perplexity); skipping" >&2
    exit 0
fi
shift || true
shared=${SCARCE_SHARED:-$here/../shared}
models=("$@")
[ ${#models[@]} -gt 0 ] || models=("$shared/models/stories260K.gguf" "$here/models/SmolLM2-135M-Instruct.Q4_1.gguf")
text=${PARITY_TEXT:-$shared/data/tinystories-valid.txt}
scarce=$here/scarce
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prompts=("Once upon a time" "The little dog was happy because" "Hello, world! 123 tokens... ok?")
status=0

for m in "${models[@]}"; do
    [ -f "$m" ] || { echo "== $(basename "$m"): not present, skipped"; continue; }
    echo "== $(basename "$m")"
    for p in "${prompts[@]}"; do
        ours=$("$scarce" tokenize -m "$m" -p "$p" --ids 2>&1)
        theirs=$("$bin/llama-tokenize" -m "$m" -p "$p" --ids --log-disable 2>/dev/null | tail -n 1)
        if [ "$ours" = "$theirs" ]; then echo "ids    equal     '$p' $ours"
        else echo "ids    DIFFERENT '$p'"; echo "   scarce    $ours"; echo "   llama.cpp $theirs"; status=1; fi

        "$scarce" run -m "$m" -p "$p" -n 64 --temp 0 -t 2 2>/dev/null | sed -e '$ { /^$/d }' > "$tmp/ours.txt"
        # llama-simple prints special tokens too: its BOS piece ("<s>" plus the space of the
        # first SentencePiece word) is dropped; both then print prompt and continuation
        bos=$("$scarce" tokenize -m "$m" -p "" 2>/dev/null | sed -n "s/^ *[0-9]* -> '\\(.*\\)'$/\\1/p" | head -n 1)
        "$bin/llama-simple" -m "$m" -n 64 "$p" 2>/dev/null | { if [ -n "$bos" ]; then sed -E -e "1s/^$bos ?//"; else cat; fi; } > "$tmp/theirs.txt"
        if [ "$(cat "$tmp/ours.txt")" = "$(cat "$tmp/theirs.txt")" ]; then echo "greedy equal     (64 tokens)"
        else
            n=$(cmp "$tmp/ours.txt" "$tmp/theirs.txt" 2>/dev/null | sed -n 's/.*byte \([0-9]*\).*/\1/p')
            echo "greedy DIFFERENT from byte ${n:-?}"; echo "   scarce    $(head -c 200 "$tmp/ours.txt")"
            echo "   llama.cpp $(head -c 200 "$tmp/theirs.txt")"; status=1
        fi
    done
    # -fa off -ctk f32 -ctv f32: llama.cpp's defaults keep K/V in f16 under flash attention;
    # f32 K/V make both sides the same exact computation
    if "$bin/llama-perplexity" -m "$m" -f "$text" -c 128 --chunks 8 -t 2 \
            -fa off -ctk f32 -ctv f32 --kl-divergence-base "$tmp/base.bin" > "$tmp/ppl.log" 2>&1; then
        "$scarce" logits-diff -m "$m" --llama-logits "$tmp/base.bin" -f "$text" -t 2 || status=1
    else
        echo "llama-perplexity failed: $(tail -n 2 "$tmp/ppl.log")"; status=1
    fi
done
exit $status
