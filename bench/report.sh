#!/usr/bin/env bash
# Issue 19's scale goal: a report of HOSTS x TASKS (default 1000 x 50)
# stays under 5 MB, and Chromium draws it within 2 s. Writes a synthetic
# record of that size (every host changing every task), times
# `drover report`, and reads from headless Chromium how long the page took
# from the start of loading to drawn (the page notes it in
# `data-render-ms`), three times.
#
#   bench/report.sh [HOSTS] [TASKS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
hosts=${1:-1000}
tasks=${2:-50}
cargo build --release -q -p drover
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk -v hosts="$hosts" -v tasks="$tasks" 'BEGIN {
    print "{\"event\":\"run\",\"command\":\"play\",\"playbook\":\"big.yml\",\"started\":\"2026-11-30T10:00:00.000Z\",\"at\":0}"
    for (t = 0; t < tasks; t++) {
        printf "{\"event\":\"task_start\",\"task\":\"task number %d\",\"location\":\"big.yml:%d\",\"handler\":false}\n", t, t * 3 + 4
        for (h = 0; h < hosts; h++)
            printf "{\"event\":\"host_result\",\"host\":\"host%04d\",\"status\":\"changed\",\"item\":null,\"result\":{\"changed\":true},\"diff\":null,\"started\":\"2026-11-30T10:00:%02d.000Z\",\"duration\":0.%03d}\n", h, t % 60, (h * 7 + t) % 1000
    }
    print "{\"event\":\"run_end\",\"exit_code\":0,\"duration\":61.0}"
}' > "$work/big.ndjson"
start=$(date +%s.%N)
"$root/target/release/drover" report -o "$work/big.html" "$work/big.ndjson" >/dev/null
end=$(date +%s.%N)
printf 'hosts %s, tasks %s: record %s bytes, report %s bytes, drover report %.2f s\n' \
    "$hosts" "$tasks" "$(stat -c %s "$work/big.ndjson")" "$(stat -c %s "$work/big.html")" "$(echo "$end - $start" | bc)"
for run in 1 2 3; do
    profile=$(mktemp -d)
    milliseconds=$(chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$profile" \
        --dump-dom "file://$work/big.html" 2>/dev/null | grep -o 'data-render-ms="[0-9]*"' | grep -o '[0-9]*')
    rm -rf "$profile"
    echo "chromium, run $run: drawn ${milliseconds:-?} ms after the page began loading"
done
