#!/usr/bin/env bash
# Bytes sent and time to get a container image onto N docker hosts without
# a registry: drover's push (a registry served through a port forwarded
# over each host's SSH connection) against `docker save | ssh HOST docker
# load`, for a first push and for a second push of an image that differs
# only in its top layer.
#
# The image: a bottom layer of busybox and MEGABYTES of random (so
# incompressible) data, the same in both versions, and a small top layer
# that differs. The controller here runs no docker engine, so the baseline
# pipes the archive `docker save` would print (the same bytes) through
# OpenSSH. Hosts are full test hosts (systemd-nspawn, docker inside).
# Needs root.
#
#   bench/image-push.sh [HOSTS] [MEGABYTES]     default: 4 hosts, 64 MB
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
count=${1:-4}
megabytes=${2:-64}
cargo build --release -q -p drover -p drover-test-harness
drover=$root/target/release/drover
testbed=$root/target/release/testbed
export DROVER_TESTBED_STATE=/tmp/drover-bench-push
trap '"$testbed" down >/dev/null 2>&1 || true' EXIT
work=$(mktemp -d /tmp/drover-bench-push-XXXXXX)

# A `docker save` archive of drover/bench:VERSION.
image() {
    local version=$1 build=$work/build-$1
    rm -rf "$build" && mkdir -p "$build/root/bin" "$build/root/data" "$build/root/www" "$build/image"
    cp "$work/busybox" "$build/root/bin/busybox"
    for applet in sh httpd cat; do ln -s busybox "$build/root/bin/$applet"; done
    cp "$work/random" "$build/root/data/random"
    echo "bench v$version" > "$build/root/www/index.html"
    local layers=() ids=()
    for part in "bin data" "www"; do
        # shellcheck disable=SC2086
        tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$build/root" -cf "$build/layer.tar" $part
        local digest
        digest=$(sha256sum "$build/layer.tar" | cut -d' ' -f1)
        mkdir -p "$build/image/$digest" && mv "$build/layer.tar" "$build/image/$digest/layer.tar"
        layers+=("\"$digest/layer.tar\"") && ids+=("\"sha256:$digest\"")
    done
    local config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":[\"httpd\",\"-f\",\"-p\",\"8080\",\"-h\",\"/www\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[$(IFS=,; echo "${ids[*]}")]}}"
    printf '%s' "$config" > "$build/config.json"
    local config_digest
    config_digest=$(sha256sum "$build/config.json" | cut -d' ' -f1)
    mv "$build/config.json" "$build/image/$config_digest.json"
    printf '[{"Config":"%s.json","RepoTags":["drover/bench:%s"],"Layers":[%s]}]' \
        "$config_digest" "$version" "$(IFS=,; echo "${layers[*]}")" > "$build/image/manifest.json"
    (cd "$build/image" && tar -cf "$work/bench-v$version.tar" ./*)
    rm -rf "$build"
}

# The busybox the test harness caches, and the random bottom layer.
"$testbed" images "$work/app" >/dev/null
cp /var/cache/drover-testbed/busybox/bin/busybox "$work/busybox"
head -c "$((megabytes * 1024 * 1024))" /dev/urandom > "$work/random"
image 1 && image 2
size=$(stat -c %s "$work/bench-v1.tar")

directory=$("$testbed" up "$count" --kind full --engines)
inventory=$directory/hosts.ini
known=$directory/known_hosts
key=$directory/id_ed25519
hosts=$(awk '/ansible_host=/ { sub("ansible_host=", "", $2); print $2 }' "$inventory")
ssh_to() { ssh -i "$key" -o UserKnownHostsFile="$known" -o BatchMode=yes "drover-test@$1" "$2"; }
reset() { for host in $hosts; do ssh_to "$host" 'sudo docker rmi -f drover/bench:1 drover/bench:2 >/dev/null 2>&1; true'; done; }
seconds() { local start end; start=$(date +%s.%N); "$@" >"$work/log" 2>&1 || { echo "FAILED: $*" >&2; tail -20 "$work/log" >&2; exit 1; }; end=$(date +%s.%N); echo "$end - $start" | bc; }
baseline() {
    for host in $hosts; do
        ssh_to "$host" 'sudo docker load -q' < "$work/bench-v$1.tar" >/dev/null &
    done
    wait
}
cat > "$work/push.yml" <<'EOF'
- hosts: all
  gather_facts: no
  become: yes
  tasks:
    - name: push
      container_image:
        name: drover/bench:{{ version }}
        load_path: "{{ archive }}"
        runtime: docker
EOF
push() { "$drover" play "$work/push.yml" -i "$inventory" --known-hosts "$known" -f "$count" --output json -e "version=$1" -e "archive=$work/bench-v$1.tar" > "$work/push-$1.json"; }
sent() { grep -o '"bytes_sent":[0-9]*' "$work/push-$1.json" | cut -d: -f2 | paste -sd+ | bc; }

reset
b1=$(seconds baseline 1)
b2=$(seconds baseline 2)
reset
d1=$(seconds push 1)
d2=$(seconds push 2)
total=$((size * count))
printf 'image: %s bytes (a %s MB bottom layer, a small top layer); %s docker hosts\n' "$size" "$megabytes" "$count"
printf '%-34s %14s %9s\n' "" "bytes sent" "seconds"
printf '%-34s %14s %9.2f\n' "save | ssh load, first" "$total" "$b1"
printf '%-34s %14s %9.2f\n' "save | ssh load, top layer changed" "$total" "$b2"
printf '%-34s %14s %9.2f\n' "drover push, first" "$(sent 1)" "$d1"
printf '%-34s %14s %9.2f\n' "drover push, top layer changed" "$(sent 2)" "$d2"
printf 'second push: %s%% of the bytes of save | load\n' "$(echo "scale=3; 100 * $(sent 2) / $total" | bc)"
rm -rf "$work"
