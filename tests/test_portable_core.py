"""The core runs without Linux-only calls: the sim pipeline with ``os.eventfd`` taken away.

macOS (and every other platform Python's ``selectors`` serves) has no
eventfd; the reactor and ``sim:`` must wake up without one.  The child
process deletes it before sgscript is imported, then loads scenarios from
``specs/`` and runs them on ``sim:``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sgscript import Channel, Reactor
from sgscript.scsi.commands import Read10, TestUnitReady

ROOT = Path(__file__).resolve().parent.parent

CHILD = textwrap.dedent(
    """
    import os, sys
    for name in ("eventfd", "eventfd_read", "eventfd_write", "EFD_NONBLOCK", "EFD_CLOEXEC"):
        if hasattr(os, name):
            delattr(os, name)
    import selectors
    if hasattr(selectors, "EpollSelector"):  # what macOS has: kqueue or poll, never epoll
        selectors.DefaultSelector = selectors.PollSelector
    from sgscript.cli import main
    code = main(["run", *sys.argv[1:]])
    assert "sgscript.transport.linux.sg" not in sys.modules, "sim: loaded the sg driver code"
    sys.exit(code)
    """
)


def test_the_sim_pipeline_runs_without_eventfd_or_epoll() -> None:
    specs = [ROOT / "specs" / name for name in ("reserve_release.yaml", "mixed_workload.yaml")]
    result = subprocess.run(
        [sys.executable, "-c", CHILD, *map(str, specs)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "eventfd" not in result.stderr


@pytest.mark.usefixtures("fresh_sim")
def test_the_reactor_and_sim_need_no_eventfd(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("eventfd", "eventfd_read", "eventfd_write"):
        monkeypatch.delattr(os, name, raising=False)
    with Reactor().start() as reactor:
        ch = Channel.open("sim:portable?latency=1ms", reactor=reactor, queue_depth=4)
        ch.execute(TestUnitReady(), check=False)  # the power-on unit attention
        ios = ch.execute_many([Read10(lba=i, transfer_length=1) for i in range(32)])
        assert all(io.ok for io in ios) and ch.pending == 0
