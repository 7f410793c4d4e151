"""The benchmark's guest part runs on the real sg driver and writes a complete JSON.

By default tiny sizes, one repetition, scsi_debug only: it keeps
``benchmarks/sgbench.py`` from rotting and checks no speed. With
``SGSCRIPT_BENCH=full`` (``benchmarks/kernel.sh``) the same test runs the full
guest part on scsi_debug and the QEMU disk, after the lane's iSCSI rig has
settled, and leaves ``bench.json`` and ``bench.txt`` (the table) in the lane's
out dir. scsi_debug answers with ``delay=0`` meanwhile, as the goals are measured:
the figure is then the tool's own cost, not a jiffy per command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.kernel, pytest.mark.slow]  # ~1 min under emulation, even at tiny sizes

ROOT = Path(__file__).resolve().parents[2]
#: Every row the guest part must produce for each node, in order.
GUEST_ROWS = (
    "read_qd1_fio",
    "read_qd1_bare",
    "read_qd16",
    "read_qd32",
    "read_qd64",
    "cpu_qd1",
    "cpu_qd16",
    "cpu_qd32",
    "cpu_qd64",
    "latency_qd1_p50",
    "latency_qd1_p99",
    "seq_64k",
    "tur_bare",
    "tur_sg_turs",
    "channel_tur",
)


def _wait_for_rig(timeout: float = 600.0) -> None:
    """A full run starts once the rig's background set-up (tgtd, iscsid) is done: less noise."""
    rig = os.environ.get("SGSCRIPT_ISCSI_RIG")
    deadline = time.monotonic() + timeout
    while rig and not Path(rig).exists() and time.monotonic() < deadline:
        time.sleep(0.5)


def test_bench_guest_part(
    sg_debug: str, sg_qemu: str, kernel_out: Path, scsi_debug_params: Any
) -> None:
    full = os.environ.get("SGSCRIPT_BENCH") == "full"
    scsi_debug_params.set(delay=0)
    nodes = {"scsi_debug": sg_debug, **({"qemu": sg_qemu} if full else {})}
    if full:
        _wait_for_rig()
    out = kernel_out / "bench.json"
    out.unlink(missing_ok=True)
    argv = [sys.executable, str(ROOT / "benchmarks" / "sgbench.py"), "--no-host"]
    argv += ["--json", str(out)] + ([] if full else ["--quick"])
    for label, path in nodes.items():
        argv += ["--sg", f"{label}={path}"]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=6 * 3600 if full else 600)
    (kernel_out / "bench.txt").write_text(proc.stdout + proc.stderr)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stderr[-3000:]

    doc = json.loads(out.read_text())
    assert [row["id"] for row in doc["rows"]] == [f"{n}.{r}" for n in nodes for r in GUEST_ROWS]
    for row in doc["rows"]:
        assert row["missing"] is None, (row["id"], row["missing"])
        for key in ("sgscript", "peer", "ratio"):
            assert row[key] is not None and row[key]["median"] > 0, (row["id"], key, row[key])
            assert all(v > 0 for v in row[key]["values"]), (row["id"], key, row[key])
        assert row["met"] in ((True, False) if row["checks"] else (None,)), row
