"""Never a false pass, never a hang, records that tell the truth — on the real sg driver.

- a scsi_debug device deleted through sysfs mid-soak under ``expect: any``
  exits 3 promptly, with a complete JSON Lines log and JUnit file;
- a 32 MiB READ the driver refuses is a clear one-line error, not a hang;
- scsi_debug's injected timeout, medium error and recovered error are each
  reported as themselves.

The deletion happens on a scsi_debug host added for the test (``add_host``)
and removed after it, so the lane's own scsi_debug disk is untouched; the
fault parameters are restored by the ``scsi_debug_params`` fixture.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import SDEBUG_DIR, ScsiDebugParams

# scsi_debug's opts bits (drivers/scsi/scsi_debug.c)
OPT_MEDIUM_ERR = 0x2  # READs touching LBAs 0x1234..0x123d: MEDIUM ERROR, 11h/00h
OPT_RECOVERED_ERR = 0x8  # with every_nth: READ/WRITE get RECOVERED ERROR (5Dh/00h)
OPT_MAC_TIMEOUT = 0x80  # with every_nth: medium access commands are ignored (time out)
MEDIUM_ERR_LBA = 0x1234
ROOT = Path(__file__).resolve().parents[2]
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
}


def _sg_nodes() -> dict[str, str]:
    """sgN -> H:C:T:L of every scsi_debug sg node now."""
    out = {}
    for entry in Path("/sys/class/scsi_generic").iterdir():
        device = entry / "device"
        try:
            if (device / "model").read_text().strip() != "scsi_debug":
                continue
        except OSError:
            continue
        out[entry.name] = device.resolve().name
    return out


def _write(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


@pytest.fixture
def doomed_sg(sg_debug: str) -> Iterator[tuple[str, str]]:
    """(/dev/sgN, H:C:T:L) of a scsi_debug disk on a host of its own, removed afterwards."""
    before = _sg_nodes()
    _write(SDEBUG_DIR / "add_host", "1")
    try:
        deadline = time.monotonic() + 20
        while True:
            new = {k: v for k, v in _sg_nodes().items() if k not in before}
            if new and Path(f"/dev/{next(iter(new))}").exists():
                break
            if time.monotonic() > deadline:
                pytest.fail("the added scsi_debug host brought no sg node within 20 s")
            time.sleep(0.1)
        name, hctl = next(iter(new.items()))
        yield f"/dev/{name}", hctl
    finally:
        _write(SDEBUG_DIR / "add_host", "-1")  # removes the host added last: ours


def _spec(tmp_path: Path, text: str) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text('sgscript: 1\nname: truth\ndevices: {a: "sim:placeholder"}\n' + text)
    return str(path)


def _run(argv: list[str], timeout: float = 120) -> tuple[subprocess.CompletedProcess[str], float]:
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "sgscript", "run", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )
    return proc, time.monotonic() - t0


def _records(log: Path) -> list[dict[str, Any]]:
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records[0]["type"] == "run" and records[-1]["type"] == "end"
    return records


def test_a_device_deleted_mid_run_under_expect_any_exits_3_promptly(
    tmp_path: Path, doomed_sg: tuple[str, str]
) -> None:
    node, hctl = doomed_sg
    spec = _spec(
        tmp_path,
        "steps:\n"
        "  - {name: soak, device: a, command: TestUnitReady, repeat: 100000000,"
        " queue_depth: 4, expect: any}\n"
        "finally:\n  - {name: cleanup, device: a, command: TestUnitReady, expect: any}\n",
    )
    log, junit = tmp_path / "run.jsonl", tmp_path / "junit.xml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sgscript",
            "run",
            spec,
            "--device",
            f"a={node}",
            "--log",
            str(log),
            "--junit",
            str(junit),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    deadline = time.monotonic() + 120  # start-up under emulation on a busy host
    while not (log.exists() and "scenario_start" in log.read_text()):
        assert time.monotonic() < deadline and proc.poll() is None, "the run never started"
        time.sleep(0.05)
    time.sleep(1.0)  # mid-soak
    _write(Path(f"/sys/class/scsi_device/{hctl}/device/delete"), "1")
    t0 = time.monotonic()
    try:
        out, err = proc.communicate(timeout=60)  # before: hung until killed (274 s)
    finally:
        if proc.poll() is None:
            proc.kill()
    elapsed = time.monotonic() - t0
    assert proc.returncode == 3, out + err
    assert elapsed < 30, f"took {elapsed:.1f} s after the delete"
    records = _records(log)
    scenario = next(r for r in records if r["type"] == "scenario")
    steps = {s["name"]: s["status"] for s in scenario["steps"]}
    assert scenario["status"] == "error"
    assert steps == {"soak": "error", "cleanup": "failed"}  # the device is gone: never a pass
    root = ET.parse(junit).getroot()
    assert int(root.get("errors")) >= 1
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["soak"].find("error") is not None


def test_a_32_mib_read_is_a_clear_error_not_a_hang(tmp_path: Path, sg_debug: str) -> None:
    spec = _spec(
        tmp_path,
        "steps:\n  - {name: huge, device: a, timeout: 10s, expect: any, on_failure: continue,"
        " command: {Read16: {lba: 0, transfer_length: 65536}}}\n"  # 65,536 x 512 = 32 MiB
        "  - {name: still there, device: a, command: TestUnitReady}\n",
    )
    log = tmp_path / "run.jsonl"
    # bounds for a hang, not for speed: two emulated guests on a busy host take ~75 s
    proc, elapsed = _run([spec, "--device", f"a={sg_debug}", "--log", str(log)], timeout=180)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert elapsed < 150
    steps = {r["name"]: r for r in _records(log) if r["type"] == "step"}
    assert steps["huge"]["status"] == "error"
    assert "the sg driver refused a 32 MiB transfer (" in steps["huge"]["message"]
    assert steps["still there"]["status"] == "passed"


@pytest.mark.parametrize(
    ("opts", "every_nth", "lba", "expect", "status"),
    [
        (
            OPT_MEDIUM_ERR,
            0,
            MEDIUM_ERR_LBA,
            "{sense: {key: MEDIUM_ERROR, asc: 0x11}}",
            "CHECK_CONDITION",
        ),
        (OPT_RECOVERED_ERR, 1, 0, "{sense: RECOVERED_ERROR}", "CHECK_CONDITION"),
        (OPT_MAC_TIMEOUT, 1, 0, "any", "timeout"),
    ],
    ids=["medium-error", "recovered-error", "timeout"],
)
def test_injected_faults_are_reported_as_themselves(
    tmp_path: Path,
    sg_debug: str,
    scsi_debug_params: ScsiDebugParams,
    opts: int,
    every_nth: int,
    lba: int,
    expect: str,
    status: str,
) -> None:
    spec = _spec(
        tmp_path,
        f"steps:\n  - {{name: read, device: a, timeout: 3s, expect: {expect},"
        f" command: {{Read10: {{lba: {lba}, transfer_length: 1}}}}}}\n",
    )
    scsi_debug_params.set(every_nth=every_nth, opts=opts)
    log = tmp_path / "run.jsonl"
    proc, elapsed = _run([spec, "--device", f"a={sg_debug}", "--log", str(log)], timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # as declared: not 3, not a hang
    assert elapsed < 180  # a hang is the kernel's 3 s timeout never ending it
    (step,) = [r for r in _records(log) if r["type"] == "step"]
    (command,) = step["commands"]
    assert command["status"] == status
    if status == "timeout":  # no SCSI status came back: none is claimed
        assert command.get("timed_out") or command.get("host_status")
        assert "sense" not in command
    else:
        key = "Medium Error" if opts == OPT_MEDIUM_ERR else "Recovered Error"
        assert key.lower() in command["sense"].lower()
