"""The Acme plugin, installed: found through its entry point, and its spec runs on ``sim:``.

Run after ``pip install ./examples/vendor-plugin`` (the entry point is what is
under test): ``pytest examples/vendor-plugin``.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Iterator
from pathlib import Path

import pytest
import sgscript_acme

import sgscript.sim as sim
from sgscript import load_scenario, run_scenario
from sgscript.scenario.load import SpecError, load_scenario_text
from sgscript.verify import expectation_kinds, get_plugin_manager

SPEC = Path(__file__).parent.parent / "specs" / "acme_temperature.yaml"


@pytest.fixture(autouse=True)
def fresh_targets() -> Iterator[None]:
    sim.forget_targets()
    yield
    sim.forget_targets()


def test_registered_through_the_entry_point() -> None:
    (ep,) = [ep for ep in importlib.metadata.entry_points(group="sgscript") if ep.name == "acme"]
    assert ep.value == "sgscript_acme"
    pm = get_plugin_manager()
    assert pm.get_plugin("acme") is sgscript_acme
    assert pm.catalog.lookup("AcmeReadTemperature") is sgscript_acme.AcmeReadTemperature
    assert "temperature" in expectation_kinds(pm)


def test_the_spec_passes_on_sim() -> None:
    result = run_scenario(load_scenario(SPEC))
    assert result.status == "passed", result.to_dict()
    assert [s.status for s in result.steps] == ["passed"] * 3


def test_a_hot_drive_fails_with_the_sensor_named() -> None:
    target, _ = sim.get_target("acme0")
    target.lu().state[sgscript_acme.AMBIENT_KEY] = 50  # sensors at 50, 54, 58, 62 °C
    result = run_scenario(load_scenario(SPEC))
    assert result.status == "failed"
    first = result.steps[0]
    assert first.status == "failed"
    (detail,) = first.failures
    assert detail.expected == "temperature at least 5 °C and at most 55 °C"
    assert detail.got == "sensor 2 at 58 °C, sensor 3 at 62 °C"
    assert detail.message.startswith(
        "expected temperature at least 5 °C and at most 55 °C, got sensor 2 at 58 °C"
    )
    assert detail.cdb_hex.startswith("c1 00 ff")


def test_a_bad_temperature_value_is_a_spec_error_with_its_line() -> None:
    text = SPEC.read_text().replace("{min: 5, max: 55}", "{max: hot}")
    with pytest.raises(SpecError) as info:
        load_scenario_text(text, "acme.yaml", plugins=get_plugin_manager())
    assert "acme.yaml:14:" in str(info.value)


def test_a_misspelt_response_field_is_a_spec_error_before_the_run() -> None:
    text = SPEC.read_text().replace("sensor_count: 4", "sensor_cuont: 4")
    with pytest.raises(SpecError) as info:
        load_scenario_text(text, "acme.yaml", plugins=get_plugin_manager())
    assert str(info.value).endswith(
        "AcmeReadTemperature has no response field 'sensor_cuont' (did you mean 'sensor_count'?)"
    )
