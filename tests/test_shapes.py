"""Response and parameter-list shapes: they name every field the decoders return, and refuse
only names no answer can hold (``Command.response_fields``, ``response_path_problem``)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest

import sgscript.sim as sim
from sgscript import Channel
from sgscript.scsi import commands as std
from sgscript.scsi import shapes
from sgscript.scsi.catalog import standard_catalog
from sgscript.scsi.cdb import Command, Direction, F
from sgscript.scsi.errors import UnitAttention
from sgscript.scsi.pages import DECODERS, ENCODERS, vpd


def leaf_paths(value: Any, prefix: str = "") -> Iterator[str]:
    """Every dotted path a decoded dict holds, as ``expect: {fields:}`` writes them."""
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            yield from leaf_paths(inner, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value:
        for i, inner in enumerate(value):
            yield from leaf_paths(inner, f"{prefix}.{i}")
    elif prefix:
        yield prefix


def undeclared(command: Command, data: bytes) -> list[str]:
    """Paths of the decoded response its shape refuses."""
    cls = type(command)
    shape = cls.response_fields(command.field_values())
    assert shape is not None, cls.__name__
    decoded = command.decode_response(data)
    return [
        problem
        for path in leaf_paths(decoded)
        if (problem := shapes.path_problem(shape, path, cls.__name__))
    ]


@pytest.fixture(autouse=True)
def fresh_targets() -> Iterator[None]:
    sim.forget_targets()
    yield
    sim.forget_targets()


@pytest.fixture
def disk() -> Iterator[Channel]:
    ch = Channel.open("sim:shapes?blocks=4096&thin=1", initiator="host-a")
    with pytest.raises(UnitAttention):
        ch.execute(std.TestUnitReady())
    ch.execute(std.PersistentReserveOut(service_action="register"), check=False)
    yield ch
    ch.close()


SIM_COMMANDS: list[Command] = [
    std.Inquiry(),
    *(std.Inquiry(evpd=1, page_code=code) for code in (0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1, 0xB2)),
    std.ReadCapacity10(),
    std.ReadCapacity16(),
    std.ModeSense6(),
    std.ModeSense10(llbaa=1),
    std.ModeSense10(page_code=0x08),
    std.RequestSense(),
    std.RequestSense(desc=1),
    std.ReportLuns(),
    *(std.PersistentReserveIn(service_action=sa) for sa in range(4)),
    std.ReportSupportedOperationCodes(),
    std.ReportSupportedOperationCodes(reporting_options=1, requested_operation_code=0x28),
    std.ReportSupportedTaskManagementFunctions(),
    std.GetLbaStatus(),
]


@pytest.mark.parametrize("command", SIM_COMMANDS, ids=lambda c: c.describe())
def test_every_field_the_simulated_disk_answers_is_declared(
    disk: Channel, command: Command
) -> None:
    io = disk.execute(command, check=False)
    assert io.data, io.failure
    assert undeclared(command, io.data) == []


def with_page_code(command: Command, data: bytes) -> Command:
    """INQUIRY VPD data names its own page: ask for the page the bytes hold."""
    if isinstance(command, std.Inquiry) and command.evpd and len(data) > 1:
        return std.Inquiry(evpd=1, page_code=data[1])
    return command


RANDOM_COMMANDS: list[Command] = [
    std.Inquiry(),
    std.Inquiry(evpd=1),
    std.ReadCapacity16(),
    std.ModeSense6(),
    std.ModeSense10(subpage_code=0xFF),
    std.RequestSense(),
    std.ReportLuns(),
    *(std.PersistentReserveIn(service_action=sa) for sa in range(4)),
    std.ReportSupportedOperationCodes(),
    std.ReportSupportedOperationCodes(reporting_options=2),
    std.ReportSupportedTaskManagementFunctions(),
    std.GetLbaStatus(),
]


@pytest.mark.parametrize("command", RANDOM_COMMANDS, ids=lambda c: c.describe())
def test_every_field_a_decoder_returns_from_any_bytes_is_declared(command: Command) -> None:
    """Random replies (short, long, every designator type and page): whatever the decoder
    makes of them, its shape names; a shape that missed a field would refuse a good spec."""
    rng = random.Random(type(command).__name__)
    for _ in range(300):
        data = rng.randbytes(rng.choice((4, 9, 40, 100, 300)))
        if isinstance(command, std.Inquiry) and command.evpd:
            page = rng.choice((0x00, 0x80, 0x83, 0x86, 0xB0, 0xB1, 0xB2))
            data = data[:1] + bytes([page, 0, min(len(data) - 4, 255)]) + data[4:]
        if isinstance(command, std.RequestSense):
            data = bytes([rng.choice((0x70, 0x71, 0x72, 0x73))]) + data[1:]
        assert undeclared(with_page_code(command, data), data) == []


def test_designators_of_every_type_are_declared() -> None:
    for kind in range(16):
        for code_set in (1, 2, 3):
            descriptor = {
                "code_set": code_set,
                "designator_type": kind,
                "association": 1,
                "piv": 1,
                "designator": bytes([0x60 | kind, 1, 2, 3, *range(16)]).hex(),
            }
            page = vpd.encode_vpd({"page_code": 0x83, "designation_descriptors": [descriptor]})
            assert undeclared(std.Inquiry(evpd=1, page_code=0x83), page) == []


def test_every_decoder_and_encoder_has_a_shape() -> None:
    """A decoder without one is not wrong, only unchecked: its names pass until the run."""
    for cls in standard_catalog().values():
        assert (cls.response is not None) == (cls.__name__ in DECODERS), cls.__name__
        assert (cls.parameters is not None) == (cls.__name__ in ENCODERS), cls.__name__
    for code in vpd._PAGES:
        page = std.Inquiry.response_fields({"evpd": 1, "page_code": code})
        assert isinstance(page, shapes.Record) and not page.open, hex(code)


# ------------------------------------------------------------------ the check


@pytest.mark.parametrize(
    ("cls", "values", "path", "words"),
    [
        (
            std.Inquiry,
            {},
            "peripheral_devic_type",
            "Inquiry with evpd=0 has no response field 'peripheral_devic_type'"
            " (did you mean 'peripheral_device_type'?)",
        ),
        (
            std.Inquiry,
            {"evpd": 1, "page_code": 0x83},
            "designation_descriptors.0.designatr",
            "(did you mean 'designation_descriptors.0.designator'?)",
        ),
        (
            std.Inquiry,
            {},
            "designation_descriptors.0.designator",
            "Inquiry with evpd=0 has no response field 'designation_descriptors.0.designator':"
            " evpd=1, page_code=0x83 returns it",
        ),
        (
            std.Inquiry,
            {},
            "version_descriptors.8.code",
            "'version_descriptors.8.code': version_descriptors has at most 8 entries (0..7)",
        ),
        (
            std.Inquiry,
            {"evpd": 1, "page_code": 0x83},
            "designation_descriptors.designator",
            "designation_descriptors is a list: give an entry's index, as in"
            " 'designation_descriptors.0.designator'",
        ),
        (
            std.ReadCapacity10,
            {},
            "last_lba",
            "ReadCapacity10 has no response field 'last_lba'; it has:"
            " returned_logical_block_address, logical_block_length_in_bytes",
        ),
        (
            std.ModeSense10,
            {},
            "mode_pages.0.wcee",
            "ModeSense10 has no response field 'mode_pages.0.wcee'"
            " (did you mean 'mode_pages.0.wce'?)",
        ),
        (
            std.PersistentReserveIn,
            {"service_action": 1},
            "reservation_keys.0",
            "service_action=0 returns it",
        ),
        (std.Read10, {}, "data", "Read10 has no response field 'data' (its response has no"),
    ],
)
def test_a_name_no_answer_holds_is_refused(
    cls: type[Command], values: dict[str, int], path: str, words: str
) -> None:
    problem = cls.response_path_problem(path, values)
    assert problem is not None and words in problem, problem


@pytest.mark.parametrize(
    ("cls", "values", "path"),
    [
        (std.Inquiry, {}, "version_descriptors.-1.standard"),
        (std.Inquiry, {"evpd": 1, "page_code": 0x83}, "designation_descriptors.4.designator"),
        (std.Inquiry, {"evpd": 1, "page_code": 0xB0}, "maximum_write_same_length"),
        (std.Inquiry, {"evpd": 1, "page_code": 0xC0}, "vendor_thing"),  # a vendor page
        (std.Inquiry, {"evpd": None}, "anything"),  # EVPD known only at run time
        (std.ModeSense6, {}, "mode_pages.3.d_sense"),  # all pages: any page's fields
        (std.ModeSense6, {"page_code": 0x20}, "mode_pages.0.vendor_bit"),
        (std.ModeSense6, {"page_code": None}, "mode_pages.0.anything"),
        (std.RequestSense, {}, "descriptors.0.field_pointer"),
        (std.ReportSupportedOperationCodes, {"reporting_options": 2}, "support_name"),
    ],
)
def test_a_name_an_answer_may_hold_passes(
    cls: type[Command], values: dict[str, int | None], path: str
) -> None:
    assert cls.response_path_problem(path, values) is None


def test_the_page_asked_for_narrows_the_names() -> None:
    """MODE SENSE of the caching page alone holds no control-page field; of all pages it may."""
    assert std.ModeSense6.response_path_problem("mode_pages.0.d_sense") is None
    problem = std.ModeSense6.response_path_problem("mode_pages.0.d_sense", {"page_code": 0x08})
    assert problem is not None and "'mode_pages.0.d_sense'" in problem


def test_parameter_lists_have_their_fields() -> None:
    assert (
        std.Unmap.parameter_path_problem("unmap_block_descriptors.0.logical_block_address") is None
    )
    problem = std.PersistentReserveOut.parameter_path_problem("reservation_kye")
    assert problem == (
        "PersistentReserveOut has no parameter list field 'reservation_kye'"
        " (did you mean 'reservation_key'?)"
    )
    assert std.ModeSelect10.parameter_path_problem("mode_pages.0.wce") is None
    assert std.ModeSelect10.parameter_path_problem("mode_data_length") is not None  # computed
    assert std.Read10.parameter_fields() is None


def test_a_plugin_decoder_without_a_shape_is_not_checked() -> None:
    class VendorLog(std.Inquiry):  # the standard INQUIRY class's shape no longer holds
        opcode = 0xC1
        decoder = staticmethod(lambda cmd, data: {"temperature": data[0]})

    class VendorStatus(Command):  # no decoder at all: nothing is decoded
        opcode = 0xC2
        length = 6
        direction = Direction.IN
        fields = (F("allocation_length", 4),)

    assert VendorLog.response_fields() is None
    assert VendorLog.response_path_problem("temperature") is None
    assert VendorStatus.response_fields() is shapes.NO_FIELDS
    assert VendorStatus.response_path_problem("temperature") is not None
