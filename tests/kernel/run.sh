#!/bin/bash
# Kernel lane: run tests/kernel inside a QEMU guest (virtme-ng, software
# emulation) that has the Linux sg driver, scsi_debug and a QEMU scsi-hd disk.
#
#   tests/kernel/run.sh [pytest args...]
#
# Environment:
#   PYTHON                         python with sgscript, pytest and virtme-ng (default python3);
#                                  the guest runs the same path (the host's / is shared)
#   SGSCRIPT_KERNEL_OUT            out dir (default $PWD/out/kernel): guest.log, pytest.log,
#                                  junit.xml, vng-N.log, disk.img
#   SGSCRIPT_KERNEL_IMAGE          kernel to boot (default: newest /boot/vmlinuz-*)
#   SGSCRIPT_KERNEL_TIMEOUT        bound on one boot + test run, seconds (default 1200)
#   SGSCRIPT_KERNEL_BOOT_TIMEOUT   bound on boot until the guest script starts (default 300)
#   SGSCRIPT_ISCSI_WAIT            bound on each step of the guest's two-initiator iSCSI rig,
#                                  seconds (default 60; see guest.sh)
#   SGSCRIPT_BENCH                 passed to the guest: `full` makes test_bench_kernel.py run the
#                                  full benchmark (benchmarks/kernel.sh sets it)
#   SGSCRIPT_LIBISCSI              passed to the guest: `full` makes test_libiscsi_kernel.py run
#                                  every SCSI test of iscsi-test-cu, not the CI slice
#                                  (differential.sh sets it); SGSCRIPT_LIBISCSI_TIMEOUT bounds
#                                  iscsi-test-cu per target (seconds, default 1800)
#
# The guest also builds a two-initiator rig (tgtd + two kernel iSCSI sessions,
# guest.sh) for the reservation tests; its set-up is in iscsi.log.
# A boot that never reaches the guest script is retried once. Exit status:
# pytest's own status when the tests ran (0 = passed); 124 when the tests
# timed out; 125 when the lane itself broke (no boot, guest set-up failed).
# Set-up on a fresh machine: tests/kernel/setup.sh (as root).
set -eu

here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)

die() { echo "kernel lane: FAILED: $1" >&2; exit "${2:-125}"; }
say() { echo "kernel lane: $*" >&2; }

total_timeout=${SGSCRIPT_KERNEL_TIMEOUT:-1200}
boot_timeout=${SGSCRIPT_KERNEL_BOOT_TIMEOUT:-300}
for v in "$total_timeout" "$boot_timeout"; do
    [[ $v =~ ^[1-9][0-9]*$ ]] || die "timeouts must be whole seconds, got '$v'"
done

# --- python and vng (vng calls virtme-run from the same install) -----------
PYTHON=${PYTHON:-python3}
py=$(command -v "$PYTHON") || die "python '$PYTHON' not found (set PYTHON)"
[[ $py == /* ]] || py=$PWD/$py
scripts=$("$py" -c 'import sysconfig; print(sysconfig.get_path("scripts"))') \
    || die "$py does not run"
PATH=$scripts:$PATH
command -v vng >/dev/null || die "vng not found next to $py (run tests/kernel/setup.sh)"
"$py" -c 'import pytest' 2>/dev/null || die "$py has no pytest"

# --- kernel -----------------------------------------------------------------
if [[ -n ${SGSCRIPT_KERNEL_IMAGE:-} ]]; then
    kernel=$SGSCRIPT_KERNEL_IMAGE
else
    kernel=$(printf '%s\n' /boot/vmlinuz-* | sort -V | tail -n 1)
fi
[[ -r $kernel ]] || die "no readable kernel image ($kernel; apt-get install linux-image-amd64)"
kver=${kernel##*/vmlinuz-}
[[ -d /lib/modules/$kver ]] || die "no modules for $kver in /lib/modules"

# --- out dir ----------------------------------------------------------------
out=${SGSCRIPT_KERNEL_OUT:-$PWD/out/kernel}
mkdir -p "$out" || die "cannot create $out"
out=$(cd "$out" && pwd -P)
# vng re-splits its arguments on blanks and QEMU's -drive splits on commas.
[[ $out =~ ^[A-Za-z0-9_./+-]+$ ]] \
    || die "out dir '$out' may hold only letters, digits and _ . / + - (set SGSCRIPT_KERNEL_OUT)"
exec 9>"$out/.lock"
flock -n 9 || die "another kernel lane run is using $out"

# iscsiadm keeps its records in /etc/iscsi: writable in the guest (a tmpfs
# overlay, fresh at each boot) for the two-initiator rig of guest.sh. Without
# open-iscsi there is no such directory; the rig then reports what is missing.
overlay=()
[[ -d /etc/iscsi ]] && overlay=(--overlay-rwdir=/etc/iscsi)

# The guest command, as a file so that any pytest arguments survive (the
# kernel command line that carries vng's --exec is short and re-quoted).
{
    printf 'exec env PYTHON=%q SGSCRIPT_KERNEL_OUT=%q' "$py" "$out"
    [[ -n ${SGSCRIPT_ISCSI_WAIT:-} ]] && printf ' SGSCRIPT_ISCSI_WAIT=%q' "$SGSCRIPT_ISCSI_WAIT"
    [[ -n ${SGSCRIPT_BENCH:-} ]] && printf ' SGSCRIPT_BENCH=%q' "$SGSCRIPT_BENCH"
    [[ -n ${SGSCRIPT_LIBISCSI:-} ]] && printf ' SGSCRIPT_LIBISCSI=%q' "$SGSCRIPT_LIBISCSI"
    [[ -n ${SGSCRIPT_LIBISCSI_TIMEOUT:-} ]] \
        && printf ' SGSCRIPT_LIBISCSI_TIMEOUT=%q' "$SGSCRIPT_LIBISCSI_TIMEOUT"
    printf ' sh %q' "$repo/tests/kernel/guest.sh"
    (($#)) && printf ' %q' "$@"
    printf '\n'
} > "$out/guest-cmd.sh"

now() { local t=${EPOCHREALTIME/[.,]/}; echo "$((t / 1000))"; }   # ms
secs() { printf '%d.%01d' "$(($1 / 1000))" "$(($1 % 1000 / 100))"; }

vpid=
cleanup() { [[ -n $vpid ]] && kill -TERM "$vpid" 2>/dev/null; return 0; }
trap cleanup EXIT
trap 'cleanup; die "interrupted" 130' INT TERM

# One boot. Sets: result (passed|tests-failed|tests-timeout|setup-failed|
# no-script|boot-timeout), rc, boot_ms, run_ms.
attempt() {
    local n=$1 vlog=$out/vng-$1.log t0 tpid mark state=booting
    rm -f "$out/guest.started" "$out/pytest.rc" "$out/pytest.log" "$out/junit.xml"
    : > "$out/guest.log"
    rm -f "$out/disk.img"
    truncate -s 64M "$out/disk.img"
    boot_ms=
    t0=$(now)
    say "attempt $n: booting $kernel (TCG, 2 CPUs, 1 GiB; bound ${total_timeout}s, boot bound ${boot_timeout}s)"
    # timeout puts itself and its children (vng, virtme-run, qemu) in their
    # own process group and signals the whole group.
    timeout -k 30 "$total_timeout" \
        vng --run "$kernel" --verbose --disable-kvm --memory 1G --cpus 2 --rwdir="$out" \
            --qemu-opts="-device virtio-scsi-pci,id=scsi0 -drive file=$out/disk.img,if=none,format=raw,id=qd0 -device scsi-hd,drive=qd0,bus=scsi0.0" \
            "${overlay[@]}" --exec="bash $out/guest-cmd.sh" \
        < /dev/null > "$vlog" 2>&1 &
    vpid=$!
    tail -n +1 -f --pid="$vpid" "$out/guest.log" &
    tpid=$!
    while kill -0 "$vpid" 2>/dev/null; do
        if [[ $state == booting ]]; then
            if [[ -e $out/guest.started ]]; then
                mark=$(stat -c %.3Y "$out/guest.started")   # host clock (9p)
                boot_ms=$(( ${mark/./} - t0 ))
                ((boot_ms > 0)) || boot_ms=$(( $(now) - t0 ))
                state=running
                say "guest script started $(secs "$boot_ms") s after boot began"
            elif (( $(now) - t0 > boot_timeout * 1000 )); then
                state=boot-timeout
                kill -TERM "$vpid" 2>/dev/null || true
            fi
        fi
        sleep 0.5
    done
    rc=0
    wait "$vpid" || rc=$?
    vpid=
    wait "$tpid" || true
    run_ms=$(( $(now) - t0 ))
    if [[ $state == boot-timeout ]]; then
        result=boot-timeout
    elif [[ ! -e $out/guest.started ]]; then
        if ((rc == 124 || rc == 137)); then result=boot-timeout; else result=no-script; fi
    elif [[ -s $out/pytest.rc ]]; then
        rc=$(< "$out/pytest.rc")
        if ((rc == 0)); then result=passed; else result=tests-failed; fi
    elif ((rc == 124 || rc == 137)); then
        result=tests-timeout
    else
        result=setup-failed
    fi
}

show_vng_log() {   # the guest console (vng --verbose): kernel messages, vng/QEMU errors
    if [[ -s $1 ]]; then
        say "last lines of $1:"
        tail -n 30 "$1" >&2 || true
    else
        say "$1 is empty"
    fi
}

rm -f "$out"/vng-*.log
t_start=$(now)
for n in 1 2; do
    attempt "$n"
    case $result in
        boot-timeout)
            why="boot did not reach the guest script within $((boot_timeout < total_timeout ? boot_timeout : total_timeout)) s" ;;
        no-script)
            why="boot never reached the guest script (vng exit $rc)" ;;
        *) break ;;
    esac
    show_vng_log "$out/vng-$n.log"
    if ((n == 1)); then
        say "attempt 1: $why; retrying once"
    else
        die "$why, twice (logs: $out/vng-1.log, $out/vng-2.log)" 125
    fi
done

# pytest may have been cut off mid-line
[[ -s $out/guest.log && -n $(tail -c 1 "$out/guest.log") ]] && echo
timing="boot $(secs "${boot_ms:-0}") s, guest run $(secs "$run_ms") s, total $(secs $(( $(now) - t_start ))) s"
case $result in
    passed)
        say "passed ($timing; junit: $out/junit.xml)"
        exit 0 ;;
    tests-failed)
        die "tests failed: pytest exit $rc ($timing; log: $out/pytest.log, junit: $out/junit.xml)" "$rc" ;;
    tests-timeout)
        if [[ -e $out/pytest.log ]]; then what=tests; else what="guest set-up (pytest never started)"; fi
        die "$what timed out: the whole run is bounded by ${total_timeout} s ($timing; log: $out/guest.log)" 124 ;;
    setup-failed)
        show_vng_log "$out/vng-$n.log"
        die "guest set-up failed before pytest ran (exit $rc): $(tail -n 1 "$out/guest.log") ($timing)" 125 ;;
esac
