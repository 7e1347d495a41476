#!/usr/bin/env bash
# campaign.sh - the long fuzz campaign (issue 21): every target, one at a time, for
# CAMPAIGN_SECONDS each (default 600), under nice -n 19 (the machine is shared with
# timings). A crash does not end a target's time: libFuzzer stops at the first one, so the
# target is started again on its grown corpus until its time is used up. Prints one table
# row per target: seconds, executions, libFuzzer's cov and ft at the end, findings.
# Timeouts are 60 s, not run.sh's 10: at nice 19 on a shared machine a unit can wait that
# long for a core.
#
# Usage: tests/fuzz/campaign.sh [target ...]   (after `make fuzz FUZZ_SECONDS=1` built and
# seeded everything). Binaries are copied first, so a rebuild during the campaign does not
# change what runs. Logs and crash files go to CAMPAIGN_DIR (default build/fuzz/campaign).
set -euo pipefail
cd "$(dirname "$0")/../.."
EACH=${CAMPAIGN_SECONDS:-600}
DIR=${CAMPAIGN_DIR:-build/fuzz/campaign}
export SCARCE_SHARED=${SCARCE_SHARED:-../shared}
F=tests/fuzz
mkdir -p "$DIR/bin"
cp -f build/fuzz/fuzz_* "$DIR/bin/"
[ -d build/fuzz/bases ] && cp -rf build/fuzz/bases "$DIR/bin/"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=($(cd "$DIR/bin" && ls fuzz_*))

printf '%-20s %8s %12s %8s %8s %s\n' target seconds execs cov ft findings
for name in "${targets[@]}"; do
    log=$DIR/$name.log
    : >"$log"
    dict=()
    max_len=2000000
    case $name in fuzz_gguf | fuzz_model) dict=(-dict=$F/gguf.dict) ;; esac
    case $name in fuzz_lookup) max_len=4096 ;; esac
    mkdir -p "$F/corpus-$name"
    start=$(date +%s)
    execs=0
    while :; do
        left=$((EACH - ($(date +%s) - start)))
        [ $left -gt 5 ] || break
        from=$(wc -l <"$log")
        SCARCE_FUZZ_BASES=$DIR/bin/bases nice -n 19 "$DIR/bin/$name" -max_total_time=$left \
            -rss_limit_mb=2048 -timeout=60 -max_len=$max_len -print_final_stats=1 \
            "${dict[@]}" -artifact_prefix="$DIR/$name-" "$F/corpus-$name" 2>>"$log" || true
        # executions of this run: the final stats, or the last status line after a crash
        n=$(tail -n +$((from + 1)) "$log" | grep -E '^stat::number_of_executed_units' |
            tail -n 1 | awk '{print $2}' || true)
        [ -n "$n" ] || n=$(tail -n +$((from + 1)) "$log" | grep -E '^#[0-9]+' | tail -n 1 |
                           sed 's/^#\([0-9]*\).*/\1/' || true)
        execs=$((execs + ${n:-0}))
        echo "== run ended after $(($(date +%s) - start)) s, $execs executions so far" >>"$log"
    done
    # (|| true: with pipefail, a grep or ls that finds nothing would end the campaign)
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -n 1 || true)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<<"$last")
    # crash-, leak-, timeout-, oom- files; a slow-unit- file is no finding on a loaded machine
    findings=$( (ls "$DIR"/"$name"-* 2>/dev/null || true) |
                (grep -Ec '/'"$name"'-(crash|leak|timeout|oom)-' || true))
    printf '%-20s %8d %12d %8s %8s %s\n' "$name" $(($(date +%s) - start)) $execs "${cov:-?}" \
        "${ft:-?}" "$findings"
done
