"""Fixtures shared by the unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sgscript import Channel, sim


@pytest.fixture
def fresh_sim(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """New simulated targets for the test; the channels it opened are closed after it (fds)."""
    sim.forget_targets()
    opened: list[Channel] = []
    real_open = Channel.open.__func__  # type: ignore[attr-defined]

    def tracked(cls: type[Channel], target: str, **kwargs: object) -> Channel:
        ch = real_open(cls, target, **kwargs)
        opened.append(ch)
        return ch

    monkeypatch.setattr(Channel, "open", classmethod(tracked))
    yield
    for ch in opened:
        ch.close()
    sim.forget_targets()


@pytest.fixture
def no_installed_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plugin managers see only the built-ins: a plugin installed in the environment (the
    vendor example, say) adds commands and expectation kinds a test must not count."""
    monkeypatch.setattr("sgscript.verify.plugins._load_entry_points", lambda pm: None)
