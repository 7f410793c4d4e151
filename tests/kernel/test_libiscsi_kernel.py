"""The differential against libiscsi's iscsi-test-cu, on the lane's three real targets.

Per target, iscsi-test-cu (``libiscsi-bin``) runs the selected tests, then the
counterpart scenarios of ``specs/`` run the same tests through sgscript:
scsi_debug and QEMU's scsi-hd through their sg nodes (both tools), tgtd over
iSCSI (iscsi-test-cu with its own initiator and two initiator names;
sgscript through the two kernel iSCSI sessions of the rig). Every test must
agree, or be listed in ``libiscsi_known.DIFFERENCES`` with who is right per the
standard; a listed difference that stops happening fails too.

CI runs ``libiscsi_known.SLICE``; ``SGSCRIPT_LIBISCSI=full`` runs every SCSI
test (``tests/kernel/differential.sh`` does, and writes docs/differential.md).
Each target's table goes to the lane's out dir as ``libiscsi-TARGET.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import _need
from libiscsi import CuTarget, Row, compare, run_counterparts, run_cu
from libiscsi_known import DIFFERENCES, FIXED, SKIP_FILES, SLICE, not_run
from sequences import PR_RESET, run_steps

from sgscript import Channel
from sgscript.coverage import all_tests

pytestmark = pytest.mark.kernel

SPECS = Path(__file__).resolve().parents[2] / "specs"
SEED = 5150
IQN = "iqn.2026-11.sgscript"
#: iscsi-test-cu's bound per target: the full run takes minutes under TCG.
TIMEOUT = float(os.environ.get("SGSCRIPT_LIBISCSI_TIMEOUT") or 1800)


def _selection() -> list[str]:
    if os.environ.get("SGSCRIPT_LIBISCSI") == "full":
        return all_tests(scsi_only=True)
    return list(SLICE)


def _clear_reservations(a: str, b: str) -> None:
    """Leave no reservation or registration on the tgtd LU (either tool may have left one)."""
    with Channel.open(a) as ca, Channel.open(b) as cb:
        run_steps(PR_RESET, {"a": ca, "b": cb})


@pytest.mark.parametrize("target", ["scsi_debug", "qemu", "tgtd"])
def test_libiscsi_differential(
    target: str, request: pytest.FixtureRequest, kernel_out: Path
) -> None:
    if target == "tgtd":
        nodes: tuple[str, ...] = request.getfixturevalue("iscsi_pair")
        url = f"iscsi://127.0.0.1/{IQN}:t1/1"
        peer = CuTarget(target, url, (f"{IQN}:cu-a", f"{IQN}:cu-b"), second_path=url)
        _clear_reservations(*nodes)
    else:
        nodes = (_need(target),)
        peer = CuTarget(target, nodes[0])
    selection = _selection()
    tests = [t for t in selection if not_run(target, t) is None]
    assert tests, "no test selected (SGSCRIPT_LIBISCSI=full, or libiscsi_known.SLICE)"
    workdir = kernel_out / "libiscsi"
    workdir.mkdir(exist_ok=True)

    theirs, cu_secs = run_cu(peer, tests, workdir, TIMEOUT)
    if target == "tgtd":
        _clear_reservations(*nodes)
    ours, our_secs = run_counterparts(
        SPECS,
        tests,
        nodes,
        seed=SEED,
        skip_files=SKIP_FILES.get(target),
        record=workdir / f"sgscript-{target}.jsonl",
    )
    if target == "tgtd":
        _clear_reservations(*nodes)

    known = {(d.target, d.test): d for d in DIFFERENCES}
    rows = compare(target, theirs, ours, known, FIXED)
    rows += [
        Row(target, t, ("not run", why), ("not run", why), "not run")
        for t in selection
        if (why := not_run(target, t)) is not None
    ]
    record = {
        "target": target,
        "selection": "full" if len(selection) > len(SLICE) else "slice",
        "seconds": {"libiscsi": round(cu_secs, 1), "sgscript": round(our_secs, 1)},
        "rows": [r.to_dict() for r in rows],
    }
    (kernel_out / f"libiscsi-{target}.json").write_text(json.dumps(record, indent=1) + "\n")
    # listed differences for tests this run did not select are not judged
    problems = [r for r in rows if r.kind in ("unexplained", "stale")]
    assert not problems, f"{len(problems)} of {len(rows)} tests on {target}:\n" + "\n".join(
        f"  {r.test}: libiscsi {r.libiscsi[0]} ({r.libiscsi[1]}) / sgscript {r.sgscript[0]} "
        f"({r.sgscript[1]}){' - ' + r.why if r.why else ''}"
        for r in problems
    )
