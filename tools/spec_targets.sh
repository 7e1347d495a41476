#!/bin/sh
# spec_targets.sh - the closing-note table of issue 19 (speculative decoding that pays), in
# one run, side by side:
#   1. SmolLM2-135M f16 target, three prompts (a story, a question, code) x drafts: each
#      --draft-quant TYPE (in-memory low-bit copy) and -md FILE (the target quantized to
#      q4_0 by scarce quantize): acceptance, tokens per pass, plain and speculative tok/s
#      (--spec-compare), and whether the greedy text equals plain decoding's;
#   2. --lookup on an input-grounded task (rewriting a given paragraph);
#   3. verify(k+1)/decode(1) for k = 1, 2, 4, 8 (scarce bench --draft) on the TinyLlama
#      shape in q8_0 and q4_0, and on the f16 target;
#   4. with a llama.cpp bin dir: llama-speculative on the same target and draft file, and
#      llama-bench's plain decode of the target (skipped cleanly without one).
# Timings need a quiet machine (the figures move with load); the text equality does not.
#
# Usage: tools/spec_targets.sh [LLAMA_BIN_DIR]
# Env:   SPEC_MODEL   f16 target (default: models/smollm2-f16.gguf, else made from
#                     models/SmolLM2-135M-Instruct.Q4_1.gguf by scarce quantize)
#        SPEC_TINY    TinyLlama-shape files "q8_0.gguf q4_0.gguf" (default: models/cache/
#                     tinyllama-{q8_0,q4_0}.gguf as tools/bench.sh writes them)
#        SPEC_DRAFTS  ("q4_0 q8_0 q4_1 q4_1_f32 q2_k")  SPEC_N (128)  SPEC_THREADS (2)
#        SPEC_WORK    where the f16 target and draft file are made (/tmp/scarce-spec-targets)
#        SPEC_DRAFT_FILE  the -md draft (default: the target quantized to q4_0, made in SPEC_WORK)
set -e
cd "$(dirname "$0")/.."
LLAMA=${1:-}
N=${SPEC_N:-128}
T=${SPEC_THREADS:-2}
DRAFTS=${SPEC_DRAFTS:-"q4_0 q8_0 q4_1 q4_1_f32 q2_k"}
WORK=${SPEC_WORK:-/tmp/scarce-spec-targets}
mkdir -p "$WORK"
[ -x ./scarce ] || { echo "spec_targets.sh: build ./scarce first (make)" >&2; exit 1; }

# ---- the target and the draft file ----
M=${SPEC_MODEL:-models/smollm2-f16.gguf}
if [ ! -f "$M" ]; then
    src=models/SmolLM2-135M-Instruct.Q4_1.gguf
    [ -f "$src" ] || { echo "spec_targets.sh: no $M and no $src (models/fetch.sh)" >&2; exit 1; }
    M=$WORK/smollm2-f16.gguf
    [ -f "$M" ] || ./scarce quantize "$src" "$M" f16 >/dev/null
fi
DRAFT_FILE=${SPEC_DRAFT_FILE:-$WORK/$(basename "$M" .gguf)-q4_0.gguf}
[ -f "$DRAFT_FILE" ] || ./scarce quantize "$M" "$DRAFT_FILE" q4_0 >/dev/null

STORY="Once upon a time, in a small village at the edge of a forest, there lived a girl who"
# (a question alone makes SmolLM2-Instruct end the text at once: the answer is begun)
QUESTION="Question: Why is the sky blue during the day and red at sunset?
Answer: The sky is blue because"
CODE="def fibonacci(n):
    \"\"\"Return the n-th Fibonacci number.\"\"\""
PARAGRAPH="The library opens at nine in the morning and closes at six in the evening. Children \
under twelve must be accompanied by an adult. Books can be borrowed for three weeks and renewed \
twice online. Late returns cost ten cents a day."
REWRITE="Rewrite the paragraph below, keeping every fact.
Paragraph: $PARAGRAPH
Rewritten paragraph: $(echo "$PARAGRAPH" | cut -c1-40)"

prompt_of() {
    case $1 in
    story) echo "$STORY" ;;
    question) echo "$QUESTION" ;;
    code) echo "$CODE" ;;
    esac
}

# The value of a scalar key in scarce's one-line --json object ("-" when absent or null).
jkey() { sed -n "s/.*\"$1\": \([-0-9.e+]*\).*/\1/p" "$2" | head -n 1 | grep . || echo -; }
# The generated text of a --json run: stderr up to the report's "stopped:" line.
text_of() { sed '/^stopped: /,$d' "$1"; }

# One row: run with the draft arguments "$3..." on prompt $2 (label $1); compares the text
# with the plain run of the same prompt ($WORK/plain.txt).
spec_row() {
    label=$1 prompt=$2
    shift 2
    ./scarce run -m "$M" -p "$prompt" -n "$N" --temp 0 -t "$T" --spec-compare --json "$@" \
        >"$WORK/spec.json" 2>"$WORK/spec.err" || { echo "| $label | $* | failed |"; return; }
    same=no
    text_of "$WORK/spec.err" | cmp -s - "$WORK/plain.txt" && same=yes
    printf '| %s | %s | %s | %s | %s | %s | %sx | %s |\n' "$label" "$*" \
        "$(jkey plain_tok_s "$WORK/spec.json")" "$(jkey spec_tok_s "$WORK/spec.json")" \
        "$(jkey acceptance_rate "$WORK/spec.json")" \
        "$(jkey mean_tokens_per_target_pass "$WORK/spec.json")" \
        "$(jkey speedup_vs_plain "$WORK/spec.json")" "$same"
}

plain_text() {
    ./scarce run -m "$M" -p "$1" -n "$N" --temp 0 -t "$T" --json >"$WORK/plain.json" \
        2>"$WORK/plain.err"
    text_of "$WORK/plain.err" >"$WORK/plain.txt"
}

echo "## speculative decoding, target $M, -n $N --temp 0 -t $T"
echo
echo "| prompt | draft | plain tok/s | speculative tok/s | acceptance | tokens/pass | speed-up | same text |"
echo "|---|---|---:|---:|---:|---:|---:|---|"
for which in story question code; do
    P=$(prompt_of "$which")
    plain_text "$P"
    for d in $DRAFTS; do spec_row "$which" "$P" --draft-quant "$d"; done
    spec_row "$which" "$P" -md "$DRAFT_FILE"
done
plain_text "$REWRITE"
spec_row rewrite "$REWRITE" --lookup 3
spec_row rewrite "$REWRITE" --lookup 4 --lookup-min 2
echo

# ---- verify(k+1) / decode(1) ----
TINY=${SPEC_TINY:-"models/cache/tinyllama-q8_0.gguf models/cache/tinyllama-q4_0.gguf"}
models=$M
for f in $TINY; do
    if [ -f "$f" ]; then models="$models,$f"; else echo "(no $f: tools/bench.sh writes it)"; fi
done
./scarce bench -m "$models" -p 0 -n 16 -r 1 -t "$T" --draft 8 --lookup 2 | sed -n '/^verify(k+1)/,$p'
echo

# ---- llama.cpp ----
if [ -z "$LLAMA" ] || [ ! -x "$LLAMA/llama-speculative" ]; then
    echo "llama.cpp: skipped (give its bin dir, with llama-speculative and llama-bench, as the argument)"
    exit 0
fi
export LD_LIBRARY_PATH="$LLAMA${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
plain=$("$LLAMA/llama-bench" -m "$M" -p 0 -n "$N" -t "$T" -r 3 -o json 2>/dev/null |
    sed -n 's/.*"avg_ts": *\([0-9.e+-]*\).*/\1/p' | head -n 1)
echo "## llama.cpp on the same files: plain decode (llama-bench tg$N) ${plain:-?} tok/s"
echo
echo "| prompt | draft | speculative tok/s | acceptance |"
echo "|---|---|---:|---:|"
for which in story question code; do
    P=$(prompt_of "$which")
    "$LLAMA/llama-speculative" -m "$M" -md "$DRAFT_FILE" -p "$P" -n "$N" --temp 0 -t "$T" \
        --spec-draft-n-max 8 -c 1024 >"$WORK/llama.out" 2>&1 || true
    speed=$(sed -n 's/.*decoded.*speed: *\([0-9.]*\) t\/s.*/\1/p' "$WORK/llama.out" | tail -n 1)
    accept=$(sed -n 's/.*accept *= *\([0-9.]*%\).*/\1/p' "$WORK/llama.out" | tail -n 1)
    echo "| $which | -md $(basename "$DRAFT_FILE") | ${speed:-failed} | ${accept:--} |"
done
