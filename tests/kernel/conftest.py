"""Fixtures for the kernel lane: real Linux sg nodes inside the QEMU guest.

tests/kernel/run.sh boots a guest where tests/kernel/guest.sh loads
scsi_debug, attaches a QEMU scsi-hd disk and exports the nodes it found:

    SGSCRIPT_SG_DEBUG   /dev/sgN of scsi_debug (model "scsi_debug", 64 MiB)
    SGSCRIPT_SG_QEMU    /dev/sgM of QEMU's scsi-hd (model "QEMU HARDDISK", 64 MiB)
    SGSCRIPT_KERNEL_OUT the guest's only writable directory (on the host too)
    SGSCRIPT_ISCSI_RIG  the file where guest.sh's background set-up of the
                        two-initiator rig (tgtd + two iSCSI sessions) reports
                        SGSCRIPT_ISCSI_A / SGSCRIPT_ISCSI_B (or SGSCRIPT_ISCSI_ERROR)

Outside that guest the variables are absent and every test in this directory
is skipped. All disks are fresh (zeroed) at each boot; tests may write them.
"""

from __future__ import annotations

import errno
import math
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SKIP_REASON = "kernel lane only: run tests/kernel/run.sh"
HERE = Path(__file__).resolve().parent
SDEBUG_DIR = Path("/sys/bus/pseudo/drivers/scsi_debug")

#: What the lane attaches (see guest.sh and run.sh): name -> (vendor, product).
NODES = {"scsi_debug": ("Linux", "scsi_debug"), "qemu": ("QEMU", "QEMU HARDDISK")}
#: Both disks are 64 MiB of 512-byte blocks.
DISK_BYTES = 64 * 2**20
BLOCK_LENGTH = 512

_ENV = {"scsi_debug": "SGSCRIPT_SG_DEBUG", "qemu": "SGSCRIPT_SG_QEMU"}


def _node(name: str) -> str | None:
    return os.environ.get(_ENV[name]) or None


IN_LANE = all(_node(n) for n in _ENV)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Hooks in a conftest see every collected item: touch only ours.
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.kernel)
            if not IN_LANE:
                item.add_marker(skip)


def _need(name: str) -> str:
    path = _node(name)
    if path is None:
        pytest.skip(SKIP_REASON)
    return path


@pytest.fixture(scope="session")
def sg_debug() -> str:
    """Path of scsi_debug's sg node, e.g. "/dev/sg1"."""
    return _need("scsi_debug")


@pytest.fixture(scope="session")
def sg_qemu() -> str:
    """Path of the QEMU scsi-hd's sg node, e.g. "/dev/sg0"."""
    return _need("qemu")


@pytest.fixture(scope="session")
def sg_nodes() -> list[tuple[str, str]]:
    """Both nodes as (name, path): [("scsi_debug", ...), ("qemu", ...)]."""
    return [(name, _need(name)) for name in NODES]


@pytest.fixture(params=list(NODES), ids=list(NODES))
def sg_node(request: pytest.FixtureRequest) -> tuple[str, str]:
    """Each node in turn as (name, path): a test using it runs once per device."""
    return request.param, _need(request.param)


def _read_rig(path: Path, wait: float) -> dict[str, str]:
    """The rig's report, once guest.sh has written it (it always does, or says why not)."""
    deadline = time.monotonic() + wait
    while not path.exists():
        if time.monotonic() > deadline:
            return {"SGSCRIPT_ISCSI_ERROR": f"no report in {path} after {wait:.0f} s"}
        time.sleep(0.2)
    pairs = (line.partition("=") for line in path.read_text().splitlines())
    return {key: value for key, _, value in pairs if value}


@pytest.fixture(scope="session")
def iscsi_pair() -> tuple[str, str]:
    """The two-initiator rig: sg nodes of one tgtd LU as initiators host-a and host-b.

    The lane always builds the rig; when it did not come up, the tests that
    need it FAIL with the reason (CI must prove reservations), while the
    scsi_debug and QEMU tests run as usual. SGSCRIPT_ISCSI_A and
    SGSCRIPT_ISCSI_B in the environment name the two nodes directly (to re-run
    the tests by hand in a guest whose rig is up).
    """
    a, b = os.environ.get("SGSCRIPT_ISCSI_A"), os.environ.get("SGSCRIPT_ISCSI_B")
    if a and b:
        return a, b
    rig = os.environ.get("SGSCRIPT_ISCSI_RIG")
    if not rig:
        pytest.skip(SKIP_REASON)
    # Each of the rig's steps is bounded by SGSCRIPT_ISCSI_WAIT; there are a handful.
    wait = max(30.0, 5 * float(os.environ.get("SGSCRIPT_ISCSI_WAIT") or 60))
    report = _read_rig(Path(rig), wait)
    error = report.get("SGSCRIPT_ISCSI_ERROR")
    if error or not report.get("SGSCRIPT_ISCSI_A") or not report.get("SGSCRIPT_ISCSI_B"):
        pytest.fail(
            f"the two-initiator iSCSI rig did not come up: {error or report}", pytrace=False
        )
    return report["SGSCRIPT_ISCSI_A"], report["SGSCRIPT_ISCSI_B"]


@pytest.fixture(scope="session")
def kernel_out() -> Path:
    """The guest's writable out directory (SGSCRIPT_KERNEL_OUT)."""
    out = os.environ.get("SGSCRIPT_KERNEL_OUT")
    if not out:
        pytest.skip(SKIP_REASON)
    return Path(out)


def _kernel_hz() -> int:
    try:
        with open(f"/boot/config-{os.uname().release}") as f:
            for line in f:
                if line.startswith("CONFIG_HZ="):
                    return int(line.split("=", 1)[1])
    except OSError:
        pass
    return 250  # Debian's amd64 kernels


class ScsiDebugParams:
    """scsi_debug's run-time parameters in /sys/bus/pseudo/drivers/scsi_debug.

    ``params["delay"] = 750``, ``params("delay", 750)`` or
    ``params.set(delay=750, every_nth=0)`` write them; the first value seen of
    each is restored when the test ends.
    Units are scsi_debug's: ``delay`` in jiffies (``hz`` of them a second),
    ``ndelay`` in nanoseconds (below 1 s), ``opts`` a bit mask. A write is
    refused with EBUSY while commands are queued; restore retries for a while.
    """

    def __init__(self, root: Path = SDEBUG_DIR) -> None:
        self.root = root
        self.hz = _kernel_hz()
        self._saved: dict[str, str] = {}

    def __getitem__(self, name: str) -> str:
        return (self.root / name).read_text().strip()

    def __setitem__(self, name: str, value: int | str) -> None:
        if name not in self._saved:
            self._saved[name] = self[name]
        self._write(name, value)

    def __call__(self, name: str, value: int | str) -> None:
        self[name] = value

    def set(self, **values: int | str) -> None:
        for name, value in values.items():
            self[name] = value

    def set_delay(self, seconds: float) -> int:
        """Delay every response by at least ``seconds``; returns the jiffies set."""
        jiffies = max(1, math.ceil(seconds * self.hz))
        self["delay"] = jiffies
        return jiffies

    def _write(self, name: str, value: int | str) -> None:
        fd = os.open(self.root / name, os.O_WRONLY)
        try:
            os.write(fd, str(value).encode())
        finally:
            os.close(fd)

    def restore(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        errors = []
        for name, value in reversed(self._saved.items()):
            while True:
                try:
                    self._write(name, value)
                    break
                except OSError as e:
                    if e.errno in (errno.EBUSY, errno.EAGAIN) and time.monotonic() < deadline:
                        time.sleep(0.1)
                        continue
                    errors.append(f"{name}={value}: {e}")
                    break
        self._saved.clear()
        if errors:
            raise RuntimeError("could not restore scsi_debug parameters: " + "; ".join(errors))


@pytest.fixture
def scsi_debug_params(sg_debug: str) -> Iterator[ScsiDebugParams]:
    """Set scsi_debug parameters for one test; restored afterwards."""
    params = ScsiDebugParams()
    try:
        yield params
    finally:
        params.restore()


@pytest.fixture
def scsi_debug_param(scsi_debug_params: ScsiDebugParams) -> ScsiDebugParams:
    """The same, as a setter: ``scsi_debug_param("delay", 2500)``."""
    return scsi_debug_params
