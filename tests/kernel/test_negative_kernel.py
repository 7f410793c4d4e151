"""The reserved-bit suite on the real targets: what each does with a reserved CDB bit set.

Only commands that change neither medium nor state are sent (the lane's disks are
shared by the tests after this one: no FORMAT UNIT, SANITIZE or STOP that a device
ignoring the bit would carry out).  The lenient suite is run (SPC-5 lets a device
ignore reserved bits and need not name the field); what it still fails — INVALID
FIELD IN CDB pointing at another bit — is listed in ``EXPECTED`` with the
target's name: a listed difference that stops happening fails too.  How many
bits the device refuses with the pointer at the bit (the strict suite) goes to
the report, ``negative-TARGET.txt``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from sgscript.runner import ScenarioResult, run_scenario
from sgscript.scenario.load import load_scenario
from sgscript.scsi.catalog import standard_catalog

pytestmark = pytest.mark.kernel

#: (target, step) -> why the target's answer is not what SPC-5 allows.
EXPECTED: dict[tuple[str, str], str] = {}


def _read_only() -> list[str]:
    catalog = standard_catalog()
    return [
        name
        for name in catalog
        if not (catalog.lookup(name).changes_media or catalog.lookup(name).changes_state)
        and name != "GetLbaStatus"  # scsi_debug on Linux 6.1 oopses in GET LBA STATUS
    ]


def test_reserved_bits_on_a_real_disk(
    sg_node: tuple[str, str], kernel_out: Path, tmp_path: Path
) -> None:
    target, path = sg_node
    names = _read_only()

    def run(*args: str) -> ScenarioResult:
        text = subprocess.run(
            [sys.executable, "-m", "sgscript", "negative", *args, *names],
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        ).stdout
        spec = tmp_path / "reserved_bits.yaml"
        spec.write_text(text)
        return run_scenario(load_scenario(spec), bindings={"a": path}, seed=7)

    strict = run("--strict")  # counted, not judged: SPC-5 lets a device ignore the bits
    exact = sum(1 for s in strict.steps if s.kind == "command" and s.status == "passed")
    result = run()
    failed = {s.name: s for s in result.steps if s.status == "failed" and s.kind == "command"}
    sent = [s for s in result.steps if s.kind == "command" and s.count]
    skipped = sum(1 for s in result.steps if s.kind == "command" and s.status == "skipped")
    lines = [
        f"{target}: {result.status}, {len(sent)} cases sent,"
        f" {sum(1 for s in result.steps if s.status == 'not_applicable')} not applicable"
        f" (commands it does not report), {skipped} answered as not supported,"
        f" {len(failed)} failed; {exact} refused with the field pointer at the bit"
    ]
    for name, step in sorted(failed.items()):
        first = step.failures[0].message.splitlines()[0] if step.failures else step.message
        lines.append(f"  {name}: {first}")
    (kernel_out / f"negative-{target}.txt").write_text("\n".join(lines) + "\n")
    assert result.status != "error", "\n".join(lines)  # the device must stay up and answer
    assert sent, "no case was sent: the device reports none of the commands"
    listed = {step for (t, step) in EXPECTED if t == target}
    assert set(failed) == listed, "\n".join(lines)
