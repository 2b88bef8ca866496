# What the playbook benchmarks (playbook-vs-peers.sh, latency.sh) share,
# sourced by each: timing a command, and running pyinfra and Ansible the
# same way in both.

# Seconds `COMMAND...` took; its output goes to /tmp/drover-bench.log,
# shown when it fails.
seconds() {
    local start end
    start=$(date +%s.%N)
    "$@" >/tmp/drover-bench.log 2>&1 || { echo "FAILED: $*" >&2; tail -20 /tmp/drover-bench.log >&2; }
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

# pyinfra's inventory for the test bed's INVENTORY, each host at PORT if given.
pyinfra_inventory() {
    local port=""
    [ -n "${2:-}" ] && port=", \"ssh_port\": $2"
    echo "hosts = ["
    sed -n "s/^\([^ ]*\) ansible_host=\([^ ]*\) .*/    (\"\1\", {\"ssh_hostname\": \"\2\"$port}),/p" "$1"
    echo "]"
}

# Ansible at its fastest for COUNT hosts with KNOWN_HOSTS: pipelining, one
# persistent OpenSSH connection per host, COUNT forks.
ansible_environment() {
    export ANSIBLE_PIPELINING=True ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_FORKS=$1
    export ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=$2"
    export ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3 ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_REMOTE_TMP=/tmp/.ansible-remote-tmp
}

# Each file under DIRECTORY with its mode and content, sorted: what a run
# left (not the stamp, whose time differs).
files_left() {
    (cd "$1" && find . -type f ! -name stamp -exec sh -c 'printf "%s %s " "$1" "$(stat -c %a "$1")"; cat "$1"' _ {} \; | sort)
}

# Says whether drover (in OURS) and Ansible (in THEIRS) left the same files.
compare_files() {
    if diff <(files_left "$1") <(files_left "$2") >/dev/null; then
        echo "files left by drover and Ansible: identical"
    else
        echo "files left by drover and Ansible: DIFFERENT"
        diff <(files_left "$1") <(files_left "$2") | head -20
    fi
}
