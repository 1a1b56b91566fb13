#!/usr/bin/env bash
# ARM64 (信创: Kunpeng, Phytium) smoke test under emulation: a Debian arm64 root built with debootstrap,
# run through qemu-user (binfmt_misc), the module installed there from the aarch64 offline kit, then
# parse-sr, init-demo, run, C-ECHO and C-STORE from inside the root, and the SR's measurements checked in
# the demo RIS report table.
#
#   sudo nice -n 10 deploy/check-arm64.sh [WORKDIR]      (default /var/tmp/ris-arm64; the root is reused)
#
# Needs root, Debian packages debootstrap and qemu-user-static, and binfmt_misc (mounted and registered
# here when missing). Environment: MIRROR (default: the first deb.debian.org-style URI of this machine's apt
# sources), SUITE (bookworm), PYVER (3.11, Debian bookworm's python3).
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
WORK="${1:-/var/tmp/ris-arm64}"
SUITE="${SUITE:-bookworm}"
PYVER="${PYVER:-3.11}"
ROOTFS="$WORK/root"
T0=$(date +%s)
stamp() { echo "[$(( $(date +%s) - T0 )) s] $*"; }

[ "$(id -u)" = 0 ] || { echo "check-arm64: needs root (debootstrap, chroot, binfmt_misc)" >&2; exit 2; }
for tool in debootstrap qemu-aarch64-static chroot; do
  command -v "$tool" >/dev/null || { echo "check-arm64: missing $tool (apt-get install debootstrap qemu-user-static)" >&2; exit 2; }
done
if [ -z "${MIRROR:-}" ]; then
  MIRROR=$(grep -rhoE '^(URIs:|deb) *https?://[^ ]+/debian/?( |$)' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
           | grep -oE 'https?://[^ ]+' | head -1 || true)
  MIRROR="${MIRROR:-http://deb.debian.org/debian}"
fi

# 1. binfmt_misc: aarch64 binaries run through qemu-aarch64-static ('F': the interpreter is opened now, so
#    the chroot needs no copy of it).
if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || { echo "check-arm64: cannot mount binfmt_misc (no privilege in this sandbox?)" >&2; exit 3; }
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  update-binfmts --enable qemu-aarch64 2>/dev/null || true
fi
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] \
  || { echo "check-arm64: qemu-aarch64 is not registered in binfmt_misc (update-binfmts --enable qemu-aarch64 failed)" >&2; exit 3; }
stamp "binfmt: $(head -1 /proc/sys/fs/binfmt_misc/qemu-aarch64), $(grep interpreter /proc/sys/fs/binfmt_misc/qemu-aarch64)"

# 2. The arm64 root (kept between runs: debootstrap under emulation is the slow part).
mkdir -p "$WORK"
if [ ! -e "$ROOTFS/.ris-ready" ]; then
  rm -rf "$ROOTFS"
  stamp "debootstrap $SUITE arm64 from $MIRROR"
  debootstrap --arch=arm64 --variant=minbase --include=python3,python3-venv "$SUITE" "$ROOTFS" "$MIRROR" \
    > "$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; exit 4; }
  touch "$ROOTFS/.ris-ready"
fi
stamp "root ready: $(chroot "$ROOTFS" /usr/bin/uname -m), $(chroot "$ROOTFS" /usr/bin/python3 --version)"

# 3. The aarch64 kit and a test SR for demo exam E0001 (accession A20261127001), made on the host.
KIT="$WORK/kit"
stamp "building the linux-aarch64 kit for Python $PYVER"
python3 "$HERE/deploy/build_kit.py" --target linux-aarch64 --python "$PYVER" --out "$KIT" > "$WORK/kit.log" 2>&1 \
  || { tail -20 "$WORK/kit.log" >&2; exit 5; }
(cd "$HERE" && python3 - "$KIT/echo-E0001.dcm" <<'EOF'
import sys
from pathlib import Path
from tests.sr_fixtures.build import save
from tests.sr_fixtures.cases import adult_echo_full
ds = adult_echo_full()
ds.AccessionNumber, ds.PatientID = "A20261127001", "P000123"  # demo exam E0001 (ris_ai_module/demo.py)
save(ds, Path(sys.argv[1]))
EOF
)
rm -rf "$ROOTFS/opt/kit" "$ROOTFS/opt/ris"
cp -r "$KIT" "$ROOTFS/opt/kit"
cp "$HERE/deploy/arm64-smoke-inside.sh" "$ROOTFS/opt/kit/"

# 4. The smoke inside the root (its own /proc and /dev; network namespace shared: loopback only).
cleanup() { umount "$ROOTFS/proc" 2>/dev/null || true; umount "$ROOTFS/dev" 2>/dev/null || true; }
trap cleanup EXIT
mount -t proc proc "$ROOTFS/proc"
mount --bind /dev "$ROOTFS/dev"
stamp "smoke inside the arm64 root"
chroot "$ROOTFS" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root LANG=C.UTF-8 PYVER="$PYVER" \
  /bin/bash /opt/kit/arm64-smoke-inside.sh
stamp "ARM64 smoke passed"
