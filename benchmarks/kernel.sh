#!/bin/bash
# The guest part of benchmarks/sgbench.py at full size, inside the kernel lane's
# QEMU guest: boots the lane (tests/kernel/run.sh) and runs only
# tests/kernel/test_bench_kernel.py with SGSCRIPT_BENCH=full, which measures
# scsi_debug (delay=0) and the QEMU disk side by side with fio, sg_dd, sg_turs and
# bare_sgio.py, three repetitions each, once the lane's iSCSI rig has settled.
#
#   PYTHON=$PWD/.venv/bin/python bash benchmarks/kernel.sh
#
# Writes bench.json and bench.txt (the table) to $SGSCRIPT_KERNEL_OUT (default
# out/bench), next to the lane's logs, and prints the table. Environment as for
# tests/kernel/run.sh; SGSCRIPT_BENCH=quick for the tiny smoke sizes;
# SGSCRIPT_KERNEL_TIMEOUT defaults to 3 hours here (software emulation is slow).
# `python benchmarks/sgbench.py --lane` runs the host part, then this, and merges them.
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/.." && pwd -P)
export SGSCRIPT_BENCH=${SGSCRIPT_BENCH:-full}
export SGSCRIPT_KERNEL_OUT=${SGSCRIPT_KERNEL_OUT:-$PWD/out/bench}
export SGSCRIPT_KERNEL_TIMEOUT=${SGSCRIPT_KERNEL_TIMEOUT:-10800}
rc=0
bash "$repo/tests/kernel/run.sh" -k test_bench_guest_part "$@" || rc=$?
if [[ -s $SGSCRIPT_KERNEL_OUT/bench.txt ]]; then
    cat "$SGSCRIPT_KERNEL_OUT/bench.txt"
fi
exit "$rc"
