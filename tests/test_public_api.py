"""The package's public surface: what ``from sgscript import ...`` offers, and what it costs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import sgscript

SPECS = Path(__file__).resolve().parent.parent / "specs"


def test_everything_in_all_is_importable() -> None:
    for name in sgscript.__all__:
        assert getattr(sgscript, name) is not None, name


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
