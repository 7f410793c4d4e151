"""The benchmark's host part runs at tiny sizes and writes a complete JSON.

It keeps ``benchmarks/sgbench.py`` from rotting; it checks no speed (the figures
of a smoke run on a busy CI machine mean nothing). The guest part has its own
smoke test in the kernel lane (``tests/kernel/test_bench_kernel.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: Every row the host part must produce, in order.
HOST_ROWS = (
    "sim_tur_qd32",
    "sim_read_qd32",
    "sim_read_check",
    "sim_64_devices",
    "sim_log_commands",
    "startup_version",
    "startup_run",
    "startup_validate",
    "memory",
    "memory_logged",
)
#: Rows compared with a baseline of their own (a ratio, a cost or a difference).
WITH_PEER = {"sim_read_check", "sim_64_devices", "sim_log_commands", "memory", "memory_logged"}


def test_bench_host_part_writes_every_row(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "sgbench.py"), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    assert doc["meta"]["quick"] is True
    rows = {row["id"]: row for row in doc["rows"]}
    assert list(rows) == list(HOST_ROWS)
    for rid, row in rows.items():
        assert row["sgscript"]["median"] > 0, row
        assert row["checks"] and row["met"] in (True, False), row
        if rid in WITH_PEER:
            assert row["peer"]["median"] > 0, row
            assert row["ratio"] is not None, row
    assert "| work | sgscript | peer | ratio | goal | met? |" in proc.stdout
    for row in doc["rows"]:
        assert row["work"] in proc.stdout
