"""SBC-4 commands of the simulated disk: medium access, capacity, provisioning, power, format.

What each handler does where the standard leaves a choice:

| command | behaviour |
|---|---|
| READ/WRITE(6/10/12/16) | RD/WRPROTECT non-zero: INVALID FIELD IN CDB (no protection information; scsi_debug ignores it); range first, then MAXIMUM TRANSFER LENGTH (B0h); transfer length 0 moves nothing and is no error (READ/WRITE(6): 0 means 256); FUA, DPO accepted |
| ORWRITE(16) | ORPROTECT non-zero: INVALID FIELD IN CDB; each byte of the Data-Out buffer ORed into the blocks on the medium (SBC-4 ORWRITE(16): read, OR, write); 0 blocks is no error |
| WRITE ATOMIC(16) | only with the ``max_atomic_blocks`` option (else INVALID COMMAND OPERATION CODE, RSOC leaves it out, Block Limits' atomic fields 0); an LBA off ``atomic_alignment``, a length off ``atomic_granularity`` or over ``max_atomic_blocks`` is INVALID FIELD IN CDB, after the range check; ATOMIC BOUNDARY non-zero is INVALID FIELD IN CDB (no boundary support); otherwise a plain write |
| WRITE AND VERIFY(10/12/16) | BYTCHK 00b/01b write then verify (always equal), 11b writes the one block sent to every LBA, 10b is INVALID FIELD IN CDB |
| VERIFY(10/12/16) | BYTCHK 00b checks the medium (injected medium errors show), 01b compares every block, 11b compares the one block sent with each; a miscompare is MISCOMPARE 1Dh/00h with INFORMATION = offset of the first differing byte in the Data-Out buffer |
| COMPARE AND WRITE | up to 255 blocks (B0h); 0 blocks is no error; a miscompare writes nothing, INFORMATION as for VERIFY |
| WRITE SAME(10/16) | WSNZ=1 (option `wsnz`, default on): 0 blocks is INVALID FIELD IN CDB, with WSNZ=0 it runs to the last LBA (past it: LBA OUT OF RANGE); at most MAXIMUM WRITE SAME LENGTH; UNMAP=1 deallocates when the block is zeros (or NDOB) on a thin disk, writes otherwise; ANCHOR is INVALID FIELD IN CDB (ANC_SUP=0) |
| UNMAP | thin disks only (else INVALID COMMAND OPERATION CODE, and RSOC leaves it out); the whole list is checked before anything is deallocated |
| GET LBA STATUS | extents from the sparse storage; REPORT TYPE 00h-04h and 10h (RTP=1) |
| SYNCHRONIZE CACHE(10/16) | range check, GOOD (the store is write-through) |
| PRE-FETCH(10/16) | CONDITION MET when the range fits the cache (MAXIMUM PREFETCH LENGTH blocks), GOOD when it does not; longer prefetch lengths are INVALID FIELD IN CDB |
| START STOP UNIT | START=0 stops (media commands: NOT READY 04h/02h); LOEJ=1 on a removable disk unloads (START=0; media commands: NOT READY, MEDIUM NOT PRESENT 3Ah/00h) or loads (START=1) the medium, refused with 53h/02h while removal is prevented; power conditions ACTIVE, IDLE, STANDBY (with their modifiers), LU_CONTROL, FORCE_IDLE_0, FORCE_STANDBY_0 are accepted and leave the unit ready |
| PREVENT ALLOW MEDIUM REMOVAL | per I_T nexus; 10b/11b (obsolete) are INVALID FIELD IN CDB |
| FORMAT UNIT | deallocates every block; FMTPINFO and protection fields refused; FOV bits and defect lists checked, initialization patterns refused; IMMED completes at once |
| SANITIZE | OVERWRITE (pattern, count, INVERT) and BLOCK ERASE (deallocate all); CRYPTOGRAPHIC ERASE is INVALID FIELD IN CDB (nothing is encrypted); EXIT FAILURE MODE is GOOD (a sanitize never fails here) |
| WRITE LONG(10/16) | WR_UNCOR or COR_DIS marks the block (PBLOCK: its physical block) pseudo-uncorrectable: reads get MEDIUM ERROR 11h/00h until it is written again; otherwise BYTE TRANSFER LENGTH must be the block size (no ECC bytes), else INVALID FIELD IN CDB with the difference in INFORMATION |
| READ DEFECT DATA(10/12) | empty lists in the format asked for |
| REASSIGN BLOCKS | the list is checked (lengths, LBA range) and the data stays where it is |
"""

from __future__ import annotations

from collections.abc import Callable

from ..scsi.pages import (
    decode_unmap_parameters,
    encode_get_lba_status,
    encode_read_capacity10,
    encode_read_capacity16,
)
from ..scsi.status import ScsiStatus
from .core import C, Fail, Request, StatusFail
from .logs import stats
from .lu import LogicalUnit, handles
from .vpd import MAX_COMPARE_AND_WRITE

__all__ = ["CONDITIONAL"]

#: Handled commands that a logical unit's configuration can turn off (RSOC omits them then).
CONDITIONAL: dict[str, Callable[[LogicalUnit], bool]] = {
    "Unmap": lambda lu: lu.config.thin,
    "WriteAtomic16": lambda lu: lu.config.max_atomic_blocks > 0,
}

_READ6, _WRITE6 = 0x08, 0x0A


def _bad(byte: int, bit: int | None = None) -> Fail:
    return Fail(C.INVALID_FIELD_IN_PARAMETER_LIST, param_field=(byte, bit))


def _protected(lu: LogicalUnit) -> None:
    if lu.write_protect:
        raise Fail(C.WRITE_PROTECTED)


def _first_difference(a: bytes, b: bytes, block: int) -> int:
    """Offset of the first byte where ``a`` and ``b`` differ (they do differ)."""
    for start in range(0, len(a), block):
        if a[start : start + block] != b[start : start + block]:
            for i in range(start, min(start + block, len(a))):
                if a[i] != b[i]:
                    return i
    return min(len(a), len(b))


# ------------------------------------------------------------------ basics


@handles("TestUnitReady")
def test_unit_ready(lu: LogicalUnit, req: Request) -> None:
    return None  # not-ready and unit attentions are checked before any handler


@handles("ReadCapacity10")
def read_capacity10(lu: LogicalUnit, req: Request) -> bytes:
    # A last LBA beyond 32 bits is sent as FFFFFFFFh by the encoder (SBC-4 5.20.2).
    return encode_read_capacity10(
        {
            "returned_logical_block_address": lu.blocks - 1,
            "logical_block_length_in_bytes": lu.block_size,
        }
    )


@handles("ReadCapacity16")
def read_capacity16(lu: LogicalUnit, req: Request) -> bytes:
    cfg = lu.config
    return encode_read_capacity16(
        {
            "returned_logical_block_address": lu.blocks - 1,
            "logical_block_length_in_bytes": lu.block_size,
            "logical_blocks_per_physical_block_exponent": cfg.physical_block_exponent,
            "lbpme": int(cfg.thin),
            "lbprz": int(cfg.thin),
        }
    )


# ------------------------------------------------------------ read / write


def _extent(lu: LogicalUnit, req: Request, length: str = "transfer_length") -> tuple[int, int]:
    """The blocks a medium-access command names, checked as SBC-4 orders it: LBA range,
    then MAXIMUM TRANSFER LENGTH (VPD B0h).  READ(6)/WRITE(6) read 0 blocks as 256."""
    f = req.fields
    lba, count = f["logical_block_address"], f[length]
    if not count and req.cdb[0] in (_READ6, _WRITE6):
        count = 256
    lu.check_range(req, lba, count)
    if count > lu.config.max_transfer_blocks:
        raise req.invalid(length)
    return lba, count


@handles("Read6", "Read10", "Read12", "Read16")
def read(lu: LogicalUnit, req: Request) -> bytes:
    if req.fields.get("rdprotect"):
        raise req.invalid("rdprotect")
    lba, count = _extent(lu, req)
    lu.faults.medium(req, lba, count, write=False)
    st = lu.state.get("stats") or stats(lu)
    st.reads += 1
    st.blocks_read += count
    return lu.storage.read(lba, count) if count else b""


@handles("Write6", "Write10", "Write12", "Write16")
def write(lu: LogicalUnit, req: Request) -> None:
    if req.fields.get("wrprotect"):
        raise req.invalid("wrprotect")
    lba, count = _extent(lu, req)
    if lu.write_protect:
        raise Fail(C.WRITE_PROTECTED)
    if len(req.data_out) != count * lu.block_size:
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    lu.faults.medium(req, lba, count, write=True)
    st = lu.state.get("stats") or stats(lu)
    st.writes += 1
    st.blocks_written += count
    if count:
        lu.storage.write(lba, req.data_out)


@handles("OrWrite16")
def orwrite(lu: LogicalUnit, req: Request) -> None:
    if req.fields["orprotect"]:
        raise req.invalid("orprotect")
    lba, count = _extent(lu, req)
    _protected(lu)
    if len(req.data_out) != count * lu.block_size:
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    lu.faults.medium(req, lba, count, write=True)
    st = stats(lu)
    st.writes += 1
    st.blocks_written += count
    if count:
        old = lu.storage.read(lba, count)
        lu.storage.write(lba, bytes(a | b for a, b in zip(old, req.data_out, strict=True)))


@handles("WriteAtomic16")
def write_atomic(lu: LogicalUnit, req: Request) -> None:
    cfg = lu.config
    if not cfg.max_atomic_blocks:
        raise Fail(C.INVALID_OPCODE, field=(0, 7))
    f = req.fields
    if f["wrprotect"]:
        raise req.invalid("wrprotect")
    if f["atomic_boundary"]:
        raise req.invalid("atomic_boundary")  # MAXIMUM ATOMIC BOUNDARY SIZE is 0
    lba, count = _extent(lu, req)
    if lba % max(cfg.atomic_alignment, 1):
        raise req.invalid("logical_block_address")
    if count % max(cfg.atomic_granularity, 1) or count > cfg.max_atomic_blocks:
        raise req.invalid("transfer_length")
    write(lu, req)


def _write_same_data(lu: LogicalUnit, lba: int, block: bytes, count: int) -> None:
    """``block`` written to ``count`` blocks, in pieces so a long range never builds one huge buffer."""
    step = 1024
    for start in range(lba, lba + count, step):
        n = min(step, lba + count - start)
        lu.storage.write(start, block * n)


@handles("WriteAndVerify10", "WriteAndVerify12", "WriteAndVerify16")
def write_and_verify(lu: LogicalUnit, req: Request) -> None:
    f = req.fields
    if f["wrprotect"]:
        raise req.invalid("wrprotect")
    bytchk = f["bytchk"]
    if bytchk == 2:
        raise req.invalid("bytchk")
    lba, count = _extent(lu, req)
    _protected(lu)
    bs = lu.block_size
    if len(req.data_out) != (bs if bytchk == 3 and count else count * bs):
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    lu.faults.medium(req, lba, count, write=True)
    st = stats(lu)
    st.writes += 1
    st.blocks_written += count
    if not count:
        return None
    if bytchk == 3:
        _write_same_data(lu, lba, req.data_out, count)
    else:
        lu.storage.write(lba, req.data_out)
    return None  # what was written reads back equal: the verification passes


@handles("Verify10", "Verify12", "Verify16")
def verify(lu: LogicalUnit, req: Request) -> None:
    f = req.fields
    if f["vrprotect"]:
        raise req.invalid("vrprotect")
    bytchk = f["bytchk"]
    if bytchk == 2:
        raise req.invalid("bytchk")
    lba, count = _extent(lu, req, "verification_length")
    lu.faults.medium(req, lba, count, write=False)
    if not bytchk or not count:
        return None
    bs = lu.block_size
    data = req.data_out
    if len(data) != (bs if bytchk == 3 else count * bs):
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    medium = lu.storage.read(lba, count)
    expected = data * count if bytchk == 3 else data
    if medium != expected:
        offset = _first_difference(expected, medium, bs)
        # 11b: the Data-Out buffer is one block, so the offset is within it (SBC-4).
        raise Fail(C.MISCOMPARE_DURING_VERIFY, information=offset % bs if bytchk == 3 else offset)
    return None


@handles("CompareAndWrite")
def compare_and_write(lu: LogicalUnit, req: Request) -> None:
    f = req.fields
    if f["wrprotect"]:
        raise req.invalid("wrprotect")
    lba, count = f["logical_block_address"], f["number_of_logical_blocks"]
    if count > MAX_COMPARE_AND_WRITE:
        raise req.invalid("number_of_logical_blocks")
    if not count:
        return None  # SBC-4: nothing compared, nothing written, not an error
    lu.check_range(req, lba, count)
    _protected(lu)
    half = count * lu.block_size
    data = req.data_out
    if len(data) != 2 * half:
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    lu.faults.medium(req, lba, count, write=False)
    medium = lu.storage.read(lba, count)
    if medium != data[:half]:
        offset = _first_difference(data[:half], medium, lu.block_size)
        raise Fail(C.MISCOMPARE_DURING_VERIFY, information=offset)
    lu.faults.medium(req, lba, count, write=True)
    lu.storage.write(lba, data[half:])
    return None


@handles("WriteLong10", "WriteLong16")
def write_long(lu: LogicalUnit, req: Request) -> None:
    """Mark blocks pseudo-uncorrectable (WR_UNCOR, COR_DIS), or write one block's bytes.

    A marked block fails reads with MEDIUM ERROR until it is written again
    (the fault model's bad ranges, ``lu.faults.mark``).  There are no ECC
    bytes, so the long block is the logical block.
    """
    f = req.fields
    exponent = lu.config.physical_block_exponent
    lba = f["logical_block_address"]
    count = 1
    if f["pblock"]:
        if not exponent:
            raise req.invalid("pblock")  # one logical block per physical block
        count = 1 << exponent
        lba -= lba % count
    lu.check_range(req, lba, count)
    _protected(lu)
    if f["wr_uncor"] or f["cor_dis"]:
        lu.faults.mark(lba, count, read=True)
        return None
    if f["byte_transfer_length"] != count * lu.block_size:
        raise Fail(
            C.INVALID_FIELD_IN_CDB,
            field=req.field_at("byte_transfer_length"),
            information=(f["byte_transfer_length"] - count * lu.block_size) & 0xFFFFFFFF,
        )
    if len(req.data_out) != count * lu.block_size:
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    lu.faults.medium(req, lba, count, write=True)
    lu.storage.write(lba, req.data_out)
    return None


# ------------------------------------------------------------ provisioning


@handles("WriteSame10", "WriteSame16")
def write_same(lu: LogicalUnit, req: Request) -> None:
    f = req.fields
    if f["wrprotect"]:
        raise req.invalid("wrprotect")
    if f["anchor"]:
        raise req.invalid("anchor")  # ANC_SUP=0
    lba, count = f["logical_block_address"], f["number_of_logical_blocks"]
    if not count and lu.config.wsnz:
        raise req.invalid("number_of_logical_blocks")  # WSNZ=1
    if not count:  # WSNZ=0: from the LBA to the last LBA
        lba, count = _to_end(lu, req, "number_of_logical_blocks")
    if count > lu.config.max_write_same_blocks:
        raise req.invalid("number_of_logical_blocks")
    lu.check_range(req, lba, count)
    _protected(lu)
    bs = lu.block_size
    if f.get("ndob"):
        block = bytes(bs)
    elif len(req.data_out) != bs:
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    else:
        block = req.data_out
    lu.faults.medium(req, lba, count, write=True)
    if f["unmap"] and lu.config.thin and block.count(0) == bs:
        lu.storage.unmap(lba, count)  # deallocated blocks read as zeros (LBPRZ=1)
    else:
        _write_same_data(lu, lba, block, count)


@handles("Unmap")
def unmap(lu: LogicalUnit, req: Request) -> None:
    cfg = lu.config
    if not cfg.thin:
        raise Fail(C.INVALID_OPCODE, field=(0, 7))  # a fully provisioned disk has no UNMAP
    if req.f("anchor"):
        raise req.invalid("anchor")  # ANC_SUP=0
    length = req.f("parameter_list_length")
    if not length:
        return None
    data = req.data_out[:length]
    if length < 8 or len(data) < length:
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    params = decode_unmap_parameters(data)
    if params["unmap_data_length"] < params["unmap_block_descriptor_data_length"] + 6:
        raise _bad(0)  # the two lengths disagree: which bytes are descriptors is unknown
    extents = []
    descriptors = params["unmap_block_descriptors"]
    if len(descriptors) > cfg.max_unmap_descriptors:
        raise _bad(2)
    total = 0
    for k, d in enumerate(descriptors):
        lba, count = d["logical_block_address"], d["number_of_logical_blocks"]
        total += count
        if total > cfg.max_unmap_blocks:
            raise _bad(8 + 16 * k + 8)
        if count:
            lu.check_range(req, lba, count)
            extents.append((lba, count))
    _protected(lu)
    for lba, count in extents:
        lu.storage.unmap(lba, count)
    return None


#: REPORT TYPE -> which provisioning statuses it reports (0 mapped, 1 deallocated).
_REPORT_TYPES: dict[int, frozenset[int]] = {
    0x00: frozenset({0, 1}),
    0x01: frozenset({1}),  # non-zero provisioning status
    0x02: frozenset({0}),
    0x03: frozenset({1}),
    0x04: frozenset(),  # anchored: never here
    0x10: frozenset(),  # unrecovered errors: none known here
}


@handles("GetLbaStatus")
def get_lba_status(lu: LogicalUnit, req: Request) -> bytes:
    start = req.f("starting_logical_block_address")
    wanted = _REPORT_TYPES.get(req.f("report_type"))
    if wanted is None:
        raise req.invalid("report_type")
    if start >= lu.blocks:
        raise Fail(C.LBA_OUT_OF_RANGE)
    room = max(1, (req.allocation - 8) // 16)
    descriptors: list[dict[str, int]] = []
    lba = start
    while lba < lu.blocks and len(descriptors) < room:
        mapped, n = lu.storage.run(lba, min(lu.blocks - lba, 0xFFFFFFFF))
        status = 0 if mapped else 1
        if status in wanted:
            descriptors.append(
                {"logical_block_address": lba, "number_of_logical_blocks": n,
                 "provisioning_status": status}
            )  # fmt: skip
        lba += n
    condition = "capacity" if lba >= lu.blocks else "allocation_length"
    return encode_get_lba_status(
        {"lba_status_descriptors": descriptors, "completion_condition": condition, "rtp": 1}
    )


# --------------------------------------------------------- cache, prefetch


def _to_end(lu: LogicalUnit, req: Request, length_field: str) -> tuple[int, int]:
    """LBA and block count, where a count of 0 means "to the last LBA"."""
    lba, count = req.f("logical_block_address"), req.f(length_field)
    if not count:
        lu.check_range(req, lba, 1)
        return lba, lu.blocks - lba
    lu.check_range(req, lba, count)
    return lba, count


@handles("SynchronizeCache10", "SynchronizeCache16")
def synchronize_cache(lu: LogicalUnit, req: Request) -> None:
    _to_end(lu, req, "number_of_logical_blocks")
    return None  # the store is write-through: nothing is ever only in the cache


@handles("PreFetch10", "PreFetch16")
def pre_fetch(lu: LogicalUnit, req: Request) -> None:
    cache = lu.config.max_transfer_blocks  # the cache holds MAXIMUM PREFETCH LENGTH blocks
    if req.f("prefetch_length") > cache:
        raise req.invalid("prefetch_length")
    _lba, count = _to_end(lu, req, "prefetch_length")
    if count <= cache:
        raise StatusFail(ScsiStatus.CONDITION_MET)  # SBC-4: it all fits in the cache
    return None


# ------------------------------------------------------------ power, removal

#: POWER CONDITION -> the POWER CONDITION MODIFIER values it takes (SBC-4 table 115).
_POWER_CONDITIONS: dict[int, tuple[int, ...]] = {
    0x1: (0,),  # ACTIVE
    0x2: (0, 1, 2),  # IDLE_A, IDLE_B, IDLE_C
    0x3: (0, 1),  # STANDBY_Z, STANDBY_Y
    0x7: (0,),  # LU_CONTROL
    0xA: (0, 1, 2),  # FORCE_IDLE_0
    0xB: (0, 1),  # FORCE_STANDBY_0
}


@handles("StartStopUnit")
def start_stop_unit(lu: LogicalUnit, req: Request) -> None:
    condition = req.f("power_condition")
    modifier = req.f("power_condition_modifier")
    if condition:
        allowed = _POWER_CONDITIONS.get(condition)
        if allowed is None:
            raise req.invalid("power_condition")
        if modifier not in allowed:
            raise req.invalid("power_condition_modifier")
        lu.state["power_condition"] = condition
        if condition != 0x7:
            lu.started = True  # idle and standby still serve media commands
        return None
    if modifier:
        raise req.invalid("power_condition_modifier")
    start = bool(req.f("start"))
    loej = req.f("loej") and lu.config.removable
    if loej and not start and lu.prevent_removal:
        raise Fail(C.MEDIUM_REMOVAL_PREVENTED)
    if loej:
        lu.medium_present = bool(start)  # LOEJ: unload with START=0, load with START=1
    lu.started = start
    lu.state["power_condition"] = 0x1 if start else 0
    return None


@handles("PreventAllowMediumRemoval")
def prevent_allow_medium_removal(lu: LogicalUnit, req: Request) -> None:
    prevent = req.f("prevent")
    if prevent > 1:
        raise req.invalid("prevent")  # persistent prevent: obsolete
    holders: set[str] = lu.state.setdefault("prevent", set())
    if not lu.prevent_removal:
        holders.clear()  # a reset allowed removal again
    if prevent:
        holders.add(req.nexus)
    else:
        holders.discard(req.nexus)
    lu.prevent_removal = bool(holders)
    return None


# ------------------------------------------------------- format, sanitize

#: DEFECT LIST FORMAT -> address descriptor size (SBC-4 table 13); 110b vendor specific.
_DEFECT_FORMATS: dict[int, int] = {0b000: 4, 0b001: 8, 0b010: 8, 0b011: 8, 0b100: 8, 0b101: 8}


@handles("FormatUnit")
def format_unit(lu: LogicalUnit, req: Request) -> None:
    if req.f("fmtpinfo"):
        raise req.invalid("fmtpinfo")  # no protection information
    if req.f("ffmt") == 3:
        raise req.invalid("ffmt")
    if req.f("fmtdata"):
        long = bool(req.f("longlist"))
        hlen = 8 if long else 4
        data = req.data_out
        if len(data) < hlen:
            raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
        if data[0] & 0x07:
            raise _bad(0, 2)  # PROTECTION FIELD USAGE
        options = data[1]
        if not options & 0x80 and options & 0x78:
            raise _bad(1, (options & 0x78).bit_length() - 1)  # FOV=0: DPRY..IP must be 0
        if options & 0x08:
            raise _bad(1, 3)  # IP: initialization patterns are not supported
        if long and data[3]:
            raise _bad(3, 7)  # P_I_INFORMATION, PROTECTION INTERVAL EXPONENT
        dll = int.from_bytes(data[4:8] if long else data[2:4], "big")
        if dll:
            size = _DEFECT_FORMATS.get(req.f("defect_list_format"))
            if size is None:
                raise req.invalid("defect_list_format")
            if dll % size:
                raise _bad(4 if long else 2)
        if hlen + dll > len(data):
            raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    _protected(lu)
    lu.storage.unmap(0, lu.blocks)
    return None


@handles("Sanitize")
def sanitize(lu: LogicalUnit, req: Request) -> None:
    action = req.f("service_action")
    length = req.f("parameter_list_length")
    if action not in (0x01, 0x02, 0x1F):
        raise req.invalid("service_action")  # 03h crypto erase: nothing is encrypted
    if action != 0x01 and length:
        raise req.invalid("parameter_list_length")
    if action == 0x1F:
        return None  # EXIT FAILURE MODE: no sanitize ever fails here
    _protected(lu)
    if action == 0x02:
        lu.storage.unmap(0, lu.blocks)
        return None
    if length < 5 or length > lu.block_size + 4:  # SBC-4 5.28.2.4: a CDB error
        raise req.invalid("parameter_list_length")
    data = req.data_out[:length]
    if len(data) < length:
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    invert, test, passes = data[0] >> 7, (data[0] >> 5) & 3, data[0] & 0x1F
    pattern_length = int.from_bytes(data[2:4], "big")
    if test:
        raise _bad(0, 6)
    if not passes:
        raise _bad(0, 4)
    if not pattern_length or pattern_length > lu.block_size:
        raise _bad(2)
    if len(data) != 4 + pattern_length:
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    pattern = data[4:]
    if invert and passes % 2 == 0:
        pattern = bytes(b ^ 0xFF for b in pattern)  # the last pass writes the inverted pattern
    block = (pattern * (lu.block_size // len(pattern) + 1))[: lu.block_size]
    if block.count(0) == len(block) and lu.config.thin:
        lu.storage.unmap(0, lu.blocks)
    else:
        _write_same_data(lu, 0, block, lu.blocks)
    return None


# ------------------------------------------------------------ defect lists


def _defect_flags(req: Request) -> int:
    fmt = req.f("defect_list_format")
    if fmt == 0b111:
        raise req.invalid("defect_list_format")
    return req.f("req_plist") << 4 | req.f("req_glist") << 3 | fmt


@handles("ReadDefectData10")
def read_defect_data10(lu: LogicalUnit, req: Request) -> bytes:
    return bytes([0, _defect_flags(req), 0, 0])  # PLISTV/GLISTV as asked, empty lists


@handles("ReadDefectData12")
def read_defect_data12(lu: LogicalUnit, req: Request) -> bytes:
    return bytes([0, _defect_flags(req)]) + bytes(6)  # generation 0, length 0


@handles("ReassignBlocks")
def reassign_blocks(lu: LogicalUnit, req: Request) -> None:
    data = req.data_out
    if len(data) < 4:
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    long_list = bool(req.f("longlist"))
    size = 8 if req.f("longlba") else 4
    length = int.from_bytes(data[0:4] if long_list else data[2:4], "big")
    if length % size:
        raise _bad(0 if long_list else 2)
    if 4 + length > len(data):
        raise Fail(C.PARAMETER_LIST_LENGTH_ERROR)
    for off in range(4, 4 + length, size):
        lba = int.from_bytes(data[off : off + size], "big")
        if lba >= lu.blocks:
            raise Fail(C.LBA_OUT_OF_RANGE, information=lba)
    return None  # the spare blocks hold the same data: nothing moves
