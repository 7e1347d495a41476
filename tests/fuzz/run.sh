#!/usr/bin/env bash
# run.sh - seeds a corpus per fuzz target (git-ignored tests/fuzz/corpus-NAME/) and runs
# each target for FUZZ_SECONDS. Called by `make fuzz`; binaries are in build/fuzz/.
# Crashes are left as tests/fuzz/corpus-crashes/NAME-crash-* (libFuzzer's -artifact_prefix),
# or under FUZZ_ARTIFACTS; FUZZ_BIN_DIR runs copies of the binaries (a long campaign that
# should not see a rebuild half-way), FUZZ_NICE=19 runs them under nice.
set -euo pipefail
cd "$(dirname "$0")/../.."
SECONDS_EACH=${FUZZ_SECONDS:-60}
SHARED=${SCARCE_SHARED:-../shared}
export SCARCE_SHARED=$SHARED
F=tests/fuzz
FB=${FUZZ_BIN_DIR:-build/fuzz}
OUT=${FUZZ_ARTIFACTS:-$F/corpus-crashes}

seed_gguf() {
    local c=$F/corpus-fuzz_gguf
    mkdir -p "$c"
    for g in "$SHARED"/models/stories260K.gguf "$SHARED"/models/vocab/*.gguf; do
        [ -f "$g" ] && cp -f "$g" "$c/$(basename "$g")"
    done
    # small synthetic models: dense and MoE, when mkmodel is built
    if ./scarce mkmodel -h >/dev/null 2>&1; then
        local mk=(./scarce mkmodel --vocab "$SHARED/models/stories260K.gguf" --n-embd 32
                  --n-layer 1 --n-head 4 --n-head-kv 2 --n-ff 64)
        "${mk[@]}" -o "$c/mk-dense.gguf" >/dev/null 2>&1 || true
        "${mk[@]}" -o "$c/mk-f16.gguf" --type f16 >/dev/null 2>&1 || true
        "${mk[@]}" -o "$c/mk-moe.gguf" --n-expert 4 --n-expert-used 2 >/dev/null 2>&1 || true
    fi
}

seed_tokenizer() {
    local c=$F/corpus-fuzz_tokenizer
    mkdir -p "$c"
    # the test strings of the vocab files (separated by __ggml_vocab_test__ lines), each
    # prefixed with a vocabulary index byte and a flags byte (encode with BOS)
    for inp in "$SHARED"/models/vocab/*.inp; do
        [ -f "$inp" ] || continue
        awk -v out="$c/$(basename "$inp")" 'BEGIN { first = 1 }
            /^__ggml_vocab_test__$/ { close(f); n++; first = 1; next }
            { f = out "-" n; printf "%s%s", (first ? "" : "\n"), $0 > f; first = 0 }' "$inp"
    done
    # inputs that once failed (tests/fuzz/regress-NAME/: "<unk>" typed in the text)
    cp "$F"/regress-fuzz_tokenizer/* "$c"/ 2>/dev/null || true
    for s in "$c"/*.inp-*; do
        [ -f "$s" ] || continue
        for v in 0 1 2; do { printf "\\x0$v\\x01"; cat "$s"; } >"$c/v$v-$(basename "$s")"; done
        rm -f "$s"
    done
}

# fuzz_model's base models: one small mkmodel file per architecture of the table (the
# names from mkmodel's own --arch error), dense and, where the row has experts, MoE
seed_model() {
    local bases=$FB/bases c=$F/corpus-fuzz_model
    mkdir -p "$bases" "$c"
    ./scarce mkmodel -h >/dev/null 2>&1 || return 0
    local archs
    archs=$(./scarce mkmodel --arch '?' -o /dev/null --vocab "$SHARED/models/stories260K.gguf" \
            --n-embd 64 --n-layer 2 --n-head 4 --n-head-kv 2 --n-ff 128 2>&1 |
            sed -n 's/.*not one of //p' | tr -d ',' || true)
    local i=0
    for a in $archs; do
        local extra=() # what a row needs beyond the common shape (mkmodel's own errors)
        case $a in
        olmoe) extra=(--n-head-kv 4) ;;
        deepseek2) extra=(--n-head-kv 4 --kv-lora-rank 16 --head-dim 24 --n-rot 8 --v-head-dim 16
                          --leading-dense 1 --expert-groups 2 --expert-groups-used 1) ;;
        gpt-oss) extra=(--swa 8 --n-rot 16) ;;
        esac
        local mk=(./scarce mkmodel --vocab "$SHARED/models/stories260K.gguf" --arch "$a"
                  --n-embd 64 --n-layer 2 --n-head 4 --n-head-kv 2 --n-ff 128 "${extra[@]}")
        "${mk[@]}" -o "$bases/$a.gguf" >/dev/null 2>&1 ||
            "${mk[@]}" --n-expert 4 --n-expert-used 2 -o "$bases/$a.gguf" >/dev/null 2>&1 || true
        "${mk[@]}" --n-expert 4 --n-expert-used 2 -o "$bases/$a-moe.gguf" >/dev/null 2>&1 || true
    done
    # seeds: each base unchanged (byte 0 picks it), then one edit of each kind
    for b in "$bases"/*.gguf; do
        printf "\\x$(printf %02x $i)" >"$c/base-$i"
        printf "\\x$(printf %02x $i)\\x01\\x02\\x04\\x00\\x07\\x00\\x00\\x00\\x00\\x00\\x00\\x00" >"$c/blocks-$i"
        printf "\\x$(printf %02x $i)\\x03\\x08\\x05\\x00" >"$c/scores-$i"
        i=$((i + 1))
    done
    # inputs that once failed (their byte 0 picked a base of the set of that day)
    cp "$F"/regress-fuzz_model/* "$c"/ 2>/dev/null || true
}

# fuzz_lookup: header bytes (n-gram sizes, k and flags, split, step; see fuzz_lookup.c),
# then u16 ids over a 4-token alphabet, or text for the tokenizer (flag 0x80)
seed_lookup() {
    local c=$F/corpus-fuzz_lookup
    mkdir -p "$c"
    printf '\x03\x48\x80\x00' >"$c/ids-abc"
    for i in 1 2 3 4 5 6 7 8; do printf '\x01\x00\x02\x00\x03\x00\x00\x00' >>"$c/ids-abc"; done
    for inp in "$SHARED"/models/vocab/ggml-vocab-llama-spm.gguf.inp; do
        [ -f "$inp" ] || continue
        { printf '\x23\x88\x80\x02'; head -c 1500 "$inp"; head -c 700 "$inp"; } >"$c/text-spm"
    done
}

seed_gguf
seed_tokenizer
seed_model
seed_lookup
mkdir -p $F/corpus-fuzz_dequant $F/corpus-fuzz_chat_template
for t in "Hello <|im_start|>" "[INST] x" "<|assistant|><|end|>" "<start_of_turn>" \
         "<|start_header_id|><|end_header_id|>" "<|im_start|><|im_sep|>"; do
    printf '%s\0system\0 user text ' "$t" >"$F/corpus-fuzz_chat_template/$(echo "$t" | md5sum | cut -c1-8)"
done

status=0
# FUZZ_TARGETS="fuzz_model fuzz_gguf" runs only those (default: every built target)
for bin in $FB/fuzz_*; do
    [ -z "${FUZZ_TARGETS:-}" ] || [[ " $FUZZ_TARGETS " == *" $(basename "$bin") "* ]] || continue
    [ -x "$bin" ] || continue
    name=$(basename "$bin")
    echo "== $name for ${SECONDS_EACH}s"
    mkdir -p "$F/corpus-$name" "$OUT"
    dict=()
    max_len=2000000
    case $name in fuzz_gguf | fuzz_model) dict=(-dict=$F/gguf.dict) ;; esac
    case $name in fuzz_lookup) max_len=4096 ;; esac # its oracle is quadratic in the length
    if ! SCARCE_FUZZ_BASES=$FB/bases nice -n "${FUZZ_NICE:-0}" "$bin" \
        -max_total_time="$SECONDS_EACH" -rss_limit_mb=2048 -timeout=10 -max_len=$max_len \
        -print_final_stats=1 "${dict[@]}" -artifact_prefix="$OUT/$name-" \
        "$F/corpus-$name" 2>"$OUT/$name.log"; then
        echo "FAIL $name (see $OUT/$name.log)"
        tail -n 40 "$OUT/$name.log"
        status=1
    else
        grep -E "^stat::number_of_executed_units|^stat::new_units_added|cov:" \
            "$OUT/$name.log" | tail -n 3
    fi
done
exit $status
