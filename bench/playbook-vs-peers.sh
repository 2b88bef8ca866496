#!/usr/bin/env bash
# Times the 10-task playbook (bench/playbook/bench.yml) on N loopback sshd
# hosts, first and second run, for drover, Ansible and pyinfra, against the
# floor: a bare russh client (bench/floor) running all ten steps as one exec
# per host, all at once; and the same steps through the OpenSSH client.
# Needs root (sshd on 127.x.y.z:22) and `scripts/setup-oracles`.
#
#   bench/playbook-vs-peers.sh [HOSTS...]      default: 20
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
counts=("${@:-20}")
cargo build --release -q -p drover -p drover-test-harness -p drover-floor
./scripts/setup-oracles >/dev/null
drover=$root/target/release/drover
testbed=$root/target/release/testbed
export DROVER_TESTBED_STATE=/tmp/drover-bench-playbook
trap '"$testbed" down >/dev/null 2>&1 || true' EXIT
# shellcheck source=bench/peers.sh
. "$root/bench/peers.sh"

printf '%-6s %-10s %9s %9s %12s %15s %15s\n' hosts tool first_s second_s "first/floor" "vs drover(1st)" "vs drover(2nd)"
for count in "${counts[@]}"; do
    directory=$("$testbed" up "$count")
    inventory=$directory/hosts.ini
    known=$directory/known_hosts
    key=$directory/id_ed25519
    user=$(cat "$directory/user")
    work=$(mktemp -d /tmp/drover-bench-XXXXXX)
    chmod 777 "$work"
    mkdir -p "$work"/{drover,ansible,pyinfra,floor} && chmod 777 "$work"/*
    cd "$root/bench/playbook"

    d1=$(seconds "$drover" play bench.yml -i "$inventory" --known-hosts "$known" -f "$count" -e "base_dir=$work/drover")
    d2=$(seconds "$drover" play bench.yml -i "$inventory" --known-hosts "$known" -f "$count" -e "base_dir=$work/drover")

    ansible_environment "$count" "$known"
    a1=$(seconds "$root/.venv/bin/ansible-playbook" bench.yml -i "$inventory" -e "base_dir=$work/ansible")
    a2=$(seconds "$root/.venv/bin/ansible-playbook" bench.yml -i "$inventory" -e "base_dir=$work/ansible")

    pyinventory=$work/inventory.py
    pyinfra_inventory "$inventory" > "$pyinventory"
    pyargs=(--data "ssh_user=$user" --data "ssh_key=$key" --data "ssh_known_hosts_file=$known" --data "base_dir=$work/pyinfra" --parallel "$count" -y)
    p1=$(seconds "$root/.venv/bin/pyinfra" "$pyinventory" deploy.py "${pyargs[@]}")
    p2=$(seconds "$root/.venv/bin/pyinfra" "$pyinventory" deploy.py "${pyargs[@]}")

    addresses=$work/addresses
    sed -n 's/.*ansible_host=\([^ ]*\).*/\1/p' "$inventory" > "$addresses"
    # The floor's ten steps, the playbook's as one shell script.
    floor_script=$root/bench/playbook/floor.sh
    floor() { xargs -P "$count" -I{} sh -c "ssh -i '$key' -o BatchMode=yes -o UserKnownHostsFile='$known' '$user@{}' sh -s -- '$work/floor/{}' < '$floor_script'" < "$addresses"; }
    f1=$(seconds floor)
    f2=$(seconds floor)
    # The floor proper: a bare russh client, one exec per host running all
    # ten steps (the host's address names its directory).
    mkdir -p "$work/russh" && chmod 777 "$work/russh"
    hosts_file=$work/floor-hosts
    sed -n 's/.*ansible_host=\([^ ]*\) ansible_port=\([^ ]*\) ansible_user=\([^ ]*\).*/\1 \2 \3/p' "$inventory" > "$hosts_file"
    russh_command="set -- \$SSH_CONNECTION; set -- '$work/russh/'\$3; $(cat "$floor_script")"
    r1=$(seconds "$root/target/release/floor" "$hosts_file" "$key" "$russh_command")
    r2=$(seconds "$root/target/release/floor" "$hosts_file" "$key" "$russh_command")

    row() { printf '%-6s %-10s %9.2f %9.2f %12.2f %15.1f %15.1f\n' "$count" "$1" "$2" "$3" "$(echo "$2 / $r1" | bc -l)" "$(echo "$2 / $d1" | bc -l)" "$(echo "$3 / $d2" | bc -l)"; }
    row drover "$d1" "$d2"; row ansible "$a1" "$a2"; row pyinfra "$p1" "$p2"; row floor "$r1" "$r2"; row openssh "$f1" "$f2"

    # The files drover leaves are the files Ansible leaves (content and mode; not the stamp's time).
    compare_files "$work/drover" "$work/ansible"
    cd "$root"
    "$testbed" down >/dev/null
    rm -rf "$work"
done
