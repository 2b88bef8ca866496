#!/usr/bin/env bash
# Times `drover run all -- uptime` against the OpenSSH client run in
# parallel (`xargs -P N ssh HOST uptime`) on the same N loopback sshd hosts,
# and reports drover's peak memory. Needs root (sshd on 127.x.y.z:22).
#
#   bench/run-vs-openssh.sh [HOSTS...]      default: 20 100
set -euo pipefail
cd "$(dirname "$0")/.."
counts=("${@:-20 100}")
read -r -a counts <<< "${counts[*]}"
runs=${RUNS:-5}

cargo build --release -q -p drover -p drover-test-harness
drover=target/release/drover
testbed=target/release/testbed
export DROVER_TESTBED_STATE=${DROVER_TESTBED_STATE:-/tmp/drover-bench-testbed}
trap '"$testbed" down >/dev/null 2>&1 || true' EXIT

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
seconds() { local start end; start=$(date +%s.%N); "$@" >/dev/null 2>&1 || true; end=$(date +%s.%N); echo "$end - $start" | bc; }

printf '%-6s %12s %14s %8s %12s %14s\n' hosts drover_s openssh_s ratio peak_rss_MB rss_per_host_KB
for count in "${counts[@]}"; do
    directory=$("$testbed" up "$count")
    inventory=$directory/hosts.ini
    known_hosts=$directory/known_hosts
    key=$directory/id_ed25519
    user=$(cat "$directory/user")
    addresses=$directory/addresses
    sed -n 's/.*ansible_host=\([^ ]*\).*/\1/p' "$inventory" > "$addresses"
    # Warm up both (page cache, sshd's first fork).
    "$drover" run all -i "$inventory" --known-hosts "$known_hosts" -f "$count" -- uptime >/dev/null
    drover_times=$(for _ in $(seq "$runs"); do
        seconds "$drover" run all -i "$inventory" --known-hosts "$known_hosts" -f "$count" -- uptime
    done | median)
    ssh_times=$(for _ in $(seq "$runs"); do
        seconds sh -c "xargs -P '$count' -I{} ssh -i '$key' -o BatchMode=yes -o UserKnownHostsFile='$known_hosts' '$user@{}' uptime < '$addresses'"
    done | median)
    rss_kb=$( { /usr/bin/time -f '%M' "$drover" run all -i "$inventory" --known-hosts "$known_hosts" -f "$count" -- uptime >/dev/null; } 2>&1 | tail -n 1)
    printf '%-6s %12.3f %14.3f %8.2f %12.1f %14.0f\n' "$count" "$drover_times" "$ssh_times" \
        "$(echo "$drover_times / $ssh_times" | bc -l)" "$(echo "$rss_kb / 1024" | bc -l)" "$(echo "$rss_kb / $count" | bc -l)"
    "$testbed" down >/dev/null
done
