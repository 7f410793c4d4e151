"""Every scenario of specs/ on the simulated disk in each configuration the tests branch on:
fully provisioned, WSNZ 0, removable, DPOFUA 0 (DPO/FUA refused, or ignored: SBC-4 allows
both), 4096-byte blocks, descriptor sense. Each must pass or be NOT APPLICABLE (its
requires:/when: read the disk's facts), never fail."""

from __future__ import annotations

from pathlib import Path

import pytest

import sgscript.sim as sim
from sgscript import run_scenario
from sgscript.runner.session import load_all, plugin_manager

SPECS = Path(__file__).resolve().parent.parent / "specs"
CONFIGS = {
    "fully provisioned": "thin=0",
    "WSNZ 0": "wsnz=0",
    "removable": "removable=1",
    "DPOFUA 0": "dpofua=0",
    "DPOFUA 0, DPO/FUA ignored": "dpofua=0&ignore_dpofua=1",
    "4096-byte blocks": "block_size=4096",
    "descriptor sense": "descriptor_sense=1",
}

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("option", list(CONFIGS.values()), ids=list(CONFIGS))
def test_every_scenario_passes_or_does_not_apply(option: str, no_installed_plugins: None) -> None:
    scenarios, problems = load_all([str(SPECS)], plugin_manager([]))
    assert not problems
    bad = []
    for scenario in scenarios:
        if "/negative/" in scenario.file:
            continue  # generated: the reserved-bit cases do not depend on these options
        sim.forget_targets()
        bindings = {
            name: device.target + ("&" if "?" in device.target else "?") + option
            for name, device in scenario.devices.items()
            if device.target.startswith("sim:")
        }
        result = run_scenario(scenario, bindings=bindings, seed=3)
        if result.status not in ("passed", "not_applicable"):
            steps = [s for s in result.steps if s.status in ("failed", "error")][:2]
            bad.append(f"{scenario.file}: " + "; ".join(f"{s.path} {s.message}" for s in steps))
    sim.forget_targets()
    assert not bad, "\n".join(bad)
