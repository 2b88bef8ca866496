#!/usr/bin/env bash
# Issue 18's benchmark: the 10-task playbook (bench/playbook/bench.yml) and
# an ad-hoc command on N loopback sshd hosts reached through bench/delay, a
# proxy that adds a round-trip time (this kernel has no netem), for drover,
# pyinfra, Ansible, the floor (a bare russh client, one exec per host) and
# `xargs -P ssh`, all in the same run. One table; times in seconds, and
# drover's flights (round trips after connecting) per host, from its
# `drover_ssh::flight` trace.
# Needs root (sshd on 127.x.y.z) and `scripts/setup-oracles`.
#
#   bench/latency.sh [--rtt "0 50 150"] [--hosts "20 100"] [--no-ansible]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
rtts="0 50 150"
counts="20 100"
with_ansible=1
while [ $# -gt 0 ]; do
    case $1 in
        --rtt) rtts=$2; shift 2 ;;
        --hosts) counts=$2; shift 2 ;;
        --no-ansible) with_ansible=0; shift ;;
        *) echo "usage: $0 [--rtt \"0 50 150\"] [--hosts \"20 100\"] [--no-ansible]" >&2; exit 2 ;;
    esac
done
cargo build --release -q -p drover -p drover-test-harness -p drover-floor -p drover-delay
./scripts/setup-oracles >/dev/null
drover=$root/target/release/drover
testbed=$root/target/release/testbed
export DROVER_TESTBED_STATE=/tmp/drover-bench-latency
proxy_pid=
stop() { [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null; "$testbed" down >/dev/null 2>&1 || true; }
trap stop EXIT
# shellcheck source=bench/peers.sh
. "$root/bench/peers.sh"
# Flights per host in the last run's trace.
flights() { echo "$(grep -c ' flight .*wait_ms=' /tmp/drover-bench.log) / $1" | bc -l; }
export DROVER_LOG=drover_ssh::flight=debug NO_COLOR=1

printf '%-6s %-5s %-9s %8s %8s %10s %s\n' hosts rtt tool first second "÷ floor" "flights/host"
for count in $counts; do
    directory=$("$testbed" up "$count")
    user=$(cat "$directory/user")
    key=$directory/id_ed25519
    for rtt in $rtts; do
        work=$(mktemp -d /tmp/drover-bench-XXXXXX)
        chmod 777 "$work"
        mkdir -p "$work"/{drover,ansible,pyinfra,russh} && chmod 777 "$work"/*
        inventory=$work/hosts.ini
        known=$work/known_hosts
        # Through the proxy, each host is its address at port 2222; without
        # delay, the host itself.
        if [ "$rtt" = 0 ]; then
            cp "$directory/hosts.ini" "$inventory"
            cp "$directory/known_hosts" "$known"
        else
            pairs=$(sed -n 's/.*ansible_host=\([^ ]*\) ansible_port=\([^ ]*\).*/\1:2222=\1:\2/p' "$directory/hosts.ini")
            # shellcheck disable=SC2086
            "$root/target/release/delay-proxy" --rtt-ms "$rtt" $pairs &
            proxy_pid=$!
            sleep 0.5
            sed 's/ansible_port=[^ ]*/ansible_port=2222/' "$directory/hosts.ini" > "$inventory"
            awk '{ a = $1; sub(/^\[/, "", a); sub(/\]:.*/, "", a); printf "[%s]:2222", a; for (i = 2; i <= NF; i++) printf " %s", $i; print "" }' \
                "$directory/known_hosts" > "$known"
        fi
        port=$(sed -n 's/.*ansible_port=\([^ ]*\).*/\1/p' "$inventory" | head -1)
        addresses=$work/addresses
        sed -n 's/.*ansible_host=\([^ ]*\).*/\1/p' "$inventory" > "$addresses"
        cd "$root/bench/playbook"

        d1=$(seconds "$drover" play bench.yml -i "$inventory" --known-hosts "$known" -f "$count" -e "base_dir=$work/drover")
        f1=$(flights "$count")
        d2=$(seconds "$drover" play bench.yml -i "$inventory" --known-hosts "$known" -f "$count" -e "base_dir=$work/drover")
        f2=$(flights "$count")

        pyinventory=$work/inventory.py
        pyinfra_inventory "$inventory" "$port" > "$pyinventory"
        pyargs=(--data "ssh_user=$user" --data "ssh_key=$key" --data "ssh_known_hosts_file=$known" --data "base_dir=$work/pyinfra" --parallel "$count" -y)
        p1=$(seconds "$root/.venv/bin/pyinfra" "$pyinventory" deploy.py "${pyargs[@]}")
        p2=$(seconds "$root/.venv/bin/pyinfra" "$pyinventory" deploy.py "${pyargs[@]}")

        a1=-1 a2=-1
        if [ "$with_ansible" = 1 ]; then
            ansible_environment "$count" "$known"
            a1=$(seconds "$root/.venv/bin/ansible-playbook" bench.yml -i "$inventory" -e "base_dir=$work/ansible")
            a2=$(seconds "$root/.venv/bin/ansible-playbook" bench.yml -i "$inventory" -e "base_dir=$work/ansible")
        fi

        # The floor: the same ten steps as one exec per host, all at once.
        hosts_file=$work/floor-hosts
        sed -n 's/.*ansible_host=\([^ ]*\) ansible_port=\([^ ]*\) ansible_user=\([^ ]*\).*/\1 \2 \3/p' "$inventory" > "$hosts_file"
        floor_command="set -- \$SSH_CONNECTION; set -- '$work/russh/'\$3; $(cat "$root/bench/playbook/floor.sh")"
        r1=$(seconds "$root/target/release/floor" "$hosts_file" "$key" "$floor_command")
        r2=$(seconds "$root/target/release/floor" "$hosts_file" "$key" "$floor_command")

        # Ad hoc: `uptime` on every host, drover against parallel OpenSSH.
        h1=$(seconds "$drover" run all -i "$inventory" --known-hosts "$known" -f "$count" -- uptime)
        x1=$(seconds sh -c "xargs -P '$count' -I{} ssh -p '$port' -i '$key' -o BatchMode=yes -o UserKnownHostsFile='$known' '$user@{}' uptime < '$addresses'")

        row() { printf '%-6s %-5s %-9s %8.2f %8.2f %10s %s\n' "$count" "$rtt" "$1" "$2" "$3" "$(printf '%.2f / %.2f' "$(echo "$2 / $r1" | bc -l)" "$(echo "$3 / $r2" | bc -l)")" "${4:-}"; }
        row drover "$d1" "$d2" "$(printf '%.0f / %.0f' "$f1" "$f2")"; row floor "$r1" "$r2"; row pyinfra "$p1" "$p2"
        if [ "$with_ansible" = 1 ]; then
            row ansible "$a1" "$a2"
            compare_files "$work/drover" "$work/ansible"
        fi
        printf '%-6s %-5s %-9s %8.2f %8s %10s\n' "$count" "$rtt" "ad hoc" "$h1" "-" "$(printf 'xargs ssh %.2f' "$x1")"
        cd "$root"
        [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null || true
        proxy_pid=
        rm -rf "$work"
    done
    "$testbed" down >/dev/null
done
