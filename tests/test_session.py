"""The session layer the CLI and the pytest plugin share: bindings, specs, --var, seed, plans."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgscript.runner.safety import DestructiveRefused
from sgscript.runner.session import (
    Batch,
    bindings_for,
    check_bindings,
    check_destructive,
    load_all,
    load_one,
    new_seed,
    parse_bindings,
    plan_specs,
    plugin_manager,
    target_problems,
)
from sgscript.scenario import SpecError
from sgscript.scsi.errors import UsageError

SPEC = """\
sgscript: 1
name: session
devices:
  a: {target: "sim:session_a"}
  b: {target: "sim:session_b"}
vars: {lba: 0}
steps:
  - {name: ready, device: a, command: TestUnitReady}
  - {name: read, device: b, command: {Read10: {lba: "${lba}", transfer_length: 1}}}
"""

WRITES = """\
sgscript: 1
name: writes
devices:
  a: {target: "/dev/sg99"}
steps:
  - {name: write, device: a, command: {Write10: {lba: 0, transfer_length: 1}}}
"""


def spec(tmp_path: Path, text: str = SPEC, name: str = "session.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def options(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "plugins": [],
        "vars": [],
        "devices": [],
        "seed": 7,
        "select": None,
        "data_dirs": [],
        "max_transfer": 1 << 20,
    }
    base.update(kw)
    return base


def test_bindings_parse_and_each_spec_takes_its_own() -> None:
    bindings = parse_bindings(["a=sim:x", " b = /dev/sg3 "])
    assert bindings == {"a": "sim:x", "b": "/dev/sg3"}
    with pytest.raises(UsageError, match="expected NAME=TARGET"):
        parse_bindings(["a"])
    with pytest.raises(UsageError, match="bound twice"):
        parse_bindings(["a=x", "a=y"])

    class Declares:
        devices = {"a": None}

    assert bindings_for(Declares(), bindings) == {"a": "sim:x"}
    check_bindings({"a": "x"}, [Declares()])
    with pytest.raises(UsageError, match="no spec declares a device 'c'"):
        check_bindings({"c": "x"}, [Declares()])


def test_load_all_collects_every_problem(tmp_path: Path) -> None:
    good = spec(tmp_path)
    bad = spec(tmp_path, "sgscript: 1\nsteps: []\n", "bad.yaml")
    scenarios, problems = load_all([good, bad, str(tmp_path / "gone.yaml")], plugin_manager([]))
    assert [s.name for s in scenarios] == ["session"]
    assert any(p.startswith(bad) for p in problems)
    assert problems[-1].endswith("gone.yaml:1:1: cannot read: No such file or directory")


def test_plan_specs_binds_overrides_and_seeds(tmp_path: Path) -> None:
    batch = plan_specs([spec(tmp_path)], **options(vars=["lba=8"], devices=["a=sim:other"]))
    assert isinstance(batch, Batch)
    assert batch.seed == 7
    ((scenario, plan),) = batch.plans
    assert scenario.vars == {"lba": 8}
    assert plan.bindings == {"a": "sim:other"}
    unseeded = plan_specs([spec(tmp_path)], **options(seed=None))
    assert isinstance(unseeded, Batch) and 0 <= unseeded.seed < 2**32


def test_plan_specs_refuses_before_anything_is_sent(tmp_path: Path) -> None:
    path = spec(tmp_path)
    with pytest.raises(UsageError, match="no spec declares a variable 'nope'"):
        plan_specs([path], **options(vars=["nope=1"]))
    with pytest.raises(UsageError, match="no spec declares a device 'c'"):
        plan_specs([path], **options(devices=["c=sim:x"]))
    with pytest.raises(UsageError, match="selects no step"):
        plan_specs([path], **options(select="nothing_matches"))
    problems = plan_specs([path], **options(vars=["lba=-1"]))  # a value that does not fit
    assert isinstance(problems, list) and "does not fit" in problems[0]
    problems = plan_specs([spec(tmp_path, "sgscript: 1\n", "empty.yaml")], **options())
    assert isinstance(problems, list) and problems


def test_load_one_is_what_the_pytest_plugin_collects(tmp_path: Path) -> None:
    pm = plugin_manager([])
    path = spec(tmp_path)
    scenario = load_one(path, pm, data_dirs=[], overrides={"lba": 4, "other": 1}, seed=1)
    assert scenario.vars == {"lba": 4}  # each spec takes the names it declares
    with pytest.raises(SpecError, match="does not fit"):
        load_one(path, pm, data_dirs=[], overrides={"lba": -1}, seed=1)


def test_targets_and_destructive_steps_are_checked_without_opening(tmp_path: Path) -> None:
    batch = plan_specs([spec(tmp_path, WRITES, "writes.yaml")], **options())
    assert isinstance(batch, Batch)
    ((scenario, plan),) = batch.plans
    assert target_problems(scenario, plan) == []
    with pytest.raises(DestructiveRefused):
        check_destructive([plan], False)
    check_destructive([plan], True)  # allowed: the disk checks come when it is opened


def test_a_new_seed_is_32_bits() -> None:
    assert all(0 <= new_seed() < 2**32 for _ in range(10))
