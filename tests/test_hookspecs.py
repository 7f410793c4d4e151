"""The plugin contract: one hook module, and the built-ins contributing through its hooks."""

from __future__ import annotations

import argparse
import importlib
import itertools
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import sgscript.hookspecs as hookspecs
import sgscript.sim as sim
import sgscript.transport as transport
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
    """Plugin modules from tmp_path; target kinds, sim handlers and imports as they were."""
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(transport, "_SCHEMES", dict(transport._SCHEMES))
    monkeypatch.setattr(sim_lu, "_HANDLERS", dict(sim_lu._HANDLERS))
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
    assert set(target_kinds(pm)) == {"sg", "sim"}
    handlers = sim_handlers(pm)
    assert handlers["Read10"] is sim_lu.builtin_handlers()["Read10"]
    assert set(handlers) == set(sim_lu.builtin_handlers())
    added = pm.hook.sgscript_add_commands()
    assert [tuple(c) for c in added if TestUnitReady in c] == [builtin_catalog.STANDARD]


TARGET_KIND = """
    from fake_transport import FakeTransport
    from sgscript.hookspecs import hookimpl

    @hookimpl
    def sgscript_target_kinds():
        return {"lab": lambda rest, **options: FakeTransport(f"lab:{rest}")}
"""


def test_a_plugin_target_kind_opens_through_channel_open(tmp_path: Path) -> None:
    name = write_plugin(tmp_path, TARGET_KIND)
    with pytest.raises(UsageError, match="unknown target kind 'lab:'"):
        Channel.open("lab:rack3")
    get_plugin_manager([name])
    assert "lab" in transport.schemes()
    ch = Channel.open("lab:rack3", block_size=512)
    assert ch.target == "lab:rack3"
    ch.close()


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
    ch = Channel.open("sim:hooks", initiator="host")
    with pytest.raises(UnitAttention):
        ch.execute(TestUnitReady())
    assert ch.execute(ReportTimestamp(allocation_length=12), check=False).failure is not None
    get_plugin_manager([name])
    assert sim_lu._HANDLERS["ReportTimestamp"] is sys.modules[name].answer
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
