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
#
# Meanwhile, in the background, it builds the two-initiator rig: tgtd (a
# userspace iSCSI target on 127.0.0.1, one LUN on a sparse file) and the
# kernel's iSCSI initiator logged in twice, as host-a and host-b: two sg nodes
# on one logical unit over two I_T nexuses. It writes the outcome to
# $SGSCRIPT_ISCSI_RIG (SGSCRIPT_ISCSI_A=/dev/sgN, SGSCRIPT_ISCSI_B=/dev/sgM, or
# SGSCRIPT_ISCSI_ERROR=why), which conftest.py waits for: a rig that does not
# come up fails the reservation tests and leaves the others running.
# (Needs run.sh's --overlay-rwdir=/etc/iscsi: iscsiadm keeps its records there.)
#
# Files in $SGSCRIPT_KERNEL_OUT: guest.started (marker, written first),
# guest.log (everything below), pytest.log, pytest.rc, junit.xml,
# iscsi.rig, iscsi.log (the rig's set-up), lun.img (the tgtd LUN).
set -eu

: "${SGSCRIPT_KERNEL_OUT:?SGSCRIPT_KERNEL_OUT must name the writable out dir}"
OUT=$SGSCRIPT_KERNEL_OUT
PYTHON=${PYTHON:-python3}
NODE_WAIT=${SGSCRIPT_KERNEL_NODE_WAIT:-30}   # seconds to wait for both sg nodes
ISCSI_WAIT=${SGSCRIPT_ISCSI_WAIT:-60}         # seconds for each step of the iSCSI rig

case $ISCSI_WAIT in
    '' | *[!0-9]*) echo "SGSCRIPT_ISCSI_WAIT must be whole seconds, got '$ISCSI_WAIT'" >&2; exit 125 ;;
esac

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
    # lbpu/lbpws/lbpws10: thin provisioning (UNMAP, WRITE SAME with UNMAP), which
    # the differential test compares with the simulated disk.
    modprobe scsi_debug dev_size_mb=64 lbpu=1 lbpws=1 lbpws10=1 || fail "modprobe scsi_debug"
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

# --- the two-initiator rig, built in the background while pytest starts -------
SGSCRIPT_ISCSI_RIG=$OUT/iscsi.rig
export SGSCRIPT_ISCSI_RIG SGSCRIPT_ISCSI_WAIT="$ISCSI_WAIT"
IQN=iqn.2026-11.sgscript

# Run "$@" until it succeeds, for at most ISCSI_WAIT seconds.
retry() {
    end=$(( $(uptime_s) + ISCSI_WAIT ))
    until "$@"; do
        [ "$(uptime_s)" -lt "$end" ] || return 1
        sleep 0.2
    done
}

# The sg nodes of the tgtd disk, as "A B" by initiator name (host-a, host-b).
iscsi_nodes() {
    a=''
    b=''
    for d in /sys/class/scsi_generic/sg*; do
        read -r model 2>/dev/null < "$d/device/model" || continue
        [ "$model" = VIRTUAL-DISK ] || continue
        # .../hostH/sessionS/targetH:0:0/H:0:0:1: the session names the initiator
        path=$(readlink -f "$d/device") || continue
        sid=${path#*/session}
        sid=${sid%%/*}
        read -r name < "/sys/class/iscsi_session/session$sid/initiatorname" || continue
        case $name in
            "$IQN:host-a") a=/dev/${d##*/} ;;
            "$IQN:host-b") b=/dev/${d##*/} ;;
        esac
    done
    [ -n "$a" ] && [ -n "$b" ] && echo "$a $b"
}

iscsi_rig() {
    rig_fail() {
        say "iSCSI rig FAILED: $*"
        iscsiadm -m session -P3 || true   # what the initiator had, for the log
        echo "SGSCRIPT_ISCSI_ERROR=$* (log: $OUT/iscsi.log)" > "$SGSCRIPT_ISCSI_RIG.tmp"
        mv "$SGSCRIPT_ISCSI_RIG.tmp" "$SGSCRIPT_ISCSI_RIG"
        exit 1
    }
    # Whatever stops this early (set -e), conftest.py gets a report, not a long wait.
    trap '[ -e "$SGSCRIPT_ISCSI_RIG" ] || rig_fail "set-up stopped unexpectedly"' EXIT
    say "iSCSI rig: starting"
    for t in tgtd tgtadm iscsid iscsiadm; do
        command -v $t >/dev/null || rig_fail "$t not installed (tests/kernel/setup.sh: tgt, open-iscsi)"
    done
    modprobe iscsi_tcp || rig_fail "modprobe iscsi_tcp"
    mkdir -p /run/lock || rig_fail "cannot create /run/lock (tgtd needs it)"
    rm -f "$OUT/lun.img"
    truncate -s 64M "$OUT/lun.img" || rig_fail "cannot create $OUT/lun.img"
    tgtd || rig_fail "tgtd did not start"
    retry tgtadm --lld iscsi --op show --mode target > /dev/null \
        || rig_fail "tgtd did not answer tgtadm within ${ISCSI_WAIT}s"
    tgtadm --lld iscsi --op new --mode target --tid 1 -T "$IQN:t1" || rig_fail "tgtadm: new target"
    tgtadm --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -b "$OUT/lun.img" \
        || rig_fail "tgtadm: new logical unit on $OUT/lun.img"
    tgtadm --lld iscsi --op bind --mode target --tid 1 -I ALL || rig_fail "tgtadm: bind"
    echo "InitiatorName=$IQN:default" > /etc/iscsi/initiatorname.iscsi \
        || rig_fail "/etc/iscsi is not writable (run.sh passes --overlay-rwdir=/etc/iscsi)"
    iscsid || rig_fail "iscsid did not start"
    for n in a b; do
        iscsiadm -m iface -I "if$n" --op=new > /dev/null || rig_fail "iscsiadm: new iface if$n"
        iscsiadm -m iface -I "if$n" --op=update -n iface.initiatorname -v "$IQN:host-$n" \
            > /dev/null || rig_fail "iscsiadm: initiator name of if$n"
    done
    retry timeout "$ISCSI_WAIT" iscsiadm -m discovery -t st -p 127.0.0.1 -I ifa -I ifb \
        || rig_fail "iscsiadm: discovery on 127.0.0.1 failed for ${ISCSI_WAIT}s"
    timeout "$ISCSI_WAIT" iscsiadm -m node -L all || rig_fail "iscsiadm: login (host-a, host-b)"
    retry iscsi_nodes > /dev/null \
        || rig_fail "no VIRTUAL-DISK sg node per initiator within ${ISCSI_WAIT}s of login"
    # shellcheck disable=SC2046 # two words: the A and B nodes
    set -- $(iscsi_nodes)
    for n in "$@"; do
        if [ ! -c "$n" ]; then
            majmin=$(cat "/sys/class/scsi_generic/${n#/dev/}/dev") || rig_fail "no dev for $n"
            mknod "$n" c "${majmin%:*}" "${majmin#*:}" || rig_fail "mknod $n"
        fi
    done
    printf 'SGSCRIPT_ISCSI_A=%s\nSGSCRIPT_ISCSI_B=%s\n' "$1" "$2" > "$SGSCRIPT_ISCSI_RIG.tmp"
    mv "$SGSCRIPT_ISCSI_RIG.tmp" "$SGSCRIPT_ISCSI_RIG"
    say "iSCSI rig up: host-a=$1 host-b=$2"
}

rm -f "$SGSCRIPT_ISCSI_RIG" "$SGSCRIPT_ISCSI_RIG.tmp"
( iscsi_rig ) > "$OUT/iscsi.log" 2>&1 < /dev/null &

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
say "iSCSI rig: $(tail -n 1 "$OUT/iscsi.log" 2>/dev/null)"
say "pytest exit status $rc"
sync
exit "$rc"
