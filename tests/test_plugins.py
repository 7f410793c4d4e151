"""Plugin loading: ``-p MODULE``, the ``sgscript`` entry points, vendor commands and collisions."""

from __future__ import annotations

import importlib
import itertools
import re
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest

import sgscript.sim as sim
from sgscript import Channel
from sgscript.cli import main
from sgscript.scenario import SpecError, load_scenario_text
from sgscript.scenario.model import Expectation
from sgscript.scsi.catalog import identify, lookup, standard_catalog
from sgscript.scsi.commands import Read10, TestUnitReady
from sgscript.scsi.errors import IllegalRequest, UnitAttention, UsageError
from sgscript.verify import (
    CheckContext,
    expectation_kinds,
    expectation_schema,
    get_plugin_manager,
    verify,
)
from sgscript.verify.plugins import build_catalog

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "vendor-plugin"
_names = itertools.count()

HEADER = """
from sgscript.scsi.cdb import Bytes, Command, Direction, F
from sgscript.verify import ExpectationKind, hookimpl
"""

VENDOR = (
    HEADER
    + """
class {cls}(Command):
    opcode = {opcode}
    length = 10
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (F("allocation_length", 7, 7, 16, 8),)
    {extra}

@hookimpl
def sgscript_add_commands():
    return [{cls}]

@hookimpl
def sgscript_expectation_kinds():
    return [ExpectationKind("{kind}", {{"type": "integer"}}, lambda ctx, v: None)]
"""
)


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """Plugin modules from tmp_path; sim targets and imports as they were (nothing else
    needs restoring: a plugin manager's catalog and handlers are its own)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    modules = set(sys.modules)
    sim.forget_targets()
    yield
    sim.forget_targets()
    for name in set(sys.modules) - modules:
        if name.startswith(("plug_", "sgscript_acme")):
            del sys.modules[name]


def write_plugin(tmp_path: Path, source: str, **fmt: object) -> str:
    """A plugin module in tmp_path with a fresh name; returns that name."""
    name = f"plug_{next(_names)}"
    defaults = {"cls": f"Vendor{name.title().replace('_', '')}", "opcode": "0xC3"}
    defaults.update({"kind": name, "extra": ""}, **fmt)
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source.format(**defaults)))
    importlib.invalidate_caches()
    return name


def dist_info(tmp_path: Path, entry_points: str, project: str = "fake-vendor") -> None:
    """An installed distribution, as pip leaves it: metadata and an entry_points.txt."""
    info = tmp_path / f"{project.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(textwrap.dedent(entry_points))
    importlib.invalidate_caches()


# ------------------------------------------------------------------ finding plugins


def test_dash_p_loads_a_module_with_its_command_and_kind(tmp_path: Path) -> None:
    name = write_plugin(tmp_path, VENDOR)
    pm = get_plugin_manager([name])
    cls = pm.catalog.lookup(f"VendorPlug{name.split('_')[1]}")
    assert cls.opcode == 0xC3 and pm.get_plugin(name) is sys.modules[name]
    assert name in expectation_kinds(pm)
    assert pm.catalog.identify(bytes([0xC3]) + bytes(9)) is cls


def test_a_managers_catalog_is_what_its_plugins_contributed(tmp_path: Path) -> None:
    """No process-wide registry: importing a plugin, or loading it into one manager,
    changes nothing another manager, the standard catalog or a sim: unit sees."""
    name = write_plugin(tmp_path, VENDOR, cls="AcmeOwn", opcode="0xC6")
    importlib.import_module(name)  # defining the class registers nothing
    assert "AcmeOwn" not in standard_catalog() and identify(bytes([0xC6]) + bytes(9)) is None
    with_it, without = get_plugin_manager([name]), get_plugin_manager()
    assert "AcmeOwn" in with_it.catalog and "AcmeOwn" not in without.catalog
    assert set(without.catalog) <= set(with_it.catalog)
    for pm, known in ((with_it, True), (without, False)):
        ch = Channel.open(f"sim:own{int(known)}", plugins=pm)
        assert ("AcmeOwn" in dir(ch.cmd)) is known
        ch.close()


def test_an_entry_point_is_found_and_no_name_blocks_it(tmp_path: Path) -> None:
    name = write_plugin(tmp_path, VENDOR)
    dist_info(tmp_path, f"[sgscript]\nfake = {name}\n")
    pm = get_plugin_manager()
    assert pm.get_plugin("fake") is sys.modules[name]
    assert name in expectation_kinds(pm)
    blocked = get_plugin_manager(["no:fake"])
    assert blocked.get_plugin("fake") is None
    assert name not in expectation_kinds(blocked)
    both = get_plugin_manager([name])  # the entry point and -p: registered once
    assert len([p for p in both.get_plugins() if p is sys.modules[name]]) == 1


@pytest.mark.parametrize(
    ("source", "words"),
    [
        (None, "-p plug_missing: cannot import plugin module: ModuleNotFoundError: No module"),
        ("import not_there_at_all\n", "ModuleNotFoundError: No module named 'not_there_at_all'"),
        ("def broken(:\n", "cannot import plugin module: SyntaxError"),
        (
            HEADER + "@hookimpl\ndef sgscript_add_comands():\n    return []\n",
            "unknown hook 'sgscript_add_comands'",
        ),
        (
            HEADER + "@hookimpl\ndef sgscript_check_command(io):\n    return None\n",
            "Argument(s) {'io'} are declared in the hookimpl",
        ),
    ],
    ids=["missing", "import-error", "syntax-error", "hook-typo", "bad-arguments"],
)
def test_a_bad_dash_p_is_one_line(tmp_path: Path, source: str | None, words: str) -> None:
    name = "plug_missing" if source is None else write_plugin(tmp_path, source)
    with pytest.raises(UsageError) as info:
        get_plugin_manager([name])
    message = str(info.value)
    assert words in message and "\n" not in message


def test_a_broken_entry_point_names_itself(tmp_path: Path) -> None:
    dist_info(tmp_path, "[sgscript]\nshiny = plug_not_installed\n")
    with pytest.raises(UsageError) as info:
        get_plugin_manager()
    message = str(info.value)
    assert "plugin 'shiny' (plug_not_installed)" in message and "failed to load" in message
    assert get_plugin_manager(["no:shiny"]) is not None  # blocking it gets past it


# ------------------------------------------------------------------ commands


def test_a_command_colliding_with_the_catalog_is_refused(tmp_path: Path) -> None:
    name = write_plugin(tmp_path, VENDOR, cls="FastRead", opcode="0x28")
    with pytest.raises(UsageError) as info:
        get_plugin_manager([name])
    assert str(info.value) == (
        f"plugin {name}: command FastRead (opcode 28h) collides with Read10 (28h);"
        " vendor commands use opcodes C0h-FFh, or set replace = True on the class"
    )
    assert "FastRead" not in get_plugin_manager().catalog and lookup("Read10") is Read10


def test_a_command_named_like_a_catalog_one_is_refused(tmp_path: Path) -> None:
    name = write_plugin(tmp_path, VENDOR, cls="Inquiry", opcode="0xC4")
    with pytest.raises(UsageError, match=r"command Inquiry \(opcode C4h\) collides with Inquiry"):
        get_plugin_manager([name])


def test_two_plugins_on_one_vendor_opcode_collide(tmp_path: Path) -> None:
    first = write_plugin(tmp_path, VENDOR, cls="AcmeOne", opcode="0xD0")
    second = write_plugin(tmp_path, VENDOR, cls="OtherOne", opcode="0xD0")
    with pytest.raises(UsageError, match=r"OtherOne \(opcode D0h\) collides with AcmeOne \(D0h\)"):
        get_plugin_manager([first, second])


def test_service_actions_tell_commands_on_one_opcode_apart(tmp_path: Path) -> None:
    source = VENDOR.replace(
        'fields = (F("allocation_length", 7, 7, 16, 8),)',
        'fields = (F("service_action", 1, 4, 5, {sa}, fixed=True), F("allocation_length", 7, 7, 16, 8))',
    )
    a = write_plugin(tmp_path, source.replace("{sa}", "1"), cls="AcmeSa1", opcode="0xD1")
    b = write_plugin(tmp_path, source.replace("{sa}", "2"), cls="AcmeSa2", opcode="0xD1")
    catalog = get_plugin_manager([a, b]).catalog
    assert catalog.identify(bytes([0xD1, 0x02]) + bytes(8)) is catalog.lookup("AcmeSa2")


def test_replace_takes_the_place_of_a_catalog_command(tmp_path: Path) -> None:
    name = write_plugin(tmp_path, VENDOR, cls="QuirkyRead10", opcode="0x28", extra="replace = True")
    catalog = get_plugin_manager([name]).catalog
    assert "Read10" not in catalog
    assert catalog.identify(bytes([0x28]) + bytes(9)) is catalog.lookup("QuirkyRead10")
    assert lookup("Read10") is Read10  # the standard catalog is untouched


def test_register_false_from_older_plugins_is_accepted(tmp_path: Path) -> None:
    source = VENDOR.replace("(Command)", "(Command, register=False)")
    name = write_plugin(tmp_path, source, cls="AcmeOld", opcode="0xD2")
    catalog = get_plugin_manager([name]).catalog
    assert catalog.with_opcode(0xD2) == [catalog.lookup("AcmeOld")]


def test_a_plugin_module_imported_again_replaces_its_own_command(tmp_path: Path) -> None:
    # pytester and importlib.reload re-import modules: the class is new, the definition is not.
    name = write_plugin(tmp_path, VENDOR, cls="AcmeAgain", opcode="0xD3")
    pm = get_plugin_manager([name])
    first = pm.catalog.lookup("AcmeAgain")
    del sys.modules[name]
    again = sys.modules.setdefault(name, importlib.import_module(name))
    pm.register(again, name=f"{name}-again")  # the same definition, a new class
    catalog = build_catalog(pm)
    assert catalog.lookup("AcmeAgain") is not first
    assert catalog.with_opcode(0xD3) == [catalog.lookup("AcmeAgain")]


def test_not_a_command_class(tmp_path: Path) -> None:
    name = write_plugin(
        tmp_path, HEADER + "@hookimpl\ndef sgscript_add_commands():\n    return [42]\n"
    )
    with pytest.raises(UsageError, match="returned 42, not a Command class"):
        get_plugin_manager([name])


# ------------------------------------------------------------------ expectation kinds


def test_a_kind_defined_twice_is_refused(tmp_path: Path) -> None:
    name = write_plugin(tmp_path, VENDOR, kind="data")
    with pytest.raises(UsageError) as info:
        expectation_kinds(get_plugin_manager([name]))
    assert (
        str(info.value) == f"expectation kind 'data' is defined by both sgscript.builtin and {name}"
    )


def test_a_kind_with_a_broken_schema_is_refused(tmp_path: Path) -> None:
    source = VENDOR.replace('{{"type": "integer"}}', '{{"type": "integr"}}')
    name = write_plugin(tmp_path, source)
    with pytest.raises(
        UsageError, match=f"schema of expectation kind '{name}' is not a JSON Schema"
    ):
        expectation_kinds(get_plugin_manager([name]))


def test_the_expect_schema_takes_plugin_kinds(tmp_path: Path) -> None:
    name = write_plugin(tmp_path, VENDOR)
    schema = expectation_schema(get_plugin_manager([name]))
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({name: 3, "status": "BUSY"})
    assert not validator.is_valid({name: "three"})
    assert validator.is_valid("fail") and not validator.is_valid("maybe")
    assert not validator.is_valid({"temprature": 1})
    builtin = jsonschema.Draft202012Validator(expectation_schema())
    assert not builtin.is_valid({name: 3})


# ------------------------------------------------------------------ the example package


def test_the_example_plugin_through_dash_p_on_sim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(EXAMPLE))
    bare = Channel.open("sim:bare", initiator="host")  # the standard catalog: C1h unknown
    pm = get_plugin_manager(["sgscript_acme"])
    acme = sys.modules["sgscript_acme"]
    bare.execute(TestUnitReady(), check=False)  # the power-on UNIT ATTENTION
    with pytest.raises(IllegalRequest, match="Invalid command operation code"):
        bare.execute(acme.AcmeReadTemperature())
    bare.close()
    ch = Channel.open("sim:acme", initiator="host", plugins=pm)
    with pytest.raises(UnitAttention):
        ch.execute(TestUnitReady())
    io = ch.execute(acme.AcmeReadTemperature(), check=False)
    assert io.failure is None
    assert io.command.decode_response(io.data)["max_celsius"] == 42
    kinds = expectation_kinds(pm)
    ctx = CheckContext(io)
    assert verify(ctx, [Expectation("temperature", {"max": 50})], kinds) == []
    (message,) = verify(ctx, [Expectation("temperature", {"max": 40, "sensor": 3})], kinds)
    assert message == (
        "expected temperature at most 40 °C, got sensor 3 at 42 °C; CDB c1 00 ff 00 00 00 00 00 40 00"
    )
    with pytest.raises(IllegalRequest, match="Invalid field in cdb"):
        ch.execute(acme.AcmeReadTemperature(sensor=7))
    ch.close()


SHAPED = """
from sgscript.scsi.cdb import Bytes, Command, Direction, F
from sgscript.scsi.shapes import BOOL, Items, integer, record
from sgscript.verify import hookimpl

class {cls}(Command):
    opcode = {opcode}
    length = 10
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (F("allocation_length", 7, 7, 16, 8),)
    response = record(
        "temperatures",
        {{"sensors": Items(record("sensor", {{"celsius": integer(16), "alarm": BOOL}}))}},
    )

    def decode_response(self, data):
        return {{"sensors": [{{"celsius": data[0], "alarm": False}}]}}

@hookimpl
def sgscript_add_commands():
    return [{cls}]
"""


def test_a_plugin_commands_declared_response_is_listed_and_checked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As the Acme example does: ``response`` beside ``decode_response``."""
    name = write_plugin(tmp_path, SHAPED, cls="AcmeTemperature")
    assert main(["commands", "-p", name, "AcmeTemperature"]) == 0
    assert re.search(r"^  sensors\.N\.celsius +integer, 16 bits$", capsys.readouterr().out, re.M)
    spec = """\
        sgscript: 1
        devices: {disk: "sim:acme"}
        steps:
          - {command: AcmeTemperature, save: {hot: sensors.0.alarm}}
          - {command: AcmeTemperature, expect: {fields: {sensors.0.celcius: 30}}}
        """
    with pytest.raises(SpecError) as info:
        load_scenario_text(textwrap.dedent(spec), "acme.yaml", plugins=get_plugin_manager([name]))
    (problem,) = info.value.problems
    assert str(problem) == (
        "acme.yaml:5:50: steps[1].expect.fields: AcmeTemperature has no response field"
        " 'sensors.0.celcius' (did you mean 'sensors.0.celsius'?)"
    )
