#!/usr/bin/env bash
# Builds the root filesystem of the test "VPS" (Debian 12 with systemd, sshd
# and Docker Engine) once: DIR/rootfs.tar (the cached artifact) and DIR/root
# (extracted, the read-only lower layer every VPS mounts). tests/support/vps.ts
# calls it with DIR named by a hash of this script and the package list, so a
# changed recipe builds a new rootfs; concurrent callers wait on one lock.
#
#   build-vps-rootfs.sh DIR PACKAGE...
#
# Per-VPS state (host key, client key, addresses) is NOT baked in: the harness
# writes it into each VPS's own copy-on-write layer.
set -euo pipefail

# Unpacks the cached tarball into DIR/root; DIR/root.complete marks a finished copy.
extract() {
  rm -rf --one-file-system "${dir}/root" "${dir}/root.complete"
  mkdir -p "${dir}/root"
  tar --numeric-owner --xattrs --xattrs-include='*' -C "${dir}/root" -xf "${dir}/rootfs.tar"
  touch "${dir}/root.complete"
}

readonly SUITE=bookworm
MIRROR="$(bash "$(dirname "$0")/debian-mirror.sh")"
readonly MIRROR

[[ $# -ge 2 ]] || { echo "usage: $0 DIR PACKAGE..." >&2; exit 2; }
dir="$1"
shift
[[ $(id -u) -eq 0 ]] || { echo "build-vps-rootfs: needs root (debootstrap)" >&2; exit 1; }
mkdir -p "${dir}"
exec 9>"${dir}.lock"
flock 9
[[ -f "${dir}/root.complete" ]] && exit 0

out="${dir}/rootfs.tar"
if [[ -f "${out}" ]]; then
  extract
  exit 0
fi
work=$(mktemp -d "${out}.work.XXXXXX")
cleanup() {
  # debootstrap leaves /proc and /sys mounted when it fails half-way.
  for m in proc sys dev/pts dev; do umount "${work}/root/${m}" 2>/dev/null || true; done
  rm -rf --one-file-system "${work}"
}
trap cleanup EXIT

root="${work}/root"
packages=$(IFS=,; echo "$*")
debootstrap --variant=minbase --include="${packages}" "${SUITE}" "${root}" "${MIRROR}" >"${work}/debootstrap.log" 2>&1 \
  || { tail -n 30 "${work}/debootstrap.log" >&2; exit 1; }

# Each VPS gets its own host key from the harness (pinned by the client).
rm -f "${root}"/etc/ssh/ssh_host_*
cat >"${root}/etc/ssh/sshd_config.d/00-test-vps.conf" <<'CONF'
# Test VPS: key-only root login until the rendered baseline replaces sshd_config.
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
CONF

# No DNS server is reachable: lookups against loopback fail at once instead of timing out.
rm -f "${root}/etc/resolv.conf"
echo "nameserver 127.0.0.1" >"${root}/etc/resolv.conf"
: >"${root}/etc/machine-id"

# nspawn mounts the cgroup hierarchies and /proc/sys read-only; runc must create
# cgroups and dockerd must set net sysctls (route_localnet with userland-proxy
# off), so make those writable before anything else starts (a bind remount: a
# plain `remount,rw` reports "busy"). /proc/sys/net is not a mount point of its
# own: bind it onto itself first. Net sysctls belong to the VPS's own network
# namespace; the rest of /proc/sys (the machine's kernel) stays read-only.
cat >"${root}/usr/local/sbin/test-vps-writable-kernel-fs" <<'SH'
#!/bin/sh
status=0
for dir in /sys/fs/cgroup/*/; do
  mount -o remount,bind,rw "$dir" || { echo "test-vps: cannot make $dir writable" >&2; status=1; }
done
mount --bind /proc/sys/net /proc/sys/net && mount -o remount,bind,rw /proc/sys/net \
  || { echo "test-vps: cannot make /proc/sys/net writable" >&2; status=1; }
exit "$status"
SH
chmod 0755 "${root}/usr/local/sbin/test-vps-writable-kernel-fs"
cat >"${root}/etc/systemd/system/test-vps-writable-kernel-fs.service" <<'UNIT'
[Unit]
Description=Test VPS: writable cgroup and net sysctl mounts for Docker
DefaultDependencies=no
Before=sysinit.target docker.service containerd.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/test-vps-writable-kernel-fs
RemainAfterExit=yes

[Install]
WantedBy=sysinit.target
UNIT
ln -sf /etc/systemd/system/test-vps-writable-kernel-fs.service "${root}/etc/systemd/system/sysinit.target.wants/test-vps-writable-kernel-fs.service"

# Nothing here reaches a Debian mirror: keep apt's timers from spinning on it.
for timer in apt-daily.timer apt-daily-upgrade.timer; do
  ln -sf /dev/null "${root}/etc/systemd/system/${timer}"
done

tar --numeric-owner --xattrs --xattrs-include='*' -C "${root}" -cf "${out}.partial" .
mv "${out}.partial" "${out}"
echo "build-vps-rootfs: wrote ${out} ($(du -h "${out}" | cut -f1))"
extract
