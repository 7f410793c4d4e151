"""The package's public surface: what ``from sgscript import ...`` offers, and what it costs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import sgscript

SPECS = Path(__file__).resolve().parent.parent / "specs"
README = SPECS.parent / "README.md"


def test_everything_in_all_is_importable() -> None:
    for name in sgscript.__all__:
        assert getattr(sgscript, name) is not None, name


def _readme_names() -> set[str]:
    """The names the README says come from ``sgscript``: its ``from sgscript import`` lines
    and the classes of its paragraph on the exception hierarchy."""
    text = README.read_text(encoding="utf-8")
    names = {
        name.strip()
        for line in re.findall(r"^from sgscript import (.+)$", text, re.M)
        for name in line.split("#")[0].split(",")
    }
    start = text.index("- Every command failure derives from")
    paragraph = text[start : text.index("\n- ", start + 1)]
    names |= set(re.findall(r"`([A-Z][A-Za-z]+)`", paragraph))
    return names


def test_every_name_the_readme_lists_imports_from_sgscript() -> None:
    names = _readme_names()
    assert {"Busy", "TaskSetFull", "MediumError", "Channel", "TaskFailed"} <= names
    namespace: dict[str, object] = {}
    exec(f"from sgscript import {', '.join(sorted(names))}", namespace)
    assert all(namespace[name] is not None for name in names)
    assert names <= set(sgscript.__all__)


def test_every_exception_class_is_exported() -> None:
    from sgscript.scsi import errors

    classes = {n for n in errors.__all__ if isinstance(getattr(errors, n), type)}
    assert classes <= set(sgscript.__all__)
    assert all(getattr(sgscript, n) is getattr(errors, n) for n in classes)


def test_scenarios_run_from_the_package_namespace() -> None:
    scenario = sgscript.load_scenario(SPECS / "capacity.yaml")
    result = sgscript.run_scenario(scenario, seed=1)
    assert isinstance(result, sgscript.ScenarioResult) and result.status == "passed"


def test_driving_devices_does_not_import_the_scenario_machinery() -> None:
    code = (
        "import sys, sgscript; print(sorted({'yaml', 'jsonschema', 'pluggy'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_importing_the_package_loads_no_command_tables_until_asked() -> None:
    """``sgscript --version`` and ``import sgscript`` pay for nothing they do not use; every
    public name still arrives on first use, and ``dir()`` lists them all."""
    code = (
        "import sys, sgscript; before = 'sgscript.scsi.commands' in sys.modules;"
        " sgscript.command; print(before, 'sgscript.scsi.commands' in sys.modules,"
        " set(sgscript.__all__) <= set(dir(sgscript)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True", "True"]
    assert sorted(sgscript.__all__) == sorted(sgscript._WHERE)
