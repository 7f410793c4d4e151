"""Who else uses the disk behind an sg node: mounts, LVM/MD/dm holders, swap, the root fs (Linux).

sgscript writes through the sg node, below the block layer, so the kernel does
not stop a WRITE(10) to a disk whose file system is mounted: the page cache and
the journal then disagree with the medium and the file system is destroyed.
Before a plan that changes a device runs, the runner asks this module whether
the disk (or any of its partitions) is in use, and refuses if it is.

Everything comes from what the kernel exports, read without opening a device:

- the sg node's block device: ``/sys/class/scsi_generic/sgN/device/block/*``;
- partitions: ``/sys/block/sdX/sdXN/partition``; their ``dev`` (MAJ:MIN);
- mounts: ``/proc/self/mountinfo`` (by MAJ:MIN, and by source path for file
  systems such as btrfs that report an anonymous device number);
- holders (device-mapper, LVM, MD, bcache...): ``/sys/block/sdX[/sdXN]/holders/*``,
  with the dm name from ``/sys/block/dm-N/dm/name``;
- swap: ``/proc/swaps``.

``claim`` then opens the block device ``O_RDONLY | O_EXCL`` for the run: the
kernel refuses that with EBUSY while the disk is mounted or held, and while
the claim is held nobody can mount it or build a dm/MD device on it.

The roots are parameters (``HostPaths``) so tests build fake trees in a
temporary directory.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from .sysfs import read_bounded

__all__ = [
    "BlockClaim",
    "DiskInUse",
    "HostPaths",
    "block_name_of_node",
    "block_of_sg",
    "claim",
    "find_holders",
    "sg_name_of_node",
    "sg_of_block",
]

#: The sg driver's character major (include/uapi/linux/major.h, SCSI_GENERIC_MAJOR).
SG_MAJOR = 21
_ATTR_MAX = 4096  # a sysfs attribute is one page at most
_TABLE_MAX = 4 << 20  # mountinfo / swaps: generous, but bounded
_DEVNUM = re.compile(r"^\d+:\d+$")
_SG_NAME = re.compile(r"^sg\d+$")
_OCTAL = re.compile(r"\\([0-7]{3})")


class DiskInUse(ValueError):
    """The disk behind a device is mounted, held or swapped on: nothing may be sent to it."""


@dataclass(frozen=True)
class HostPaths:
    """Where this host's kernel tables are (tests point them at fake trees)."""

    sysfs: str = "/sys"
    mountinfo: str = "/proc/self/mountinfo"
    swaps: str = "/proc/swaps"
    dev: str = "/dev"


HOST = HostPaths()


# ----------------------------------------------------------------- reading


def _read(path: Path | str, limit: int = _ATTR_MAX) -> str | None:
    """A small kernel file's text, bounded (cut at ``limit``); None when absent or unreadable."""
    raw = read_bounded(path, limit)
    return None if raw is None else raw[:limit].decode("utf-8", "replace")


def _listdir(path: Path) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _unescape(text: str) -> str:
    """mountinfo's octal escapes (``\\040`` for a space) decoded."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), text)


# ----------------------------------------------------------------- names


def sg_name_of_node(path: str, paths: HostPaths = HOST) -> str | None:
    """``sg3`` for ``/dev/sg3`` (or any node with the sg major), by its device number.

    A path that does not exist is taken by its name (``.../sg3``): the check
    then errs on the side of refusing, and the open fails anyway.
    """
    try:
        st = os.stat(path)
    except OSError:
        st = None
    if st is None or not stat.S_ISCHR(st.st_mode) or os.major(st.st_rdev) != SG_MAJOR:
        # not (yet) a node here: judge by the name, the cautious reading (opening will fail)
        name = os.path.basename(path)
        return name if _SG_NAME.match(name) and st is None else None
    link = Path(paths.sysfs) / "dev" / "char" / f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    with contextlib.suppress(OSError):
        return os.path.basename(os.path.realpath(link, strict=True))
    return f"sg{os.minor(st.st_rdev)}"  # the sg driver numbers its minors as sgN


def block_name_of_node(path: str, paths: HostPaths = HOST) -> str | None:
    """``sda`` (or ``sda1``) for a block device node, by its device number."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISBLK(st.st_mode):
        return None
    link = Path(paths.sysfs) / "dev" / "block" / f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}"
    try:
        return os.path.basename(os.path.realpath(link, strict=True))
    except OSError:
        return os.path.basename(path)


def block_of_sg(sg: str, paths: HostPaths = HOST) -> str | None:
    """The block device (``sdb``) on the same logical unit as sg node ``sg``, if it has one."""
    names = _listdir(Path(paths.sysfs) / "class" / "scsi_generic" / sg / "device" / "block")
    return names[0] if names else None


def _whole_disk(block: str, paths: HostPaths) -> str:
    """``sda`` for ``sda1``: a partition's disk (its sysfs parent), else the name itself."""
    entry = Path(paths.sysfs) / "class" / "block" / block
    if (entry / "partition").exists():
        with contextlib.suppress(OSError):
            return os.path.basename(os.path.dirname(os.path.realpath(entry, strict=True)))
    return block


def sg_of_block(block: str, paths: HostPaths = HOST) -> str | None:
    """The sg node name (``sg1``) of the logical unit under block device ``block`` (or its disk)."""
    disk = _whole_disk(block, paths)
    names = _listdir(Path(paths.sysfs) / "block" / disk / "device" / "scsi_generic")
    return names[0] if names else None


def _partitions(disk: str, paths: HostPaths) -> list[str]:
    base = Path(paths.sysfs) / "block" / disk
    return [n for n in _listdir(base) if (base / n / "partition").exists()]


def _sysfs_dir(disk: str, name: str, paths: HostPaths) -> Path:
    base = Path(paths.sysfs) / "block" / disk
    return base if name == disk else base / name


def _devnum(disk: str, name: str, paths: HostPaths) -> str | None:
    text = _read(_sysfs_dir(disk, name, paths) / "dev")
    text = text.strip() if text else ""
    return text if _DEVNUM.match(text) else None


# ----------------------------------------------------------------- holders


def _holder_label(holder: str, paths: HostPaths) -> str:
    """``dm-0 (vg-lv)``, ``md127 (RAID)``, or the bare name."""
    base = Path(paths.sysfs) / "block" / holder
    dm = _read(base / "dm" / "name")
    if dm and dm.strip():
        return f"{holder} ({dm.strip()})"
    level = _read(base / "md" / "level")
    if level and level.strip():
        return f"{holder} (MD {level.strip()})"
    return holder


def _mounts(paths: HostPaths) -> list[tuple[str, str, str]]:
    """(MAJ:MIN, mount point, source) of every mount in mountinfo."""
    text = _read(paths.mountinfo, _TABLE_MAX) or ""
    out = []
    for line in text.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5:
            continue
        rest = right.split()
        source = _unescape(rest[1]) if len(rest) > 1 else ""
        out.append((fields[2], _unescape(fields[4]), source))
    return out


def _swaps(paths: HostPaths) -> list[str]:
    text = _read(paths.swaps, _TABLE_MAX) or ""
    return [_unescape(line.split()[0]) for line in text.splitlines()[1:] if line.split()]


def find_holders(block: str, paths: HostPaths = HOST) -> list[str]:
    """Why the disk under ``block`` (or any partition of it) must not be written; [] when free.

    Each entry names the holder: ``/dev/sdb1 is mounted on /mnt/data``,
    ``/dev/sdb is held by dm-0 (vg-lv)``, ``/dev/sdb2 is active swap``,
    ``/dev/sda2 holds the root file system``.
    """
    disk = _whole_disk(block, paths)
    names = [disk, *_partitions(disk, paths)]
    devnums = {num: name for name in names if (num := _devnum(disk, name, paths))}
    reasons: list[str] = []
    for devnum, mountpoint, source in _mounts(paths):
        name = devnums.get(devnum)
        if name is None and source.startswith("/dev/") and os.path.basename(source) in names:
            name = os.path.basename(source)
        if name is None:
            continue
        if mountpoint == "/":
            reasons.append(f"/dev/{name} holds the root file system")
        else:
            reasons.append(f"/dev/{name} is mounted on {mountpoint}")
    for name in names:
        for holder in _listdir(_sysfs_dir(disk, name, paths) / "holders"):
            reasons.append(f"/dev/{name} is held by {_holder_label(holder, paths)}")
    for swap in _swaps(paths):
        if swap.startswith("/dev/") and os.path.basename(swap) in names:
            reasons.append(f"/dev/{os.path.basename(swap)} is active swap")
    return list(dict.fromkeys(reasons))


# ----------------------------------------------------------------- the claim


class BlockClaim:
    """An ``O_EXCL`` open of a disk's block device: while held, nobody mounts or stacks on it."""

    def __init__(self, path: str, fd: int) -> None:
        self.path = path
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> BlockClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<BlockClaim {self.path} {'held' if self._fd >= 0 else 'released'}>"


def claim(block: str, paths: HostPaths = HOST) -> tuple[BlockClaim | None, str]:
    """Claim the whole disk under ``block`` exclusively; (claim, "") or (None, why not claimed).

    Raises ``DiskInUse`` when the kernel says EBUSY (mounted, held, or claimed
    by another program), naming what the sysfs check finds.  A disk whose node
    is absent from /dev, or that this user may not open, is not claimed (the
    reason comes back, for the run's notes): the sysfs check stands alone then.
    """
    disk = _whole_disk(block, paths)
    path = os.path.join(paths.dev, disk)
    want = _devnum(disk, disk, paths)
    try:
        st = os.stat(path)
    except OSError as exc:
        return None, f"{path}: {exc.strerror or exc}"
    if not stat.S_ISBLK(st.st_mode):
        return None, f"{path} is not a block device"
    if want is not None and want != f"{os.major(st.st_rdev)}:{os.minor(st.st_rdev)}":
        return None, f"{path} is device {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}, not {want}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_EXCL | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.EBUSY:
            found = find_holders(disk, paths)
            what = "; ".join(found) if found else "another program has it open exclusively"
            raise DiskInUse(f"{path} is in use ({what})") from None
        return None, f"{path}: {exc.strerror or exc}"
    return BlockClaim(path, fd), ""
