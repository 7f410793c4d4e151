"""Find the SCSI generic (sg) nodes of this host by reading sysfs, without opening a device.

Listing devices must work for anyone, on any host, without root and without
sending a command that could disturb a drive under test: everything here
comes from the attributes the kernel already exports under
``/sys/class/scsi_generic``.  The sysfs root is a parameter so the tests can
point it at a fake tree.

The tree is read defensively (``--sysfs-root`` may point anywhere): an
attribute is read only when it is a regular file, at most
``MAX_SYSFS_ATTR_BYTES`` of it (a FIFO or ``/dev/zero`` in its place is
skipped, not waited on or read forever); symlink loops are skipped; a
directory lists at most ``MAX_SYSFS_ENTRIES`` nodes.
"""

from __future__ import annotations

import itertools
import os
import re
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, overload

from ...limits import MAX_SYSFS_ATTR_BYTES, MAX_SYSFS_ENTRIES
from ...scsi.errors import UsageError
from ...scsi.pages.vpd import decode_vpd

__all__ = ["PERIPHERAL_TYPES", "SgNode", "list_sg_nodes", "peripheral_type_name", "read_bounded"]

#: Peripheral device type names (SPC-5 table 141), spelled as lsscsi prints them.
PERIPHERAL_TYPES: dict[int, str] = {
    0x00: "disk",
    0x01: "tape",
    0x02: "printer",
    0x03: "process",
    0x04: "worm",
    0x05: "cd/dvd",
    0x06: "scanner",
    0x07: "optical",
    0x08: "mediumx",
    0x09: "comms",
    0x0C: "storage",
    0x0D: "enclosu",
    0x0E: "sim dsk",
    0x0F: "opti rd",
    0x10: "bridge",
    0x11: "osd",
    0x12: "adi",
    0x13: "sec man",
    0x14: "zbc",
    0x1E: "wlun",
    0x1F: "no dev",
}

_HCTL = re.compile(r"^\d+:\d+:\d+:\d+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: A DEVNAME as udev would name an sg node's file under /dev: no ``..``, no controls.
_DEVNAME = re.compile(r"[A-Za-z0-9_.+-]+(/[A-Za-z0-9_.+-]+)*")
_SG_NAME = re.compile(r"^sg(\d+)$")


def peripheral_type_name(code: int | None) -> str | None:
    """The short name of a peripheral device type; ``(0xNN)`` for reserved codes."""
    if code is None:
        return None
    return PERIPHERAL_TYPES.get(code, f"(0x{code:02x})")


@dataclass(frozen=True, slots=True)
class SgNode:
    """One sg node and what sysfs says about the logical unit behind it.

    Every attribute but ``name`` and ``path`` may be None: sysfs exports
    what the driver knows, and an unreadable file must not hide the node.
    """

    name: str  # "sg3"
    path: str  # "/dev/sg3"
    hctl: str | None  # "2:0:0:0" (host:channel:target:lun)
    device_type: int | None  # peripheral device type, 0 = disk
    type_name: str | None  # "disk", "cd/dvd", ...
    vendor: str | None
    model: str | None
    rev: str | None
    serial: str | None  # unit serial number, VPD page 80h
    wwn: str | None  # "naa.5000c500a1b2c3d4", as the kernel's wwid attribute gives it
    block: str | None  # "/dev/sda": the block device on the same logical unit

    @property
    def number(self) -> int:
        """The N of sgN (large when the name is unusual, so such nodes sort last)."""
        m = _SG_NAME.match(self.name)
        return int(m.group(1)) if m else 1 << 31

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with stable keys (the dataclass field names)."""
        return asdict(self)


def list_sg_nodes(sysfs_root: str | Path = "/sys") -> list[SgNode]:
    """Every node under ``<root>/class/scsi_generic``, sorted by sg number.

    A host without the sg driver has no such directory: that is an empty
    list, not an error.
    """
    base = Path(sysfs_root) / "class" / "scsi_generic"
    try:
        entries = list(itertools.islice(base.iterdir(), MAX_SYSFS_ENTRIES))
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:  # a symlink loop (ELOOP), EACCES
        raise UsageError(f"cannot list {base}: {exc.strerror or exc}") from None
    nodes = [_read_node(entry) for entry in entries]
    return sorted(nodes, key=lambda n: (n.number, n.name))


def _read_node(entry: Path) -> SgNode:
    dev = entry / "device"
    hctl = _hctl(dev)
    type_code = _read_int(dev / "type")
    return SgNode(
        name=_printable(entry.name),
        path="/dev/" + (_devname(entry) or _printable(entry.name)),
        hctl=hctl,
        device_type=type_code,
        type_name=peripheral_type_name(type_code),
        vendor=_printable(_read_text(dev / "vendor")),
        model=_printable(_read_text(dev / "model")),
        rev=_printable(_read_text(dev / "rev")),
        serial=_printable(_serial(dev / "vpd_pg80")),
        wwn=_printable(_read_text(dev / "wwid") or _naa_from_pg83(dev / "vpd_pg83")),
        block=_printable(_block(dev)),
    )


@overload
def _printable(text: str) -> str: ...
@overload
def _printable(text: str | None) -> str | None: ...
def _printable(text: str | None) -> str | None:
    """``text`` with each control character shown as ``?``: INQUIRY strings come from the
    drive, and an ESC or CR in a vendor field would rewrite the terminal listing them."""
    return None if text is None else _CONTROL.sub("?", text)


def read_bounded(path: Path | str, limit: int) -> bytes | None:
    """A kernel file's bytes, at most ``limit + 1`` of them (so a caller can tell it was
    longer); None when missing, unreadable, or not a regular file (a FIFO or ``/dev/zero``
    in its place is never read).  Opened non-blocking, so nothing here can hang."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:  # missing, unreadable (EACCES), a loop (ELOOP), or gone (ENODEV)
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None  # a FIFO, a device: sysfs attributes are regular files
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 16, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def _read_bytes(path: Path) -> bytes | None:
    """An attribute's bytes; None when missing, unreadable, not a regular file or too long."""
    raw = read_bounded(path, MAX_SYSFS_ATTR_BYTES)
    return None if raw is None or len(raw) > MAX_SYSFS_ATTR_BYTES else raw


def _read_text(path: Path) -> str | None:
    """An attribute's text with the padding INQUIRY strings carry removed; None when empty."""
    raw = _read_bytes(path)
    if raw is None:
        return None
    text = raw.decode("ascii", "replace").strip(" \t\r\n\0")
    return text or None


def _read_int(path: Path) -> int | None:
    text = _read_text(path)
    try:
        return int(text, 0) if text is not None else None
    except ValueError:
        return None


def _hctl(dev: Path) -> str | None:
    # ``device`` links to the scsi_device directory, which is named H:C:T:L.
    try:
        name = dev.resolve(strict=True).name
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return None
    return name if _HCTL.match(name) else None


def _devname(entry: Path) -> str | None:
    """DEVNAME from the node's uevent (the kernel's name for it under /dev)."""
    raw = _read_bytes(entry / "uevent")
    if raw is None:
        return None
    for line in raw.decode("ascii", "replace").splitlines():
        key, _, value = line.partition("=")
        name = value.strip()
        if key == "DEVNAME" and _DEVNAME.fullmatch(name) and ".." not in name.split("/"):
            return name
    return None


def _vpd(path: Path, page_code: int) -> dict[str, Any] | None:
    """A VPD page the kernel cached at probe time, decoded; None when absent or not that page."""
    raw = _read_bytes(path)
    if not raw:
        return None
    try:
        page = decode_vpd(raw)
    except ValueError:  # malformed: sysfs passes on whatever the device returned
        return None
    return page if page.get("page_code") == page_code else None


def _serial(path: Path) -> str | None:
    """The PRODUCT SERIAL NUMBER of VPD page 80h."""
    page = _vpd(path, 0x80)
    serial = page.get("product_serial_number") if page else None
    return (serial.strip() or None) if isinstance(serial, str) else None


def _naa_from_pg83(path: Path) -> str | None:
    """The logical unit's NAA designator from VPD page 83h, for kernels without ``wwid``."""
    page = _vpd(path, 0x83)
    for d in page.get("designation_descriptors", ()) if page else ():
        if d.get("designator_type") == 0x3 and d.get("association") == 0 and d.get("designator"):
            return "naa." + str(d["designator"]).lower()  # lower case, as the kernel's wwid
    return None


def _block(dev: Path) -> str | None:
    try:
        names = sorted(p.name for p in itertools.islice((dev / "block").iterdir(), 256))
    except OSError:
        return None
    return "/dev/" + names[0] if names else None
