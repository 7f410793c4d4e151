"""Fuzzing the command line: ``sense``, ``cdb``, ``--var``, ``--device``, ``-k`` and ``devices``.

Every call runs ``sgscript.cli.main`` in-process (``fuzz_support.run_cli``) and must
keep the contract whatever the input: an exit code of 0-3, never a traceback, a
bounded time, memory and output, and a spec or command-line mistake found before
anything is sent (exit 2, no simulated target opened)..
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fuzz_support import budget, run_cli, scratch_cwd
from hypothesis import assume, example, given
from hypothesis import strategies as st

from sgscript import sim
from sgscript.scsi.catalog import catalog
from sgscript.sim.target import known_options

pytestmark = pytest.mark.slow  # the fuzz suite: seconds per test


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The tests run from a scratch directory, so a relative path any input names lands there."""
    path = tmp_path_factory.mktemp("cli")
    with scratch_cwd(path):
        yield path


# --------------------------------------------------------------- sense and cdb

_HEX_TOKEN = st.one_of(
    st.binary(min_size=1, max_size=40).map(bytes.hex),
    st.binary(min_size=1, max_size=4).map(lambda b: ":".join(f"{x:02x}" for x in b)),
    st.integers(0, 0xFFF).map(lambda n: f"0x{n:x}"),
    st.integers(0, 0xFF).map(lambda n: f"{n:x}"),
    st.text(st.sampled_from("0123456789abcdefABCDEFxhg:, -\t"), max_size=12),
)
_ODD_TOKEN = st.text(max_size=12).filter(lambda t: not t.startswith("-") and "\0" not in t)


@budget(150)
@given(st.lists(_HEX_TOKEN | _ODD_TOKEN, min_size=1, max_size=6), st.booleans())
@example(["72", "00", "00", "00", "00", "00", "00", "ff", "0c", "00"], False)
def test_sense_command_takes_any_hex(tokens: list[str], as_json: bool) -> None:
    out = run_cli(["sense", *(["--json"] if as_json else []), "--", *tokens]).check()
    assert out.code in (0, 2), out
    if out.code == 2:
        assert len(out.error_lines()) == 1 and out.err.startswith("sgscript: error: "), out


@budget(150)
@given(st.lists(_HEX_TOKEN | _ODD_TOKEN, min_size=1, max_size=6), st.booleans())
def test_cdb_decode_takes_any_hex(tokens: list[str], as_json: bool) -> None:
    out = run_cli(["cdb", "--decode", *(["--json"] if as_json else []), "--", *tokens]).check()
    assert out.code in (0, 2), out
    if out.code == 2:
        assert len(out.error_lines()) == 1 and out.err.startswith("sgscript: error: "), out


_CATALOG = catalog()
_NUMBER_TEXT = st.one_of(
    st.integers(-(2**80), 2**80).map(str),
    st.integers(0, 2**70).map(hex),
    st.integers(0, 0xFFFF).map(lambda n: f"{n:x}h"),
    st.sampled_from(
        ["", "true", "off", "1e400", "nan", "-0", "0x", "0b102", "١٢", "1_000", "9" * 400]
    ),
    st.text(max_size=20),
)


@st.composite
def cdb_encode_args(draw: st.DrawFn) -> list[str]:
    cls = _CATALOG[draw(st.sampled_from(sorted(_CATALOG)))]
    names = [f.name for f in cls.layout.fields] + ["lba", "sa", "nonsense"]
    args = [draw(st.sampled_from(sorted(_CATALOG)) | st.just(cls.__name__))]
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(names) | st.text(max_size=8))
        value = draw(_NUMBER_TEXT)
        for f in cls.layout.fields:
            if f.name == name and f.values and draw(st.booleans()):
                value = draw(st.sampled_from(sorted(f.values)))
        args.append(f"{name}={value}")
    return args


@budget(150)
@given(cdb_encode_args(), st.booleans())
def test_cdb_encode_takes_any_field_values(args: list[str], as_json: bool) -> None:
    out = run_cli(["cdb", *(["--json"] if as_json else []), "--", *args]).check()
    assert out.code in (0, 2), out
    if out.code == 2:
        assert len(out.error_lines()) == 1 and out.err.startswith("sgscript: error: "), out


# ------------------------------------------------------------------- --var

KNOBS = """\
sgscript: 1
name: knobs
devices: {a: {target: "sim:knobs?blocks=1024"}}
defaults: {device: a}
vars: {lba: 0, count: 1, times: 2, depth: 1, label: x, fill: 7, size: 512, limit: 10}
on_failure: continue
steps:
  - name: write ${label}
    command: {Write10: {lba: "${lba}", transfer_length: "${count}"}}
    data: {pattern: byte, value: "${fill}"}
    repeat: "${times}"
    queue_depth: "${depth}"
  - name: read back ${label}
    command: {Read10: {lba: "${lba}", transfer_length: "${count}"}}
    expect: {data: {pattern: byte, value: "${fill}"}}
  - name: raw read
    cdb: "28 00 00 00 00 00 00 00 01 00"
    data_in: "${size}"
    expect: {duration: {max: "${limit}"}}
  - name: nap
    sleep: 1ms
"""

#: Variable -> whether a value is one the spec can use (others must be exit 2, nothing sent).
_VALID: dict[str, Any] = {
    "lba": lambda v: _int(v) and 0 <= v < 2**32,  # past 1023 is the device's ILLEGAL REQUEST
    "count": lambda v: _int(v) and 0 <= v <= 0xFFFF,
    "times": lambda v: _int(v) and 0 <= v <= 1000,
    "depth": lambda v: _int(v) and 1 <= v <= 1000,
    "label": lambda v: True,
    "fill": lambda v: _int(v) and 0 <= v <= 255,
    "size": lambda v: _int(v) and 0 <= v <= 1 << 20,
    "limit": lambda v: (_int(v) or isinstance(v, float)) and 0 <= v < 1e9 and math.isfinite(v),
}
#: Values surely wrong for that variable whatever the bounds the fix picks.
_SURELY_BAD: dict[str, Any] = {
    "lba": lambda v: not _int(v) or v < 0 or v >= 2**64,
    "count": lambda v: not _int(v) or v < 0 or v > 0xFFFF,
    "times": lambda v: not _int(v) or v < 0 or v >= 10**18,
    "depth": lambda v: not _int(v) or v < 1,
    "label": lambda v: False,
    "fill": lambda v: not _int(v) or not 0 <= v <= 255,
    "size": lambda v: not _int(v) or v < 0 or v >= 1 << 40,
    "limit": lambda v: (
        isinstance(v, str) or (isinstance(v, float) and not math.isfinite(v)) or v < 0
    ),
}


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_REFUSED = object()  # parse_vars itself refuses the text (not finite, too many bits)


def _yaml_value(text: str) -> Any:
    from sgscript.scenario.load import parse_vars
    from sgscript.scsi.errors import UsageError

    try:
        return parse_vars([f"x={text}"])["x"]
    except UsageError:
        return _REFUSED


_VAR_TEXT = st.one_of(
    st.integers(-(2**70), 2**70).map(str),
    st.integers(0, 300).map(str),
    st.sampled_from(["-1", "0", "1", ".inf", "-.inf", ".nan", "1e400", "1e-400", "1.5", "0x10"]),
    st.sampled_from(["99999999999999999999999", "true", "null", "[1, 2]", "{a: 1}", "'", "\x01"]),
    st.sampled_from(
        ["${1/0}", "${2**4096}", "${'x' * 10**8}", "${lba}", "!!python/object:os.system"]
    ),
    st.text(max_size=30),
    st.text(max_size=20).map(lambda t: t * 500),  # a long value: up to 10,000 characters
)


@st.composite
def var_options(draw: st.DrawFn) -> list[tuple[str, str]]:
    names = draw(st.lists(st.sampled_from(sorted(_VALID)), min_size=1, max_size=3, unique=True))
    return [(n, draw(_VAR_TEXT)) for n in names]


@pytest.fixture(scope="module")
def knobs(workdir: Path) -> Path:
    path = workdir / "knobs.yaml"
    path.write_text(KNOBS)
    return path


def _sent_nothing() -> bool:
    return "knobs" not in sim.targets()


@budget(20)
@given(var_options())
@example([("lba", "-1")])  # issue 8, finding 8: two commands sent, then exit 1
@example([("times", "99999999999999999999999")])
@example([("limit", ".nan")])
def test_var_values_are_checked_before_anything_is_sent(
    knobs: Path, options: list[tuple[str, str]]
) -> None:
    """A --var value the spec cannot use is exit 2 from validate, plan and run alike, nothing sent."""
    argv = [f"--var={name}={text}" for name, text in options]
    values = {name: _yaml_value(text) for name, text in options}
    # a text with ${...} is an expression over the spec's vars: valid or not by its value
    assume(not any(isinstance(v, str) and "${" in v for v in values.values()))
    refused = any(v is _REFUSED for v in values.values())
    valid = not refused and all(_VALID[n](v) for n, v in values.items())
    bad = refused or any(_SURELY_BAD[n](v) for n, v in values.items())
    assume(valid or bad)  # the values in between: the fix decides where its bounds lie
    for command in ("validate", "plan", "run"):
        sim.forget_targets()
        out = run_cli(
            [command, str(knobs), "--seed=1", *argv]
            if command != "validate"
            else [command, str(knobs), *argv]
        ).check()
        if bad:
            assert out.code == 2, (command, values, out)
            assert _sent_nothing(), (command, values, "a command was sent before the exit 2")
        else:
            assert out.code in ((0,) if command != "run" else (0, 1)), (command, values, out)
    sim.forget_targets()


@budget(20)
@given(var_options())
@example([("lba", "${'x' * 10**8}")])  # issue 8, finding 6: a 100 MB line
def test_var_values_never_crash(knobs: Path, options: list[tuple[str, str]]) -> None:
    """Whatever --var says: an exit code of the contract, one-line errors, no traceback."""
    values = {name: _yaml_value(text) for name, text in options}
    values = {name: v for name, v in values.items() if v is not _REFUSED}
    assume(not (_int(values.get("times")) and values["times"] > 1000))  # a long run, not a bug
    assume(not (_int(values.get("size")) and values["size"] > 1 << 26))
    argv = [f"--var={name}={text}" for name, text in options]
    for command in ("validate", "plan", "run"):
        sim.forget_targets()
        run_cli([command, str(knobs), *argv]).check()
    sim.forget_targets()


# ------------------------------------------------------------------ --device

_SIM_OPTIONS = sorted(set(known_options()) - {"file", "backing_file", "latency.<Command>"})
_ODD_VALUES = st.one_of(
    st.sampled_from(
        ["", "0", "-1", "1", "2", "1e400", "1e400s", "1e-400s", "infs", "nans", "-1ms"]
    ),
    st.sampled_from(["99999999999999999999", "0x10", "4k", "1MiB", "999999T", "true", "Read10"]),
    st.sampled_from(
        ["1ms", "uniform:1ms:5ms", "exp:1ms:2ms", "normal:1ms:9e999s", "0-9", "1:read"]
    ),
    st.sampled_from(["ABORTED_COMMAND/47/00", "BUSY", "3:MEDIUM_ERROR", "10-1", "%00", "%FF"]),
    st.integers(-(2**70), 2**70).map(str),
    st.text(max_size=10),
)


@st.composite
def sim_targets(draw: st.DrawFn) -> str:
    """``sim:NAME?k=v&...`` with odd names, options and values; a backing file only in the cwd."""
    name = draw(st.sampled_from(["knobs", "lu0", "x.y-z_1"]) | st.text(max_size=8))
    pairs = []
    for _ in range(draw(st.integers(0, 4))):
        key = draw(
            st.sampled_from([*_SIM_OPTIONS, "latency.Read10", "latency.Nope"]) | st.text(max_size=6)
        )
        pairs.append(f"{key}={draw(_ODD_VALUES)}")
    if draw(st.booleans()) and draw(st.booleans()):
        pairs.append(f"file=disk-{draw(st.integers(0, 3))}.img")
    query = draw(st.sampled_from(["&", ";", "&&"])).join(pairs)
    return f"sim:{name}" + (f"?{query}" if query or draw(st.booleans()) else "")


def _device_ok(target: str) -> bool:
    """Targets whose run may take long legitimately (slow or hanging commands): not fuzzed in run."""
    slow = ("latency", "hang", "hang_every", "task_set_full", "busy_every")
    return not any(f"{k}" in target for k in slow)


@budget(30)
@given(sim_targets(), st.sampled_from(["validate", "plan", "run"]))
@example("sim:knobs?latency=1e400s", "run")  # issue 8, finding 7: OverflowError
@example("sim:knobs?blocks=99999999999999999999", "run")
def test_device_target_strings_never_crash(knobs: Path, target: str, command: str) -> None:
    assume(command != "run" or _device_ok(target) or "1e400" in target)
    argv = [command, str(knobs), f"--device=a={target}"]
    if command == "validate":
        argv = argv[:2]
    sim.forget_targets()
    out = run_cli(argv, seconds=15).check()
    if out.code == 2:
        assert all(
            line.startswith(("sgscript: error: ", str(knobs))) for line in out.error_lines()
        ), out
    sim.forget_targets()


# ---------------------------------------------------------------------- -k

_K_WORD = st.sampled_from(["write", "read", "back", "raw", "nap", "knobs", "x", "Write10"])
_K_OP = st.sampled_from([" and ", " or ", " and not ", " or not "])


@st.composite
def k_expressions(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["flat", "nested", "junk", "deep"]))
    if kind == "flat":
        words = draw(st.lists(_K_WORD, min_size=1, max_size=5))
        expr = words[0]
        for w in words[1:]:
            expr += draw(_K_OP) + w
        return expr
    if kind == "nested":
        depth = draw(st.integers(1, 40))
        return "(" * depth + draw(_K_WORD) + ")" * depth
    if kind == "deep":
        depth = draw(st.integers(200, 3000))
        return (
            draw(st.sampled_from(["(", "not ", "not ("])) * depth
            + draw(_K_WORD)
            + ")" * draw(st.integers(0, depth))
        )
    return draw(st.text(st.sampled_from("()andortx -_.[]:\\\"'"), max_size=40))


@budget(30)
@given(k_expressions(), st.sampled_from(["plan", "run"]))
@example("(" * 1000 + "x" + ")" * 1000, "plan")  # issue 8, finding 7: RecursionError
@example("not " * 1000 + "x", "plan")
def test_k_expressions_never_crash(knobs: Path, expr: str, command: str) -> None:
    sim.forget_targets()
    out = run_cli([command, str(knobs), "-k", expr]).check()
    assert out.code in (0, 1, 2), out
    if out.code == 2:
        assert len(out.error_lines()) == 1, out
    sim.forget_targets()


@budget(40)
@given(k_expressions().filter(lambda e: len(e) < 200), st.sampled_from(["plan", "run"]))
def test_shallow_k_expressions_never_crash(knobs: Path, expr: str, command: str) -> None:
    """-k without deep nesting works today; this keeps it working."""
    sim.forget_targets()
    out = run_cli([command, str(knobs), "-k", expr]).check()
    assert out.code in (0, 1, 2), out
    sim.forget_targets()


# -------------------------------------------------------------------- sysfs

_ATTRS = ["type", "vendor", "model", "rev", "wwid", "vpd_pg80", "vpd_pg83"]


@st.composite
def sysfs_trees(draw: st.DrawFn) -> list[tuple[str, str, Any]]:
    """A recipe of (kind, path, payload): dirs, files, symlinks (loops too), FIFOs, huge files."""
    recipe: list[tuple[str, str, Any]] = []
    for i in range(draw(st.integers(0, 3))):
        node = draw(st.sampled_from([f"sg{i}", f"sg{2**70}", "sgx", "sg-1"]))
        base = f"class/scsi_generic/{node}"
        kind = draw(st.sampled_from(["dir", "link", "loop", "file", "dangling"]))
        if kind == "dir":
            recipe.append(("dir", f"devices/{i}:0:0:0", None))
            recipe.append(("link", f"{base}/device", f"../../../devices/{i}:0:0:0"))
            for attr in draw(st.lists(st.sampled_from(_ATTRS), max_size=4, unique=True)):
                how = draw(
                    st.sampled_from(["text", "bytes", "huge", "fifo", "zero", "loop", "dir"])
                )
                payload: Any
                if how == "text":
                    payload = draw(st.text(max_size=40))
                elif how == "bytes":
                    payload = draw(st.binary(max_size=300))
                else:
                    payload = None
                recipe.append((how, f"devices/{i}:0:0:0/{attr}", payload))
            if draw(st.booleans()):
                recipe.append(("text", f"{base}/uevent", draw(st.text(max_size=40))))
            if draw(st.booleans()):
                recipe.append(("loop", f"devices/{i}:0:0:0/block", None))
        elif kind == "link":
            recipe.append(("link", base, "."))
        elif kind == "loop":
            recipe.append(("loop", f"{base}/device", None))
        elif kind == "file":
            recipe.append(("bytes", base, draw(st.binary(max_size=20))))
        else:
            recipe.append(("link", base, "nowhere"))
    return recipe


def _build(root: Path, recipe: list[tuple[str, str, Any]]) -> None:
    for how, rel, payload in recipe:
        path = root / rel
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:  # an earlier entry made a file or a link where this needs a directory
            continue
        if path.exists() or path.is_symlink():
            continue
        if how == "dir":
            path.mkdir(parents=True)
        elif how == "text":
            path.write_text(payload, errors="replace")
        elif how == "bytes":
            path.write_bytes(payload)
        elif how == "huge":  # sparse: 2 GiB of zeros that take no disk
            with open(path, "wb") as f:
                f.truncate(2 << 30)
        elif how == "fifo":
            os.mkfifo(path)
        elif how == "zero":  # an attribute that never ends
            path.symlink_to("/dev/zero")
        elif how == "loop":
            path.symlink_to(path.name)
        elif how == "link":
            path.symlink_to(payload)


@budget(25)
@given(sysfs_trees())
@example(
    [
        ("dir", "devices/0:0:0:0", None),
        ("link", "class/scsi_generic/sg0/device", "../../../devices/0:0:0:0"),
        ("loop", "class/scsi_generic/sg1/device", None),
    ]
)  # issue 8, finding 7
@example(
    [
        ("dir", "devices/0:0:0:0", None),
        ("link", "class/scsi_generic/sg0/device", "../../../devices/0:0:0:0"),
        ("zero", "devices/0:0:0:0/vendor", None),
    ]
)  # never ends
def test_devices_over_any_sysfs_tree(
    tmp_path_factory: pytest.TempPathFactory, recipe: list[tuple[str, str, Any]]
) -> None:
    root = tmp_path_factory.mktemp("sysfs")
    _build(root, recipe)
    out = run_cli(["devices", "--sysfs-root", str(root), "--json"], seconds=10).check()
    assert out.code in (0, 2, 3), out


@budget(40)
@given(sysfs_trees().map(lambda r: [s for s in r if s[0] not in ("huge", "fifo", "zero", "loop")]))
def test_devices_over_plain_sysfs_trees(
    tmp_path_factory: pytest.TempPathFactory, recipe: list[tuple[str, str, Any]]
) -> None:
    """Odd names, odd attribute bytes, dangling links: all fine today; this keeps them fine."""
    root = tmp_path_factory.mktemp("sysfs")
    _build(root, recipe)
    out = run_cli(["devices", "--sysfs-root", str(root), "--json"], seconds=10).check()
    assert out.code == 0, out
