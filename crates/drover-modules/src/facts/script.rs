//! The shell script that gathers facts: `key=value` lines from core
//! utilities, `/proc` and `/sys`, each fragment guarded so that a host
//! without a tool simply lacks its facts. The environment comes last.

/// What every subset needs (Ansible's `min`): platform, distribution,
/// package and service managers, user, date and time, DNS, security
/// modules, SSH host keys, systemd, LSB, Python (when the host has one)
/// and virtualization.
pub(super) const MINIMUM: &str = r#"
kv() { printf '%s=%s\n' "$1" "$2"; }
kv hostname "$(hostname 2>/dev/null || uname -n)"
kv fqdn "$(hostname -f 2>/dev/null || hostname 2>/dev/null || uname -n)"
kv kernel "$(uname -r)"
kv kernel_version "$(uname -v)"
kv architecture "$(uname -m)"
kv system "$(uname -s)"
kv userspace_bits "$(getconf LONG_BIT 2>/dev/null)"
kv user_id "$(id -un)"
kv user_uid "$(id -u)"
kv user_gid "$(id -g)"
kv real_user_id "$(id -ru)"
kv real_group_id "$(id -rg)"
kv user_dir "$HOME"
getent passwd "$(id -un)" 2>/dev/null | awk -F: '{print "user_gecos="$5; print "user_shell="$7}'
kv machine_id "$(cat /etc/machine-id 2>/dev/null)"
kv date_time "$(date '+%Y-%m-%d %H:%M:%S %Z %z %A %w %W %s %N')"
kv tz_dst "$(date -d 2000-07-01 +%Z 2>/dev/null)"
if [ -r /etc/os-release ]; then
  ( . /etc/os-release; kv os_id "$ID"; kv os_like "$ID_LIKE"; kv os_version "$VERSION_ID"; kv os_codename "$VERSION_CODENAME"; kv os_name "$NAME" )
fi
[ -r /etc/debian_version ] && kv debian_version "$(cat /etc/debian_version)"
for m in apt-get dnf yum zypper apk pacman; do command -v $m >/dev/null 2>&1 && { kv pkg_mgr $m; break; }; done
if [ -d /run/systemd/system ]; then kv service_mgr systemd; else kv service_mgr "$(cat /proc/1/comm 2>/dev/null || echo service)"; fi
awk '$1=="nameserver"{print "nameserver="$2} $1=="search"{for(i=2;i<=NF;i++) print "search="$i} $1=="domain"{print "dns_domain="$2} $1=="options"{for(i=2;i<=NF;i++) print "dns_option="$i}' /etc/resolv.conf 2>/dev/null
kv cmdline "$(cat /proc/cmdline 2>/dev/null)"
[ -d /sys/kernel/security/apparmor ] && kv apparmor enabled
kv fips "$(cat /proc/sys/crypto/fips_enabled 2>/dev/null)"
for f in /lib/*/libselinux.so.1 /usr/lib/*/libselinux.so.1 /lib64/libselinux.so.1 /usr/lib64/libselinux.so.1; do
  [ -e "$f" ] && { kv libselinux "$f"; break; }
done
if [ -r /sys/fs/selinux/enforce ]; then
  kv selinux_enforce "$(cat /sys/fs/selinux/enforce)"
  kv selinux_policyvers "$(cat /sys/fs/selinux/policyvers 2>/dev/null)"
  awk -F= '/^SELINUX=/{print "selinux_config="$2} /^SELINUXTYPE=/{print "selinux_type="$2}' /etc/selinux/config 2>/dev/null
fi
for f in /etc/ssh/ssh_host_*_key.pub; do [ -r "$f" ] && read -r t k _ < "$f" && kv ssh_key "${f##*/} $t $k"; done
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  systemctl --version 2>/dev/null | awk 'NR==1{print "systemd_version="$2} NR==2{print "systemd_features="$0}'
fi
command -v capsh >/dev/null 2>&1 && capsh --print 2>/dev/null | awk '/^Current:/{sub(/^Current: */,""); print "capabilities="$0}'
if command -v lsb_release >/dev/null 2>&1; then
  lsb_release -a 2>/dev/null | awk -F':[ \t]*' '/^Distributor ID/{print "lsb_id="$2} /^Description/{print "lsb_description="$2} /^Release/{print "lsb_release="$2} /^Codename/{print "lsb_codename="$2}'
elif [ -r /etc/lsb-release ]; then
  awk -F= '/^DISTRIB_ID/{print "lsb_id="$2} /^DISTRIB_DESCRIPTION/{gsub(/"/,"",$2); print "lsb_description="$2} /^DISTRIB_RELEASE/{print "lsb_release="$2} /^DISTRIB_CODENAME/{print "lsb_codename="$2}' /etc/lsb-release
fi
if [ -r /proc/1/root/. ] && [ -r / ]; then
  [ "$(stat -c %d:%i / 2>/dev/null)" = "$(stat -c %d:%i /proc/1/root/. 2>/dev/null)" ] && kv is_chroot false || kv is_chroot true
fi
grep -qE '/docker(/|-[0-9a-f]+\.scope)' /proc/1/cgroup 2>/dev/null && kv guest docker
grep -qE '/lxc/|/machine.slice/machine-lxc' /proc/1/cgroup 2>/dev/null && kv guest lxc
grep -q '/system.slice/containerd.service' /proc/1/cgroup 2>/dev/null && kv guest containerd
tr '\0' '\n' < /proc/1/environ 2>/dev/null | awk -F= '$1=="container" && $2!=""{if($2=="lxc"||$2=="podman")print "guest="$2; print "guest=container"}'
[ -d /proc/vz ] && [ ! -d /proc/lve ] && { [ -d /proc/bc ] && kv host_tech openvz || kv guest openvz; }
[ -r /run/systemd/container ] && kv guest "$(cat /run/systemd/container)"
for f in /etc/ansible/facts.d/*.fact; do
  [ -f "$f" ] || continue
  n=${f##*/}; n=${n%.fact}
  if [ -x "$f" ]; then c=$("$f" 2>/dev/null); else c=$(cat "$f" 2>/dev/null); fi
  kv local_fact "$n $(printf '%s' "$c" | base64 | tr -d '\n')"
done
p=$(command -v python3 || command -v python) && "$p" -c '
import sys
v = sys.version_info
try:
    import ssl
    s = hasattr(ssl, "SSLContext")
except Exception:
    s = False
print("python=%s %d %d %d %s %d %s %s" % (sys.executable, v[0], v[1], v[2], v[3], v[4], sys.implementation.name, s))
' 2>/dev/null
"#;

/// Addresses, interfaces, routes (Ansible's `network`): each interface
/// from `/sys/class/net` (`-` for what it lacks), addresses and routes
/// from `ip`.
pub(super) const NETWORK: &str = r#"
r() { v=$(cat "$1" 2>/dev/null); printf '%s' "${v:--}"; }
for d in /sys/class/net/*; do
  [ -e "$d" ] || continue
  kind=-; [ -d "$d/bridge" ] && kind=bridge; [ -d "$d/bonding" ] && kind=bonding
  kv interface "${d##*/} $(r "$d/type") $(r "$d/mtu") $(r "$d/flags") $(r "$d/address") $kind $(r "$d/speed")"
done
if command -v ip >/dev/null 2>&1; then
  ip -4 route show default 2>/dev/null | awk '{for(i=1;i<NF;i++){if($i=="via")print "gateway="$(i+1); if($i=="dev")print "default_interface="$(i+1)}; exit}'
  ip -6 route show default 2>/dev/null | awk '{for(i=1;i<NF;i++){if($i=="via")print "gateway6="$(i+1); if($i=="dev")print "default_interface6="$(i+1)}; exit}'
  ip -4 -o addr show 2>/dev/null | awk '{split($4,a,"/"); b="-"; for(i=5;i<NF;i++) if($i=="brd") b=$(i+1); print "ipv4="$2" "a[1]" "a[2]" "b}'
  ip -6 -o addr show 2>/dev/null | awk '{split($4,a,"/"); s="-"; for(i=5;i<NF;i++) if($i=="scope") s=$(i+1); print "ipv6="$2" "a[1]" "a[2]" "s}'
  ip -4 route show table local 2>/dev/null | awk '$1=="local"{print "local4="$2}'
  ip -6 route show table local 2>/dev/null | awk '$1=="local"{print "local6="$2}'
fi
"#;

/// Memory, processors, DMI, load and mounts (Ansible's `hardware`).
pub(super) const HARDWARE: &str = r#"
awk '/^MemTotal:/{print "memtotal_kb="$2} /^MemFree:/{print "memfree_kb="$2} /^Buffers:/{print "buffers_kb="$2} /^Cached:/{print "cached_kb="$2} /^SwapTotal:/{print "swaptotal_kb="$2} /^SwapFree:/{print "swapfree_kb="$2} /^SwapCached:/{print "swapcached_kb="$2}' /proc/meminfo 2>/dev/null
kv processor_vcpus "$(getconf _NPROCESSORS_ONLN 2>/dev/null || grep -c ^processor /proc/cpuinfo)"
kv processor_nproc "$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null)"
kv processor_count "$(grep '^physical id' /proc/cpuinfo 2>/dev/null | sort -u | wc -l)"
awk -F'[ \t]*:[ \t]*' '$1=="processor"||$1=="vendor_id"||$1=="model name"{print "cpu="$2} $1=="cpu cores"&&!c{c=1; print "processor_cores="$2} $1=="siblings"&&!s{s=1; print "siblings="$2} $1=="flags"&&!f{f=1; print "flags="$2}' /proc/cpuinfo 2>/dev/null
kv uptime_seconds "$(cut -d. -f1 /proc/uptime 2>/dev/null)"
kv loadavg "$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
for k in bios_date bios_vendor bios_version board_asset_tag board_name board_serial board_vendor board_version chassis_asset_tag chassis_serial chassis_vendor chassis_version chassis_type product_name product_serial product_uuid product_version sys_vendor; do
  v=$(cat /sys/devices/virtual/dmi/id/$k 2>/dev/null) && kv "dmi_$k" "$v"
done
for l in /dev/disk/by-uuid/*; do [ -e "$l" ] && kv uuid "$(readlink -f "$l") ${l##*/}"; done
for kind in id label uuid; do
  for l in /dev/disk/by-$kind/*; do [ -e "$l" ] && kv device_link "${kind}s $(basename "$(readlink -f "$l")") ${l##*/}"; done
done
for h in /sys/block/*/holders/*; do [ -e "$h" ] && { d=${h%/holders/*}; kv device_link "masters ${d##*/} ${h##*/}"; }; done
command -v findmnt >/dev/null 2>&1 && findmnt --list --noheadings --notruncate 2>/dev/null | awk '$2 ~ /\[/{print "bind="$1}'
kv hostnqn "$(cat /etc/nvme/hostnqn 2>/dev/null)"
kv iscsi_iqn "$(awk -F= '/^InitiatorName=/{print $2}' /etc/iscsi/initiatorname.iscsi 2>/dev/null)"
for f in /sys/class/fc_host/*/port_name; do [ -r "$f" ] && kv fibre_channel_wwn "$(sed 's/^0x//' "$f")"; done
command -v vgs >/dev/null 2>&1 || kv lvm N/A
while read -r dev mnt fstype opts dump passno; do
  case "$dev" in /*|\\*|*:/*) ;; *) continue ;; esac
  [ "$fstype" = none ] && continue
  kv mount "$dev $mnt $fstype $opts $dump $passno $(stat -f -c '%s %S %b %f %a %c %d' "$(printf '%b' "$mnt")" 2>/dev/null)"
done < /proc/mounts
"#;

/// The environment comes last, after this marker: for each variable a
/// `NAME LENGTH` line, then its value (values may hold newlines, and the
/// NUL bytes `env -0` would use do not survive the shell's command
/// substitution). `LC_ALL=C` makes awk count bytes; the caller's own
/// `LC_ALL` is reported before it.
pub(super) const ENVIRONMENT: &str = r#"
echo "__drover_lc_all__=${LC_ALL-__unset__}"
echo __drover_env__
LC_ALL=C awk 'BEGIN { for (name in ENVIRON) if (name != "LC_ALL") printf "%s %d\n%s\n", name, length(ENVIRON[name]), ENVIRON[name] }'
"#;
