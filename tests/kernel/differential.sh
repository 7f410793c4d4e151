#!/bin/sh
# The full differential against libiscsi's iscsi-test-cu (on demand; CI runs a slice):
# boots the kernel lane's guest, runs every SCSI test of iscsi-test-cu and its counterpart
# scenarios on scsi_debug, QEMU's scsi-hd and tgtd, and writes the table to
# docs/differential.md (raw tables: $SGSCRIPT_KERNEL_OUT/libiscsi-*.json, the peer's
# output: $SGSCRIPT_KERNEL_OUT/libiscsi/).
#
#   PYTHON=.venv/bin/python tests/kernel/differential.sh      (~30 min under TCG)
#
# Exit status: the lane's (0 = every difference explained).
set -u
here=$(cd "$(dirname "$0")" && pwd -P)
repo=$(cd "$here/../.." && pwd -P)
out=${SGSCRIPT_KERNEL_OUT:-$repo/out/differential}
export SGSCRIPT_KERNEL_OUT=$out SGSCRIPT_LIBISCSI=full
export SGSCRIPT_KERNEL_TIMEOUT=${SGSCRIPT_KERNEL_TIMEOUT:-5400}
rm -f "$out"/libiscsi-*.json
rc=0
bash "$here/run.sh" -k libiscsi_differential || rc=$?
set -- "$out"/libiscsi-*.json
if [ -e "$1" ]; then
    ${PYTHON:-python3} "$here/libiscsi.py" "$@" > "$repo/docs/differential.md" \
        && echo "differential.sh: wrote docs/differential.md from $*"
else
    echo "differential.sh: no tables were written (see $out/pytest.log)" >&2
    [ "$rc" -ne 0 ] || rc=125
fi
exit "$rc"
