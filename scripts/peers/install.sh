#!/usr/bin/env bash
# Installs what the real-peer tests need (docs/peers.md), idempotently:
#   - DPDK 22.11 testpmd and the PMDs they load (virtio-user front-end, vhost back-end, mempool, null),
#   - QEMU (TCG) and a busybox-static,
#   - a Debian 6.1 kernel fetched with `apt-get download` (the newest linux-image-6.1.0-N-amd64 that
#     apt-cache knows; nothing is installed into /boot), unpacked to vmlinuz + the 8 virtio modules,
#   - a busybox initramfs whose /init loads the modules, brings eth0 up, sends DHCPDISCOVER
#     broadcasts, prints eth0's counters on one `VU-STATS:` line and powers off.
# Everything it builds goes to the cache directory ($VDPA_KIT_PEERS_DIR, default <repo>/.peers), with
# manifest.json describing it for the test harness (apps/cli/test/peers/).
#
# Exit codes: 0 ready; 77 cannot be done here (reason on stderr: not root while packages are
# missing, no apt); anything else is a failure. The tests turn 77 into "skipped: <reason>", or into a
# failure under CI=true.
set -euo pipefail

readonly EXIT_SKIP=77
readonly ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
readonly OUT="${VDPA_KIT_PEERS_DIR:-$ROOT/.peers}"
readonly PACKAGES=(dpdk-dev librte-net-vhost23 librte-net-virtio23 librte-mempool-ring23 librte-net-null23
  qemu-system-x86 busybox-static)
# Load order matters: virtio.ko needs virtio_ring, virtio_net needs net_failover needs failover.
readonly MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover
  virtio_net)
# Bump when the initramfs recipe below changes, so an existing cache is rebuilt.
readonly RECIPE=1

start=$(date +%s)
log() { echo "peers: $*" >&2; }
skip() {
  log "skipped: $*"
  exit "$EXIT_SKIP"
}
die() {
  log "error: $*"
  exit 1
}

command -v apt-get >/dev/null && command -v dpkg-query >/dev/null || skip "not a Debian machine (no apt-get)"

updated=0
apt_update() {
  if [ "$updated" = 0 ]; then
    log "apt-get update"
    apt-get update -qq >&2
    updated=1
  fi
}

# 1. Debian packages.
missing=()
for p in "${PACKAGES[@]}"; do
  [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" = "install ok installed" ] || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || skip "not root and ${#missing[@]} packages are missing (${missing[*]}): run 'sudo $0'"
  apt_update
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
testpmd="$(command -v dpdk-testpmd)" || die "dpdk-testpmd not found after installing dpdk-dev"
qemu="$(command -v qemu-system-x86_64)" || die "qemu-system-x86_64 not found after installing qemu-system-x86"
busybox=/bin/busybox
[ -x "$busybox" ] || die "$busybox not found after installing busybox-static"
pmds="$(dirname "$(dpkg-query -L librte-net-vhost23 | grep -m1 '/pmds-[0-9.]*/')")"
[ -d "$pmds" ] || pmds="$(dpkg-query -L librte-net-vhost23 | grep -m1 '/pmds-[0-9.]*$' || true)"

# 2. The kernel: the newest linux-image-6.1.0-N-amd64 apt knows (not the -unsigned or -dbg ones).
newest_kernel() {
  apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' | awk '{print $1}' | sort -V | tail -n 1
}
kpkg="$(newest_kernel)"
if [ -z "$kpkg" ] && [ "$(id -u)" = 0 ]; then
  apt_update
  kpkg="$(newest_kernel)"
fi
[ -n "$kpkg" ] || skip "apt-cache knows no linux-image-6.1.0-*-amd64 (run 'apt-get update' as root)"
kver="${kpkg#linux-image-}"

manifest="$OUT/manifest.json"
if [ -f "$manifest" ] && grep -q "\"kernelPackage\": \"$kpkg\"" "$manifest" &&
  grep -q "\"recipe\": $RECIPE," "$manifest" && [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initrd.cpio.gz" ]; then
  log "ready (cached) in $(($(date +%s) - start))s: $manifest"
  exit 0
fi

mkdir -p "$OUT"
work="$(mktemp -d "$OUT/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
download() {
  (cd "$work" && apt-get download -qq -o APT::Sandbox::User=root "$kpkg" >&2)
}
log "apt-get download $kpkg"
if ! download; then
  # A stale package list names a version the mirror no longer has: refresh once and pick again.
  [ "$(id -u)" = 0 ] || skip "apt-get download $kpkg failed and only root can run 'apt-get update'"
  apt_update
  kpkg="$(newest_kernel)"
  kver="${kpkg#linux-image-}"
  download || die "apt-get download $kpkg failed"
fi
deb="$(ls "$work"/"$kpkg"_*.deb)"
# Unpack only vmlinuz and the modules the guest loads.
patterns=("./boot/vmlinuz-$kver")
for m in "${MODULES[@]}"; do patterns+=("*/$m.ko" "*/$m.ko.xz" "*/$m.ko.zst"); done
mkdir -p "$work/deb"
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$work/deb" --wildcards "${patterns[@]}" 2>/dev/null || true
[ -f "$work/deb/boot/vmlinuz-$kver" ] || die "no boot/vmlinuz-$kver in $deb"

# 3. The initramfs.
rd="$work/rd"
mkdir -p "$rd/bin" "$rd/dev" "$rd/proc" "$rd/sys" "$rd/tmp" "$rd/lib/modules"
cp "$busybox" "$rd/bin/busybox"
for m in "${MODULES[@]}"; do
  f="$(find "$work/deb/lib/modules/$kver" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -n 1)"
  [ -n "$f" ] || die "module $m not found in $deb"
  case "$f" in
    *.xz) xz -dc "$f" >"$rd/lib/modules/$m.ko" ;;
    *.zst) zstd -qdc "$f" >"$rd/lib/modules/$m.ko" ;;
    *) cp "$f" "$rd/lib/modules/$m.ko" ;;
  esac
done
cat >"$rd/init" <<'INIT'
#!/bin/busybox sh
# PID 1 of the peer-test guest. Kernel command line: vu.count=N DHCPDISCOVER broadcasts (default 5).
# Every line meant for the harness starts with "VU-"; the counters are on the one "VU-STATS:" line.
/bin/busybox mount -t devtmpfs devtmpfs /dev
exec 0</dev/console 1>/dev/console 2>&1
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
arg() {
  for w in $(cat /proc/cmdline); do
    case "$w" in "$1="*) echo "${w#*=}"; return ;; esac
  done
  echo "$2"
}
uptime() { cut -d' ' -f1 /proc/uptime; }
finish() {
  echo "VU-DONE: uptime=$(uptime)"
  sync
  poweroff -f
}
count=$(arg vu.count 5)
echo "VU-INIT: uptime=$(uptime) loading virtio modules"
for m in MODULES_HERE; do
  insmod /lib/modules/$m.ko || echo "VU-ERROR: insmod $m failed"
done
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if [ ! -e /sys/class/net/eth0 ]; then
  echo "VU-ERROR: no eth0"
  finish
fi
drv=$(basename "$(readlink /sys/class/net/eth0/device/driver)")
echo "VU-INIT: eth0 driver=$drv mac=$(cat /sys/class/net/eth0/address) features=$(cat /sys/class/net/eth0/device/features)"
ip link set eth0 up
i=0
while [ "$(cat /sys/class/net/eth0/operstate)" != up ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
echo "VU-INIT: link $(cat /sys/class/net/eth0/operstate) uptime=$(uptime)"
# DHCPDISCOVER is an L2 broadcast: the only frames the guest sends. No lease is expected.
udhcpc -i eth0 -t "$count" -T 1 -n -q -s /bin/true >/dev/null 2>&1
sleep 1
line="VU-STATS: iface=eth0"
for f in rx_packets tx_packets rx_bytes tx_bytes rx_dropped tx_dropped rx_errors tx_errors; do
  line="$line $f=$(cat /sys/class/net/eth0/statistics/$f)"
done
echo "$line"
finish
INIT
sed -i "s/MODULES_HERE/${MODULES[*]}/" "$rd/init"
chmod 755 "$rd/init"
(cd "$rd" && find . | "$busybox" cpio -o -H newc 2>/dev/null) | gzip -9 >"$work/initrd.cpio.gz"

mv -f "$work/deb/boot/vmlinuz-$kver" "$OUT/vmlinuz"
mv -f "$work/initrd.cpio.gz" "$OUT/initrd.cpio.gz"
cat >"$manifest" <<JSON
{
  "recipe": $RECIPE,
  "kernelPackage": "$kpkg",
  "kernel": "$OUT/vmlinuz",
  "initrd": "$OUT/initrd.cpio.gz",
  "testpmd": "$testpmd",
  "qemu": "$qemu",
  "pmdDir": "$pmds",
  "dpdkVersion": "$(dpkg-query -W -f='${Version}' dpdk-dev)",
  "qemuVersion": "$(dpkg-query -W -f='${Version}' qemu-system-x86)"
}
JSON
log "ready in $(($(date +%s) - start))s: $kpkg, $(basename "$testpmd") $(dpkg-query -W -f='${Version}' dpdk-dev), $(basename "$qemu") $(dpkg-query -W -f='${Version}' qemu-system-x86)"
