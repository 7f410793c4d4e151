#!/bin/sh
# Kernel lane, guest side: runs as root inside the virtme-ng guest started by
# tests/kernel/run.sh (the host's / is shared read-only; only
# $SGSCRIPT_KERNEL_OUT is writable).
#
#   PYTHON=/path/to/venv/python SGSCRIPT_KERNEL_OUT=/abs/out sh guest.sh [pytest args...]
#
# Loads virtio_scsi, sd_mod, sg and scsi_debug, finds the two sg nodes by
# model, exports SGSCRIPT_SG_DEBUG / SGSCRIPT_SG_QEMU and runs
# `pytest tests/kernel` from the (read-only) repo. Exits with pytest's status;
# 125 if the guest could not be prepared (pytest never started).
# Files in $SGSCRIPT_KERNEL_OUT: guest.started (marker, written first),
# guest.log (everything below), pytest.log, pytest.rc, junit.xml.
set -eu

: "${SGSCRIPT_KERNEL_OUT:?SGSCRIPT_KERNEL_OUT must name the writable out dir}"
OUT=$SGSCRIPT_KERNEL_OUT
PYTHON=${PYTHON:-python3}
NODE_WAIT=${SGSCRIPT_KERNEL_NODE_WAIT:-30}   # seconds to wait for both sg nodes

# The marker tells the host that boot reached this script.
date '+%s' > "$OUT/guest.started"
# From here on everything goes to guest.log, which the host streams: the
# guest's console can drop its last lines when the VM powers off.
exec > "$OUT/guest.log" 2>&1

say() { echo "guest [uptime $(cut -d' ' -f1 /proc/uptime) s]: $*"; }
fail() { say "FAILED: $*"; exit 125; }

REPO=$(cd "$(dirname "$0")/../.." && pwd)
say "kernel $(uname -r), repo $REPO, python $PYTHON"

for m in virtio_scsi sd_mod sg; do
    modprobe "$m" || fail "modprobe $m"
done
if [ ! -d /sys/bus/pseudo/drivers/scsi_debug ]; then
    modprobe scsi_debug dev_size_mb=64 || fail "modprobe scsi_debug"
fi

uptime_s() { read -r up _ < /proc/uptime; echo "${up%.*}"; }

# Find an sg node by its model (numbering is not stable); prints /dev/sgN.
# Builtins only: every fork is slow under TCG.
node_by_model() {
    for d in /sys/class/scsi_generic/sg*; do
        # read trims the model's space padding
        read -r model 2>/dev/null < "$d/device/model" || continue
        if [ "$model" = "$1" ]; then
            echo "/dev/${d##*/}"
            return 0
        fi
    done
    return 1
}

deadline=$(( $(uptime_s) + NODE_WAIT ))
while :; do
    SGSCRIPT_SG_DEBUG=$(node_by_model scsi_debug) || SGSCRIPT_SG_DEBUG=
    SGSCRIPT_SG_QEMU=$(node_by_model "QEMU HARDDISK") || SGSCRIPT_SG_QEMU=
    [ -n "$SGSCRIPT_SG_DEBUG" ] && [ -n "$SGSCRIPT_SG_QEMU" ] && break
    if [ "$(uptime_s)" -ge "$deadline" ]; then
        for d in /sys/class/scsi_generic/sg*; do
            [ -e "$d" ] && say "seen: ${d##*/} $(cat "$d/device/model" 2>/dev/null || true)"
        done
        fail "sg nodes did not appear within ${NODE_WAIT}s (scsi_debug: ${SGSCRIPT_SG_DEBUG:-none}, QEMU HARDDISK: ${SGSCRIPT_SG_QEMU:-none})"
    fi
    sleep 0.2
done

# devtmpfs normally creates the nodes; make them if it did not.
for n in "$SGSCRIPT_SG_DEBUG" "$SGSCRIPT_SG_QEMU"; do
    if [ ! -c "$n" ]; then
        majmin=$(cat "/sys/class/scsi_generic/${n#/dev/}/dev")
        mknod "$n" c "${majmin%:*}" "${majmin#*:}" || fail "mknod $n"
        say "made $n ($majmin)"
    fi
done
say "scsi_debug=$SGSCRIPT_SG_DEBUG QEMU HARDDISK=$SGSCRIPT_SG_QEMU"
export SGSCRIPT_SG_DEBUG SGSCRIPT_SG_QEMU SGSCRIPT_KERNEL_OUT

# The repo is read-only here: no bytecode, no pytest cache, temp files in /tmp.
export PYTHONDONTWRITEBYTECODE=1
cd "$REPO"
rm -f "$OUT/pytest.rc"
say "running pytest"
{
    rc=0
    "$PYTHON" -m pytest -p no:cacheprovider tests/kernel \
        --junitxml="$OUT/junit.xml" "$@" || rc=$?
    echo "$rc" > "$OUT/pytest.rc"
} 2>&1 | tee "$OUT/pytest.log"
rc=$(cat "$OUT/pytest.rc")
say "pytest exit status $rc"
sync
exit "$rc"
