#!/bin/sh
# Install what the kernel lane (tests/kernel/run.sh) needs, on Debian 12, as root.
# Idempotent: apt runs only when a package is missing, pip only when virtme-ng is.
#
#   PYTHON=/path/to/.venv/bin/python tests/kernel/setup.sh     (default PYTHON: python3)
set -eu

PYTHON=${PYTHON:-python3}
PKGS="qemu-system-x86 linux-image-amd64 busybox-static sg3-utils fio tgt open-iscsi libiscsi-bin"

die() { echo "tests/kernel/setup.sh: FAILED: $*" >&2; exit 1; }
say() { echo "tests/kernel/setup.sh: $*"; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it installs apt packages)"
command -v apt-get >/dev/null 2>&1 || die "needs apt-get (made for Debian 12)"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing=
for p in $PKGS; do
    installed "$p" || missing="$missing $p"
done
# The system python may lack pip (or be absent on a minimal image).
if ! "$PYTHON" -m pip --version >/dev/null 2>&1; then
    case $PYTHON in
        python3 | /usr/bin/python3) missing="$missing python3 python3-pip" ;;
        *) die "$PYTHON cannot run pip (is it a python with pip?)" ;;
    esac
fi

if [ -n "$missing" ]; then
    say "apt-get install$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || die "apt-get update"
    # shellcheck disable=SC2086 # word splitting wanted
    apt-get install -y -qq $missing >/dev/null || die "apt-get install$missing"
else
    say "apt packages present"
fi

scripts=$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))') \
    || die "$PYTHON does not run"
if "$PYTHON" -c 'import virtme_ng' 2>/dev/null && [ -x "$scripts/vng" ] && [ -x "$scripts/virtme-run" ]; then
    say "virtme-ng present"
else
    # Debian's own python is "externally managed" (PEP 668): pip must be told.
    brk=
    if "$PYTHON" -c 'import os, sys, sysconfig
sys.exit(not (sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))))'; then
        brk=--break-system-packages
    fi
    say "pip install virtme-ng into $PYTHON"
    # shellcheck disable=SC2086 # $brk is empty or one flag
    "$PYTHON" -m pip install -q $brk 'virtme-ng>=1.20' || die "pip install virtme-ng"
fi

# Check what run.sh will rely on.
kernel=$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n 1)
[ -r "$kernel" ] || die "no kernel in /boot (linux-image-amd64)"
kver=${kernel##*/vmlinuz-}
for m in scsi_debug sg virtio_scsi sd_mod iscsi_tcp; do
    modinfo -k "$kver" "$m" >/dev/null 2>&1 || die "kernel $kver has no module $m"
done
PATH=$scripts:$PATH "$scripts/vng" --version >/dev/null 2>&1 || die "$scripts/vng does not run"
[ -x "$scripts/virtme-run" ] || die "virtme-run missing next to vng in $scripts"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing"
# The two-initiator rig of guest.sh: tgtd and the kernel's iSCSI initiator.
for t in tgtd tgtadm iscsid iscsiadm; do
    command -v "$t" >/dev/null || die "$t missing (tgt, open-iscsi)"
done
[ -d /etc/iscsi ] || die "/etc/iscsi missing (open-iscsi); run.sh overlays it for the guest"
# The peer of the differential (test_libiscsi_kernel.py): libiscsi's conformance suite.
command -v iscsi-test-cu >/dev/null || die "iscsi-test-cu missing (libiscsi-bin)"
command -v stdbuf >/dev/null || die "stdbuf missing (coreutils)"
say "ready: kernel $kver, $("$scripts/vng" --version), $(qemu-system-x86_64 --version | head -n 1)"
