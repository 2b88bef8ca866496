#!/usr/bin/env bash
# drover at scale on one controller: `drover run all -- true` and the
# 10-task playbook (bench/playbook/bench.yml) on N loopback sshd hosts, at
# `-f 200` and `-f N`, reporting wall time, drover's CPU seconds, peak RSS
# (and per host) and the most file descriptors drover held open. Shows that
# the cost is linear in hosts. Needs root (sshd on 127.x.y.z:22).
#
#   bench/scale.sh [HOSTS...]      default: 100 300 1000
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
counts=("${@:-100 300 1000}")
read -r -a counts <<< "${counts[*]}"
cargo build --release -q -p drover -p drover-test-harness
drover=$root/target/release/drover
testbed=$root/target/release/testbed
export DROVER_TESTBED_STATE=${DROVER_TESTBED_STATE:-/tmp/drover-bench-scale}
trap '"$testbed" down >/dev/null 2>&1 || true' EXIT

# Runs drover under GNU time while sampling its open descriptors; prints
# "wall cpu rss_kb fds".
measure() {
    local log fds=0 pid
    log=$(mktemp)
    /usr/bin/time -f '%e %U %S %M' -o "$log" "$drover" "$@" >/dev/null 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        for child in $(pgrep -P "$pid" 2>/dev/null || true); do
            local now
            now=$( (find "/proc/$child/fd" -mindepth 1 -maxdepth 1 2>/dev/null || true) | wc -l)
            if [ "$now" -gt "$fds" ]; then fds=$now; fi
        done
        sleep 0.02
    done
    local status=0
    wait "$pid" || status=$?
    [ "$status" = 0 ] || echo "drover $* exited with $status" >&2
    read -r wall user system rss < <(tail -n 1 "$log")
    rm -f "$log"
    echo "$wall $(echo "$user + $system" | bc) $rss $fds"
}

printf '%-6s %-9s %-6s %9s %9s %10s %13s %8s\n' hosts what forks wall_s cpu_s rss_MB rss_per_host_KB max_fds
for count in "${counts[@]}"; do
    directory=$("$testbed" up "$count")
    inventory=$directory/hosts.ini
    known=$directory/known_hosts
    work=$(mktemp -d /tmp/drover-bench-scale-XXXXXX)
    chmod 777 "$work"
    # Warm up: page cache, sshd's first fork.
    "$drover" run all -i "$inventory" --known-hosts "$known" -f "$count" -- true >/dev/null 2>&1 || true
    for forks in 200 "$count"; do
        for what in run playbook; do
            if [ "$what" = run ]; then
                read -r wall cpu rss fds < <(measure run all -i "$inventory" --known-hosts "$known" -f "$forks" -- true)
            else
                rm -rf "${work:?}"/*
                read -r wall cpu rss fds < <(cd "$root/bench/playbook" && measure play bench.yml -i "$inventory" --known-hosts "$known" -f "$forks" -e "base_dir=$work")
            fi
            printf '%-6s %-9s %-6s %9.2f %9.2f %10.1f %13.1f %8s\n' "$count" "$what" "$forks" "$wall" "$cpu" \
                "$(echo "$rss / 1024" | bc -l)" "$(echo "$rss / $count" | bc -l)" "$fds"
        done
    done
    rm -rf "$work"
    "$testbed" down >/dev/null
done
