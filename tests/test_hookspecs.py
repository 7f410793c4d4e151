"""The plugin contract: one hook module, and the built-ins contributing through its hooks."""

from __future__ import annotations

import argparse
import importlib
import itertools
import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import sgscript.hookspecs as hookspecs
import sgscript.sim as sim
import sgscript.verify as verify
import sgscript.verify.hookspecs as old_home
from sgscript import Channel
from sgscript.builtin import catalog as builtin_catalog
from sgscript.builtin.sim import sim_handlers
from sgscript.builtin.transports import target_kinds
from sgscript.scsi.commands import ReportTimestamp, TestUnitReady
from sgscript.scsi.errors import UnitAttention, UsageError
from sgscript.sim import lu as sim_lu
from sgscript.verify import get_plugin_manager

_names = itertools.count()

HOOKS = {
    "sgscript_addoption",
    "sgscript_add_commands",
    "sgscript_expectation_kinds",
    "sgscript_target_kinds",
    "sgscript_sim_handlers",
    "sgscript_reporters",
    "sgscript_open_target",
    "sgscript_check_command",
    "sgscript_step_finished",
    "sgscript_scenario_finished",
}


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Plugin modules from tmp_path; sim targets and imports as they were."""
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = set(sys.modules)
    sim.forget_targets()
    yield
    sim.forget_targets()
    for name in set(sys.modules) - modules:
        if name.startswith("hook_"):
            del sys.modules[name]


def write_plugin(tmp_path: Path, source: str) -> str:
    name = f"hook_{next(_names)}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    importlib.invalidate_caches()
    return name


def test_one_module_declares_every_hook() -> None:
    pm = get_plugin_manager()
    declared = {name for name in dir(pm.hook) if name.startswith("sgscript_")}
    assert declared == HOOKS
    assert {n for n in hookspecs.__all__ if n.startswith("sgscript_")} == HOOKS


def test_the_old_import_paths_are_the_same_objects() -> None:
    for name in ("hookimpl", "hookspec", "CheckContext", "ExpectationKind", "PROJECT"):
        assert getattr(verify, name) is getattr(hookspecs, name)
        assert getattr(old_home, name) is getattr(hookspecs, name)


def test_the_built_ins_contribute_through_the_hooks(no_installed_plugins: None) -> None:
    pm = get_plugin_manager()
    for name in ("transports", "catalog", "sim"):
        assert pm.get_plugin(f"sgscript.builtin.{name}") is not None
    assert pm.get_plugin("sgscript.builtin") is verify.builtin
    assert set(pm.target_kinds) == {"sg", "sim"}
    assert set(target_kinds(pm, pm.catalog, pm.sim_handlers)) == {"sg", "sim"}
    handlers = sim_handlers(pm)
    assert handlers["Read10"] is sim_lu.builtin_handlers()["Read10"]
    assert set(handlers) == set(sim_lu.builtin_handlers()) == set(pm.sim_handlers)
    added = pm.hook.sgscript_add_commands()
    assert [tuple(c) for c in added if TestUnitReady in c] == [builtin_catalog.STANDARD]
    assert list(pm.catalog) == [c.__name__ for c in builtin_catalog.STANDARD]


TARGET_KIND = """
    from fake_transport import FakeTransport
    from sgscript.hookspecs import hookimpl

    @hookimpl
    def sgscript_target_kinds():
        return {"lab": lambda rest, **options: FakeTransport(f"lab:{rest}")}
"""


def test_a_plugin_target_kind_opens_through_its_plugin_manager(tmp_path: Path) -> None:
    name = write_plugin(tmp_path, TARGET_KIND)
    pm = get_plugin_manager([name])
    assert "lab" in pm.target_kinds
    ch = Channel.open("lab:rack3", block_size=512, plugins=pm)
    assert ch.target == "lab:rack3"
    ch.close()
    for others in (None, get_plugin_manager()):  # no other manager knows it
        with pytest.raises(UsageError, match="unknown target kind 'lab:'"):
            Channel.open("lab:rack3", plugins=others)


def test_a_target_kind_defined_twice_is_refused(tmp_path: Path) -> None:
    name = write_plugin(
        tmp_path,
        """
        from sgscript.hookspecs import hookimpl

        @hookimpl
        def sgscript_target_kinds():
            return {"sim": lambda rest, **options: None}
        """,
    )
    with pytest.raises(UsageError, match=r"target kind 'sim:' is defined by both .*" + name):
        get_plugin_manager([name])


SIM_HANDLER = """
    from sgscript.hookspecs import hookimpl

    def answer(lu, req):
        return b"{reply}"

    @hookimpl
    def sgscript_sim_handlers():
        return {{"{command}": answer}}
"""


def test_a_plugin_sim_handler_is_what_the_simulated_disk_answers(tmp_path: Path) -> None:
    taken = write_plugin(tmp_path, SIM_HANDLER.format(reply="x", command="Read10"))
    with pytest.raises(UsageError, match=r"handler for Read10 is defined by both .*" + taken):
        get_plugin_manager([taken])
    name = write_plugin(tmp_path, SIM_HANDLER.format(reply="stamp!", command="ReportTimestamp"))
    bare = Channel.open("sim:bare", initiator="host")  # the built-in handlers only
    with pytest.raises(UnitAttention):
        bare.execute(TestUnitReady())
    assert bare.execute(ReportTimestamp(allocation_length=12), check=False).failure is not None
    bare.close()
    pm = get_plugin_manager([name])
    assert pm.sim_handlers["ReportTimestamp"] is sys.modules[name].answer
    ch = Channel.open("sim:hooks", initiator="host", plugins=pm)
    with pytest.raises(UnitAttention):
        ch.execute(TestUnitReady())
    io = ch.execute(ReportTimestamp(allocation_length=12))
    assert io.data == b"stamp!"
    ch.close()


def test_addoption_is_historic_and_reporters_are_collected(tmp_path: Path) -> None:
    name = write_plugin(
        tmp_path,
        """
        from sgscript.hookspecs import hookimpl

        @hookimpl
        def sgscript_addoption(parser):
            parser.add_argument("--lab-rack")

        @hookimpl
        def sgscript_reporters(config):
            return [("lab reporter", config["lab_rack"])]
        """,
    )
    pm = get_plugin_manager([name])
    parser = argparse.ArgumentParser()
    pm.hook.sgscript_addoption.call_historic(kwargs={"parser": parser})
    args = parser.parse_args(["--lab-rack", "3"])
    assert pm.hook.sgscript_reporters(config=vars(args)) == [[("lab reporter", "3")]]


LAB_PLUGIN = """
from sgscript.hookspecs import hookimpl

SEEN = []

class LabReporter:
    def __init__(self, rack):
        self.rack = rack

    def step_finished(self, result):
        SEEN.append((self.rack, result.name, result.status))

    def scenario_finished(self, result):
        print(f"lab rack {self.rack}: {result.name} {result.status}")

@hookimpl
def sgscript_addoption(parser):
    parser.add_argument("--lab-rack", help="the lab's rack of this run")

@hookimpl
def sgscript_reporters(config):
    if not config.get("lab_rack"):
        return []
    return [LabReporter(config["lab_rack"])]
"""

LAB_SPEC = """\
sgscript: 1
name: lab
devices:
  a: "sim:hook_lab"
steps:
  - name: the unit is ready
    device: a
    command: TestUnitReady
"""


def test_a_plugin_option_and_reporter_in_a_real_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sgscript.cli import main

    name = write_plugin(tmp_path, LAB_PLUGIN)
    spec = tmp_path / "lab.yaml"
    spec.write_text(LAB_SPEC)
    assert main(["run", "-p", name, "--help"]) == 0
    assert "--lab-rack LAB_RACK the lab's rack of this run" in " ".join(
        capsys.readouterr().out.split()
    )

    log = tmp_path / "run.jsonl"
    assert main(["run", "-p", name, str(spec), "--lab-rack", "r7", "--log", str(log)]) == 0
    out = capsys.readouterr().out
    assert sys.modules[name].SEEN == [("r7", "the unit is ready", "passed")]
    # the built-in console reporter came first, the plugin's after it; the log is written
    assert out.index("the unit is ready") < out.index("lab rack r7: lab passed")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records[0]["type"] == "run" and records[0]["argv"][-2:] == ["--log", str(log)]

    sys.modules[name].SEEN.clear()
    assert main(["run", "-p", name, str(spec)]) == 0  # no --lab-rack: no lab reporter
    assert sys.modules[name].SEEN == []
    assert "lab rack" not in capsys.readouterr().out


def test_an_option_without_its_plugin_is_an_argparse_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sgscript.cli import main

    spec = tmp_path / "lab.yaml"
    spec.write_text(LAB_SPEC)
    assert main(["run", str(spec), "--lab-rack", "r7"]) == 2
    assert "unrecognized arguments: --lab-rack r7" in capsys.readouterr().err


def test_a_plugin_option_that_clashes_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sgscript.cli import main

    name = write_plugin(
        tmp_path,
        """
        from sgscript.hookspecs import hookimpl

        @hookimpl
        def sgscript_addoption(parser):
            parser.add_argument("--log")
        """,
    )
    assert main(["run", "-p", name, "x.yaml"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sgscript: error: sgscript_addoption: argument --log")


def test_the_built_in_reporters_come_through_the_hook(
    tmp_path: Path, no_installed_plugins: None
) -> None:
    from sgscript.report.builtin import collect_reporters
    from sgscript.report.console import ConsoleReporter
    from sgscript.report.jsonl import JsonlReporter
    from sgscript.report.junit import JunitReporter
    from sgscript.runner.session import plugin_manager

    assert collect_reporters(get_plugin_manager(), {"console": True}) == []  # verify's: none
    pm = plugin_manager([])  # the session's: the built-in reporters registered
    assert pm.get_plugin("sgscript.report.builtin") is not None
    assert collect_reporters(pm, {}) == []
    config = {
        "console": True,
        "junit": str(tmp_path / "j.xml"),
        "log": str(tmp_path / "l.jsonl"),
        "seed": 5,
        "specs": ["a.yaml"],
        "bindings": {"a": "sim:x"},
        "argv": ["sgscript", "run", "a.yaml"],
    }
    found = collect_reporters(pm, config)
    assert [type(r) for r in found] == [ConsoleReporter, JunitReporter, JsonlReporter]
    for reporter in found[1:]:
        reporter.close()
    header = json.loads((tmp_path / "l.jsonl").read_text().splitlines()[0])
    assert (header["seed"], header["bindings"], header["argv"]) == (
        5,
        {"a": "sim:x"},
        ["sgscript", "run", "a.yaml"],
    )
    with pytest.raises(UsageError, match=r"^cannot write .*/no/l.jsonl: No such file"):
        collect_reporters(pm, {"log": str(tmp_path / "no" / "l.jsonl")})
