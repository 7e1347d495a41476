#!/usr/bin/env bash
# fresh-clone.sh - what a new user gets from `git clone`: HEAD (committed work only) cloned
# into a temporary folder with no ../shared beside it; `make run` there with the network cut
# off (unshare -n: needs root or user namespaces; skipped with a message when unavailable),
# then `make test`; the skipped tests listed, grouped by reason.
#
# Exits 1 on any failure: a build or test failure, `make run` failing without its one-line
# explanation of where to put the model, or a test skipped for a reason other than an
# opt-in benchmark, hardware this CPU lacks, or data kept outside the repository (../shared,
# models fetched by models/fetch.sh); those three are listed, not failed.
#   tools/fresh-clone.sh [-k]     -k keeps the clone (its path is printed)
set -uo pipefail

keep=0
[ "${1:-}" = "-k" ] && keep=1
src=$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel) || exit 1
head=$(git -C "$src" rev-parse HEAD) || exit 1
tmp=$(mktemp -d "${TMPDIR:-/tmp}/scarce-fresh.XXXXXX") || exit 1
[ $keep = 1 ] || trap 'rm -rf "$tmp"' EXIT
clone=$tmp/scarce # ../shared of it is $tmp/shared: absent
log=$tmp/log
fail=0
say() { echo "fresh-clone: $*"; }

say "cloning $head into $clone"
git clone -q "$src" "$clone" && git -C "$clone" checkout -q "$head" || exit 1
if [ -e "$tmp/shared" ]; then
    say "$tmp/shared exists: not a clean setting"
    exit 1
fi

# ---- make run, offline -----------------------------------------------------------------
if unshare -n true 2>/dev/null; then
    say "make run (network cut off: unshare -n)"
    if (cd "$clone" && unshare -n make -j2 run) >"$log.run" 2>&1; then
        # the story is on stdout after the prompt; the summary (stderr) says how it stopped
        if grep -q "^stopped: " "$log.run" && grep -q "tok/s" "$log.run"; then
            say "make run: ok, a story was told offline"
        else
            say "make run: FAILED (exit 0 but no story and summary):"
            tail -n 20 "$log.run"
            fail=1
        fi
    elif grep -q "fetch.sh: could not fetch stories260K.gguf .*models/" "$log.run"; then
        say "make run: no default model offline (listed below as missing data):"
        grep "fetch.sh: could not fetch" "$log.run" | sed 's/^/    /'
        echo "make run|stories260K.gguf is in neither models/ nor ../shared/models, and the network is cut" \
            >>"$tmp/data_skips"
    else
        say "make run: FAILED without saying where to put the model:"
        tail -n 20 "$log.run"
        fail=1
    fi
else
    say "unshare -n is not available here (needs root or user namespaces): make run offline NOT checked"
fi

# ---- make test -------------------------------------------------------------------------
say "make test (log: $log.test)"
(cd "$clone" && make -j2 test) >"$log.test" 2>&1
rc=$?
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log.test" | tail -n 1)
say "make test: exit $rc: ${summary:-no summary line}"
if [ $rc != 0 ] || [ -z "$summary" ]; then
    grep -E '^FAIL|error:' "$log.test" | head -n 40
    fail=1
fi

# ---- the skips, by reason ----------------------------------------------------------------
# "skip NAME (reason)" lines of tests/runner.c
classify() {
    case $1 in
    *SCARCE_KBENCH* | *"opt-in"*) echo "opt-in benchmark" ;;
    *CPU* | *AVX* | *avx512* | *SIMD* | *" ISA"* | *NEON* | *neon*) echo "hardware this CPU lacks" ;;
    *../shared* | *fetch.sh* | *SCARCE_MODELS* | *SCARCE_LLAMA_VOCAB_DIR*)
        echo "data outside the repository (../shared, models/fetch.sh)" ;;
    *) echo "UNEXPECTED" ;;
    esac
}
sed -n 's/^skip \([^ ]*\) *(\(.*\))$/\1|\2/p' "$log.test" >"$tmp/skips"
cat "$tmp/data_skips" 2>/dev/null >>"$tmp/skips"
if [ -s "$tmp/skips" ]; then
    say "skipped, by reason:"
    while IFS='|' read -r name why; do
        printf '%s|%s|%s\n' "$(classify "$why")" "$name" "$why"
    done <"$tmp/skips" | sort | awk -F'|' '
        $1 != group { group = $1; order[++n] = group }
        { count[group]++; lines[group] = lines[group] "    " $2 " (" $3 ")\n" }
        END { for (i = 1; i <= n; i++) printf "  %s: %d\n%s", order[i], count[order[i]], lines[order[i]] }'
    if grep -q . <(while IFS='|' read -r _ why; do
        [ "$(classify "$why")" = UNEXPECTED ] && echo x
    done <"$tmp/skips"); then
        say "FAILED: tests skipped for an UNEXPECTED reason (above)"
        fail=1
    fi
else
    say "no test skipped"
fi
[ $keep = 1 ] && say "clone kept in $clone"
[ $fail = 0 ] && say "ok" || say "FAILED"
exit $fail
