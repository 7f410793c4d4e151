"""sgscript's benchmark: the goals' table, each marked met or not, as text and JSON.

One command runs it all, so that a claim about speed is always a measured one:

* host part (unless ``--no-host``): the whole pipeline on ``sim:`` per CPU-second
  (TEST UNIT READY, random 4 KiB READ, READ with an ``lba`` pattern check,
  64 devices against one, what ``--log-commands`` costs), start-up wall times of
  the ``sgscript`` command, and peak memory over 100k and 1M commands with and
  without per-command logging;
* guest part (``--sg /dev/sgN``, repeatable; read-only commands): sgscript side by
  side with fio ``--ioengine=sg``, sg_dd, sg_turs and a bare ctypes SG_IO loop
  (``bare_sgio.py``) on the same node, every pair repeated to show its noise:
  random 4 KiB reads at QD1/16/32/64, CPU per command, QD1 latency, sequential
  64 KiB reads of the whole disk, TEST UNIT READY;
* ``--lane``: the host part here, then the guest part inside the kernel lane's
  QEMU guest (``benchmarks/kernel.sh``), merged into one table.

sgscript is driven as users drive it: YAML specs written to a temporary
directory, loaded and run with ``run_scenario`` (the CLI's own path) or the
``sgscript`` command itself.  Rates are per wall second of the step (real sg) or
per CPU second of the step (``sim:``); CPU is this process's user + system time.

    python benchmarks/sgbench.py                       # host part, ~70 s
    python benchmarks/sgbench.py --quick               # tiny sizes: a smoke run, no meaning
    python benchmarks/sgbench.py --no-host --sg /dev/sg1 --json out.json   # in a guest
    python benchmarks/sgbench.py --lane --json out/bench/all.json          # everything
    python benchmarks/sgbench.py --profile read        # cProfile of one host case
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import io
import json
import os
import platform
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402 (after the path: this checkout's sgscript, not an installed one)

from benchmarks import bare_sgio  # noqa: E402
from sgscript import __version__, sim  # noqa: E402
from sgscript.report.jsonl import JsonlReporter  # noqa: E402
from sgscript.runner import ScenarioResult, StepResult, run_scenario  # noqa: E402
from sgscript.scenario.load import load_scenario  # noqa: E402

SEED = 1
#: Issue 10's goals, in one place: the table prints them and marks each met or not.
GOAL_SIM_TUR = 250_000
GOAL_SIM_READ = 120_000
GOAL_SIM_CHECK = 60_000
GOAL_SIM_64 = 0.8
GOAL_LOG_COST = 0.25
GOAL_VERSION_MS = 150
GOAL_RUN_MS = 300
GOAL_VALIDATE_MS = 1000
GOAL_MEM_GROWTH_MB = 10
GOAL_MEM_PEAK_MB = 80
GOAL_VS_BARE = 0.9
GOAL_QD1_VS_FIO = 0.5
GOAL_VS_PEER = 0.9
GOAL_CPU_X = 2.0
GOAL_LAT_X = 1.3


class BenchError(RuntimeError):
    """A measurement could not be made (a scenario did not pass, a tool failed)."""


# -- rows of the table -----------------------------------------------------------------


@dataclass
class Check:
    """One goal: ``subject`` ("value" or "ratio") ``op`` ("<=", ">=", "<") ``limit``."""

    subject: str
    op: str
    limit: float

    def holds(self, value: float, ratio: float | None) -> bool | None:
        x = value if self.subject == "value" else ratio
        if x is None:
            return None
        return {"<=": x <= self.limit, ">=": x >= self.limit, "<": x < self.limit}[self.op]


@dataclass
class Row:
    """A line of the table: sgscript's figures against a peer's, one value per repetition.

    ``compare`` says how the ratio column is made from a pair: ``ratio``
    (sgscript / peer), ``cost`` (1 - sgscript / peer) or ``diff`` (sgscript - peer).
    """

    id: str
    work: str
    unit: str
    sgscript: list[float]
    peer_name: str | None = None
    peer: list[float] | None = None
    missing: str | None = None  # why there is no peer figure (tool not found, failed)
    compare: str = "ratio"
    goal: str = ""
    checks: list[Check] = field(default_factory=list)
    note: str = ""

    def pairs(self) -> list[float]:
        if not self.peer:
            return []
        out = []
        for a, b in zip(self.sgscript, self.peer, strict=False):
            if self.compare == "diff":
                out.append(a - b)
            elif b:
                out.append(1 - a / b if self.compare == "cost" else a / b)
        return out

    def ratio(self) -> float | None:
        pairs = self.pairs()
        return statistics.median(pairs) if pairs else None

    def met(self) -> bool | None:
        if not self.checks:
            return None
        value = statistics.median(self.sgscript)
        results = [c.holds(value, self.ratio()) for c in self.checks]
        if any(r is None for r in results):
            return None
        return all(results)

    def to_dict(self) -> dict[str, Any]:
        def series(values: Sequence[float] | None) -> dict[str, Any] | None:
            if not values:
                return None
            return {
                "median": statistics.median(values),
                "min": min(values),
                "max": max(values),
                "values": list(values),
            }

        return {
            "id": self.id,
            "work": self.work,
            "unit": self.unit,
            "sgscript": series(self.sgscript),
            "peer_name": self.peer_name,
            "peer": series(self.peer),
            "missing": self.missing,
            "compare": self.compare,
            "ratio": series(self.pairs()),
            "goal": self.goal,
            "checks": [[c.subject, c.op, c.limit] for c in self.checks],
            "met": self.met(),
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Row:
        """The row back from ``to_dict`` (the guest part's JSON, merged by ``--lane``)."""
        return cls(
            d["id"],
            d["work"],
            d["unit"],
            d["sgscript"]["values"],
            d["peer_name"],
            d["peer"]["values"] if d["peer"] else None,
            d["missing"],
            d["compare"],
            d["goal"],
            [Check(*c) for c in d["checks"]],
            d["note"],
        )


def _num(x: float, unit: str) -> str:
    if unit in ("/s", "IOPS"):
        return f"{x:,.0f}"
    if unit in ("µs", "ms", "MB/s", "MB"):
        return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}"
    return f"{x:.3g}"


def _series_text(values: Sequence[float], unit: str) -> str:
    mid = _num(statistics.median(values), unit)
    text = f"{mid} {unit}" if unit != "/s" else f"{mid}/s"
    if len(values) > 1:
        text += f" ({_num(min(values), unit)}-{_num(max(values), unit)})"
    return text


def _ratio_text(row: Row) -> str:
    pairs = row.pairs()
    if not pairs:
        return "—"
    if row.compare == "cost":
        fmt: Callable[[float], str] = lambda x: f"{x * 100:.0f} %"  # noqa: E731
    elif row.compare == "diff":
        fmt = lambda x: f"{x:+.1f} {row.unit}"  # noqa: E731
    else:
        fmt = lambda x: f"{x:.2f}"  # noqa: E731
    text = fmt(statistics.median(pairs))
    if len(pairs) > 1:
        text += f" ({fmt(min(pairs))} to {fmt(max(pairs))})"
    return text


def table(rows: Sequence[Row]) -> str:
    """The goals table in Markdown: work | sgscript | peer | ratio | goal | met?"""
    lines = ["| work | sgscript | peer | ratio | goal | met? |", "|---|---|---|---|---|---|"]
    for row in rows:
        if row.peer:
            peer = f"{row.peer_name}: {_series_text(row.peer, row.unit)}"
        elif row.missing:
            peer = f"{row.peer_name or 'peer'}: not measured ({row.missing})"
        else:
            peer = "—"
        met = row.met()
        mark = "—" if not row.checks else {True: "yes", False: "**no**", None: "n/a"}[met]
        lines.append(
            f"| {row.work} | {_series_text(row.sgscript, row.unit)} | {peer} | {_ratio_text(row)}"
            f" | {row.goal or '—'} | {mark} |"
        )
    return "\n".join(lines)


# -- running sgscript as users do ----------------------------------------------------------


@dataclass
class StepRun:
    """One step as its run saw it: commands, wall seconds, CPU seconds, latency (s)."""

    count: int
    wall: float
    cpu: float
    p50: float | None = None
    p99: float | None = None


class StepClock:
    """A reporter noting process time at each step's start and end: CPU per step, not per run."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self._start: dict[str, float] = {}

    def step_started(self, step: Any, path: str) -> None:
        self._start[path] = time.process_time()

    def step_finished(self, result: StepResult) -> None:
        start = self._start.pop(result.path, None)
        if start is not None:
            self.cpu[result.path] = time.process_time() - start


def dump_spec(
    name: str,
    devices: dict[str, Any],
    steps: list[dict[str, Any]],
    variables: dict[str, Any] | None = None,
) -> str:
    """A spec as a user would write it (YAML), from plain data."""
    doc: dict[str, Any] = {"sgscript": 1, "name": name, "devices": devices}
    if variables:
        doc["vars"] = variables
    doc["steps"] = steps
    return yaml.safe_dump(doc, sort_keys=False, width=1000)


def run_spec(
    workdir: Path,
    name: str,
    text: str,
    *,
    log: bool = False,
    log_commands: bool = False,
) -> dict[str, StepRun]:
    """Write ``text`` as ``workdir/name.yaml``, run it (JSONL log when ``log``), steps by path.

    The spec must pass: a benchmark of commands that failed would measure nothing.
    """
    spec = workdir / f"{name}.yaml"
    spec.write_text(text)
    scenario = load_scenario(spec)
    clock = StepClock()
    reporters: list[Any] = []
    log_path = workdir / f"{name}.jsonl"
    jsonl = JsonlReporter(log_path, log_commands=log_commands) if log or log_commands else None
    if jsonl is not None:
        reporters.append(jsonl)
    reporters.append(clock)
    sim.forget_targets()
    gc.collect()
    try:
        result: ScenarioResult = run_scenario(
            scenario, seed=SEED, reporter=reporters, log_commands=log_commands
        )
    finally:
        if jsonl is not None:
            jsonl.close()
        sim.forget_targets()
    if result.status != "passed":
        bad = [
            f"{s.path} {s.name}: {s.status} {s.message}"
            for s in result.steps
            if s.status != "passed"
        ]
        raise BenchError(f"{name}: scenario {result.status}: {'; '.join(bad) or result.message}")
    latency: dict[str, tuple[float, float]] = {}
    if jsonl is not None:
        with open(log_path, encoding="utf-8") as f:
            for line in f:
                if '"type":"step"' not in line:
                    continue
                record = json.loads(line)
                if record.get("latency"):
                    latency[record["path"]] = (record["latency"]["p50"], record["latency"]["p99"])
        log_path.unlink()
    steps = {}
    for s in result.steps:
        count = s.count
        if s.kind == "parallel":
            count = sum(c.count for c in result.steps if c.path.startswith(s.path + "."))
        p50, p99 = latency.get(s.path, (None, None))
        steps[s.path] = StepRun(count, s.duration, clock.cpu.get(s.path, 0.0), p50, p99)
    return steps


def sgscript_command() -> list[str]:
    """The ``sgscript`` console script next to this Python (what users type), else ``-m``."""
    script = Path(sys.executable).parent / "sgscript"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "sgscript"]


def child_env() -> dict[str, str]:
    """This checkout first on the path of a child Python (an installed copy may differ), and
    byte code written as an installed package has it (start-up is measured with .pyc)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def run_child(argv: Sequence[str], cwd: Path | None = None) -> float:
    """Run a command to its end; its wall seconds. Raises ``BenchError`` unless exit 0."""
    start = time.perf_counter()
    proc = subprocess.run(
        argv, cwd=cwd, env=child_env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - start
    if proc.returncode:
        raise BenchError(f"{' '.join(argv)}: exit {proc.returncode}: {_tail(proc.stderr.decode())}")
    return wall


#: Started by a small Python without site (a few MB), it spawns the command and prints the
#: command's peak RSS: a child made by this (large) process would inherit its peak, since
#: Linux carries ru_maxrss across fork and exec.
_PEAK_RSS = """
import os, sys
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_rss(argv: Sequence[str], cwd: Path | None = None) -> float:
    """Peak resident set of a command, in MB (10^6 bytes). Raises ``BenchError`` unless exit 0."""
    exe = argv[0] if os.sep in argv[0] else shutil.which(argv[0]) or argv[0]
    proc = subprocess.run(
        [sys.executable, "-S", "-c", _PEAK_RSS, exe, *argv[1:]], cwd=cwd, env=child_env(),
        stdin=subprocess.DEVNULL, capture_output=True, check=False,
    )  # fmt: skip
    if proc.returncode:
        raise BenchError(f"{' '.join(argv)}: exit {proc.returncode}: {_tail(proc.stderr.decode())}")
    return int(proc.stdout.split()[-1]) * 1024 / 1e6


# -- host part: sim: -----------------------------------------------------------------------


@dataclass
class Sizes:
    """How much each measurement does; ``--quick`` makes them tiny (a smoke run)."""

    reps: int = 3
    sim_n: int = 100_000
    mem_small: int = 100_000
    mem_large: int = 1_000_000
    startup_reps: int = 5
    reads: int = 10_000
    turs: int = 20_000
    seq_bytes: int | None = None  # None: the whole disk

    @classmethod
    def quick(cls) -> Sizes:
        return cls(1, 2_000, 1_000, 10_000, 1, 200, 200, 2 * 2**20)


SIM_BLOCKS = 1 << 20  # 512 MiB of 512-byte blocks, sparse
CHECK_BLOCKS = 8192  # the region the pattern check reads back (written first)


def _tur(device: str, n: int | str, qd: int, name: str = "work") -> dict[str, Any]:
    return {
        "name": name,
        "device": device,
        "command": "TestUnitReady",
        "repeat": n,
        "queue_depth": qd,
    }


def _read(device: str, n: int, qd: int, last: int, blocks: int = 8) -> dict[str, Any]:
    return {
        "name": "work",
        "device": device,
        "command": {"Read10": {"lba": {"random": [0, last]}, "transfer_length": blocks}},
        "repeat": n,
        "queue_depth": qd,
    }


def host_rates(workdir: Path, sizes: Sizes, say: Callable[[str], None]) -> list[Row]:
    """Commands per CPU-second of the step on ``sim:``, each case ``sizes.reps`` times."""
    n = sizes.sim_n
    dev = {"a": f"sim:bench?blocks={SIM_BLOCKS}"}
    per_64 = max(1, n // 64)
    cases: dict[str, Callable[[], float]] = {}

    def rate(name: str, text: str, *, path: str = "1", **kw: bool) -> float:
        step = run_spec(workdir, name, text, **kw)[path]
        return step.count / step.cpu

    cases["tur"] = lambda: rate("tur", dump_spec("tur", dev, [_tur("a", n, 32)]))
    cases["read"] = lambda: rate(
        "read", dump_spec("read", dev, [_read("a", n, 32, SIM_BLOCKS - 8)])
    )
    fill = {
        "name": "fill",
        "device": "a",
        "command": {"Write10": {"lba": "${index * 128}", "transfer_length": 128}},
        "data": {"pattern": "lba", "seed": 7},
        "repeat": CHECK_BLOCKS // 128,
        "queue_depth": 8,
    }
    check = {
        **_read("a", n, 32, CHECK_BLOCKS - 8),
        "expect": {"data": {"pattern": "lba", "seed": 7}},
    }
    plain = _read("a", n, 32, CHECK_BLOCKS - 8)
    cases["check"] = lambda: rate("check", dump_spec("check", dev, [fill, check]), path="2")
    cases["check_plain"] = lambda: rate("plain", dump_spec("plain", dev, [fill, plain]), path="2")
    devices64 = {f"d{i}": f"sim:m{i}?blocks=2048" for i in range(64)}
    group = {"name": "work", "parallel": [_tur(f"d{i}", per_64, 32, f"b{i}") for i in range(64)]}
    cases["dev64"] = lambda: rate("dev64", dump_spec("dev64", devices64, [group]))
    cases["dev1"] = lambda: rate(
        "dev1", dump_spec("dev1", {"d0": "sim:m0?blocks=2048"}, [_tur("d0", per_64 * 64, 32)])
    )
    cases["log"] = lambda: rate("log", dump_spec("log", dev, [_tur("a", n, 32)]), log=True)
    cases["log_commands"] = lambda: rate(
        "logc", dump_spec("logc", dev, [_tur("a", n, 32)]), log=True, log_commands=True
    )
    got: dict[str, list[float]] = {k: [] for k in cases}
    for rep in range(sizes.reps):
        for key, case in cases.items():  # interleaved: a pair sees the same machine
            got[key].append(case())
        say(f"host sim: repetition {rep + 1}/{sizes.reps} done")
    cost = statistics.median(
        1 - c / p for c, p in zip(got["check"], got["check_plain"], strict=True)
    )
    return [
        Row(
            "sim_tur_qd32",
            "sim: TEST UNIT READY, QD32, per CPU-second",
            "/s",
            got["tur"],
            goal=f"≥ {GOAL_SIM_TUR:,}/s",
            checks=[Check("value", ">=", GOAL_SIM_TUR)],
        ),
        Row(
            "sim_read_qd32",
            "sim: random 4 KiB READ(10), QD32, per CPU-second",
            "/s",
            got["read"],
            goal=f"≥ {GOAL_SIM_READ:,}/s",
            checks=[Check("value", ">=", GOAL_SIM_READ)],
        ),
        Row(
            "sim_read_check",
            "sim: random 4 KiB READ(10) with an `lba` pattern check, QD32, per CPU-second",
            "/s",
            got["check"],
            "the same reads unchecked",
            got["check_plain"],
            goal=f"≥ {GOAL_SIM_CHECK:,}/s",
            checks=[Check("value", ">=", GOAL_SIM_CHECK)],
            note=f"the check is {cost * 100:.0f} % of the checked run",
        ),
        Row(
            "sim_64_devices",
            "sim: TUR QD32 on 64 devices at once (one parallel step) vs one device, per CPU-second",
            "/s",
            got["dev64"],
            "one device",
            got["dev1"],
            goal=f"≥ {GOAL_SIM_64}",
            checks=[Check("ratio", ">=", GOAL_SIM_64)],
        ),
        Row(
            "sim_log_commands",
            "sim: TUR QD32 with `--log --log-commands` vs `--log`, per CPU-second",
            "/s",
            got["log_commands"],
            "`--log` only",
            got["log"],
            compare="cost",
            goal=f"cost ≤ {GOAL_LOG_COST * 100:.0f} %",
            checks=[Check("ratio", "<=", GOAL_LOG_COST)],
        ),
    ]


def host_startup(workdir: Path, sizes: Sizes) -> list[Row]:
    """Wall time of the ``sgscript`` command: --version, a one-step run, validate of specs/."""
    cmd = sgscript_command()
    one = workdir / "one.yaml"
    one.write_text(
        dump_spec("one", {"a": "sim:one"}, [{"device": "a", "command": "TestUnitReady"}])
    )
    specs = sorted(str(p) for p in (ROOT / "specs").glob("*.yaml"))
    argvs = {
        "version": [*cmd, "--version"],
        "run": [*cmd, "run", str(one)],
        "validate": [*cmd, "validate", *specs],
    }
    if sizes.startup_reps > 1:  # once unmeasured: byte code written, files in the page cache
        for argv in argvs.values():
            run_child(argv, cwd=workdir)
    got: dict[str, list[float]] = {k: [] for k in argvs}
    for _ in range(sizes.startup_reps):
        for key, argv in argvs.items():
            got[key].append(run_child(argv, cwd=workdir) * 1000)
    how = " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))
    return [
        Row(
            "startup_version",
            f"start-up: `{how} --version`, wall",
            "ms",
            got["version"],
            goal=f"≤ {GOAL_VERSION_MS} ms",
            checks=[Check("value", "<=", GOAL_VERSION_MS)],
        ),
        Row(
            "startup_run",
            f"start-up: `{how} run` of a one-step spec on sim:, wall",
            "ms",
            got["run"],
            goal=f"≤ {GOAL_RUN_MS} ms",
            checks=[Check("value", "<=", GOAL_RUN_MS)],
        ),
        Row(
            "startup_validate",
            f"`{how} validate` of specs/*.yaml ({len(specs)} specs), wall",
            "ms",
            got["validate"],
            goal=f"≤ {GOAL_VALIDATE_MS:,} ms",
            checks=[Check("value", "<=", GOAL_VALIDATE_MS)],
        ),
    ]


def host_memory(workdir: Path, sizes: Sizes) -> list[Row]:
    """Peak RSS of ``sgscript run`` (its own process) at two sizes, with and without logging."""
    cmd = sgscript_command()
    spec = workdir / "memory.yaml"
    spec.write_text(dump_spec("memory", {"a": "sim:mem"}, [_tur("a", "${n}", 32)], {"n": 1}))
    log = workdir / "memory.jsonl"
    rows = []
    for logged in (False, True):
        peaks = {}
        for n in (sizes.mem_small, sizes.mem_large):
            argv = [*cmd, "run", str(spec), "--var", f"n={n}"]
            if logged:
                argv += ["--log", str(log), "--log-commands"]
            peaks[n] = peak_rss(argv, cwd=workdir)
            log.unlink(missing_ok=True)
        small, large = sizes.mem_small, sizes.mem_large
        what = "with `--log FILE --log-commands`" if logged else "no log"
        rows.append(
            Row(
                "memory_logged" if logged else "memory",
                f"memory: peak RSS of `sgscript run`, TUR x{large:,} vs x{small:,}, {what}",
                "MB",
                [peaks[large]],
                f"x{small:,}",
                [peaks[small]],
                compare="diff",
                goal=f"≤ +{GOAL_MEM_GROWTH_MB} MB, < {GOAL_MEM_PEAK_MB} MB",
                checks=[
                    Check("ratio", "<=", GOAL_MEM_GROWTH_MB),
                    Check("value", "<", GOAL_MEM_PEAK_MB),
                ],
            )
        )
    return rows


def host_part(sizes: Sizes, say: Callable[[str], None]) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="sgbench-") as tmp:
        workdir = Path(tmp)
        rows = host_rates(workdir, sizes, say)
        say("host: start-up")
        rows += host_startup(workdir, sizes)
        say("host: memory")
        rows += host_memory(workdir, sizes)
    return rows


# -- guest part: a real sg node ------------------------------------------------------------


@dataclass
class Node:
    """An sg node to measure, its label for the table and what sysfs says of it."""

    label: str
    path: str
    model: str = ""
    blocks: int = 0
    block_length: int = 0
    scsi_debug_delay: str | None = None

    @classmethod
    def parse(cls, text: str) -> Node:
        label, _, path = text.rpartition("=")
        node = cls(label, path)
        sysfs = Path("/sys/class/scsi_generic") / Path(path).name / "device"
        with suppress(OSError):
            node.model = (sysfs / "model").read_text().strip()
        if node.model == "scsi_debug":
            with suppress(OSError):
                delay = Path("/sys/bus/pseudo/drivers/scsi_debug/delay").read_text().strip()
                node.scsi_debug_delay = delay
        if not node.label:
            node.label = (
                re.sub(r"[^A-Za-z0-9_]+", "_", node.model).strip("_").lower() or Path(path).name
            )
        return node


def _tail(text: str) -> str:
    """The last line a tool printed, for a row's note (short: it goes into the table)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:200] if lines else "no output"


def _tool(name: str) -> str | None:
    return shutil.which(name)


def fio(node: Node, n: int, depth: int, jobs: int) -> dict[str, float]:
    """fio ``--ioengine=sg`` random 4 KiB reads; IOPS, CPU seconds per command, lat/clat p50/p99 (s)."""
    exe = _tool("fio")
    if exe is None:
        raise FileNotFoundError("fio not found on PATH")
    per_job = max(1, n // jobs)
    argv = [
        exe,
        "--name=sgbench",
        f"--filename={node.path}",
        "--ioengine=sg",
        "--rw=randread",
        "--bs=4k",
        f"--iodepth={depth}",
        f"--numjobs={jobs}",
        f"--io_size={per_job * 4096}",
        "--randrepeat=0",
        "--norandommap",
        "--lat_percentiles=1",
        "--clat_percentiles=1",
        "--output-format=json",
    ]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    out = proc.stdout
    try:
        data = json.loads(out[out.index("{") :])
    except ValueError:
        raise BenchError(f"fio exit {proc.returncode}, no JSON: {_tail(proc.stderr)}") from None
    errors = {job.get("error") for job in data["jobs"]} - {0, None}
    if proc.returncode or errors:
        why = ", ".join(os.strerror(e) for e in sorted(errors)) or _tail(proc.stderr)
        raise BenchError(f"fio exit {proc.returncode}: {why}")
    ios = cpu = 0.0
    runtime = 0.0
    lat: dict[str, float] = {}
    for job in data["jobs"]:
        read = job["read"]
        ios += read["total_ios"]
        run_ms = job.get("job_runtime") or read["runtime"]
        runtime = max(runtime, read["runtime"] / 1000)
        cpu += (job["usr_cpu"] + job["sys_cpu"]) / 100 * run_ms / 1000
        if jobs == 1:
            for kind in ("lat_ns", "clat_ns"):
                pct = read.get(kind, {}).get("percentile") or {}
                for key, name in (("50.000000", "p50"), ("99.000000", "p99")):
                    if key in pct:
                        lat[f"{kind[:-3]}_{name}"] = pct[key] / 1e9
    if not ios or not runtime:
        raise BenchError("fio did no I/O")
    return {"iops": ios / runtime, "cpu": cpu / ios, **lat}


def sg_dd(node: Node, blocks: int) -> float:
    """MB/s (10^6 bytes) of sg_dd's own timing: ``blocks`` blocks, 64 KiB per command."""
    exe = _tool("sg_dd")
    if exe is None:
        raise FileNotFoundError("sg_dd not found on PATH")
    bpt = 65536 // node.block_length
    argv = [exe, f"if={node.path}", "of=/dev/null", f"bs={node.block_length}", f"bpt={bpt}",
            f"count={blocks}", "time=1"]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=3600)
    text = proc.stdout + proc.stderr
    if proc.returncode:
        raise BenchError(f"sg_dd exit {proc.returncode}: {_tail(text)}")
    m = re.search(r"time to transfer data\D*([0-9.]+)\s+secs", text)
    if not m or not float(m.group(1)):
        raise BenchError(f"sg_dd printed no time: {_tail(text)}")
    return blocks * node.block_length / float(m.group(1)) / 1e6


def sg_turs(node: Node, n: int) -> float:
    """TEST UNIT READY per second by ``sg_turs -n N -t``'s own timing."""
    exe = _tool("sg_turs")
    if exe is None:
        raise FileNotFoundError("sg_turs not found on PATH")
    proc = subprocess.run(
        [exe, "-n", str(n), "-t", node.path], capture_output=True, text=True, timeout=3600
    )
    text = proc.stdout + proc.stderr
    if proc.returncode:
        raise BenchError(f"sg_turs exit {proc.returncode}: {_tail(text)}")
    m = re.search(r"time to perform commands\D*([0-9.]+)\s+secs", text)
    if not m or not float(m.group(1)):
        raise BenchError(f"sg_turs printed no time: {_tail(text)}")
    return n / float(m.group(1))


def channel_turs(node: Node, n: int) -> float:
    """TEST UNIT READY per second through the library's ``Channel.execute`` (SG_IO when idle)."""
    from sgscript import Channel
    from sgscript.scsi.commands import TestUnitReady

    ch = Channel.open(node.path)
    try:
        ch.execute(TestUnitReady(), check=False)
        execute = ch.execute
        start = time.perf_counter()
        for _ in range(n):
            execute(TestUnitReady())
        return n / (time.perf_counter() - start)
    finally:
        ch.close()


class Measured:
    """Figures per (kind) per repetition, and the first reason a peer could not be measured."""

    def __init__(self) -> None:
        self.values: dict[str, list[float]] = {}
        self.missing: dict[str, str] = {}

    def add(self, key: str, value: float) -> None:
        self.values.setdefault(key, []).append(value)

    def peer(self, key: str, fn: Callable[[], float | dict[str, float]]) -> None:
        """Run a peer measurement; a missing or failing tool is noted for its rows, not fatal."""
        if key in self.missing:
            return
        try:
            got = fn()
        except (FileNotFoundError, BenchError, OSError, subprocess.TimeoutExpired) as exc:
            self.missing[key] = str(exc) or type(exc).__name__
            return
        if isinstance(got, dict):
            for k, v in got.items():
                self.add(f"{key}.{k}", v)
        else:
            self.add(key, got)


def guest_node(
    node: Node, sizes: Sizes, workdir: Path, say: Callable[[str], None], raw: dict[str, Any]
) -> list[Row]:
    """Every side-by-side pair on one node, ``sizes.reps`` times, interleaved; figures into ``raw``."""
    node.blocks, node.block_length = bare_sgio.capacity(node.path)
    bl = node.block_length
    per4k = max(1, 4096 // bl)
    last = node.blocks - per4k
    seq_blocks = node.blocks if sizes.seq_bytes is None else min(node.blocks, sizes.seq_bytes // bl)
    per64k = max(1, 65536 // bl)
    seq_n = seq_blocks // per64k
    seq_blocks = seq_n * per64k
    dev = {"d": node.path}
    m = Measured()

    def sgs(key: str, step: dict[str, Any]) -> None:
        run = run_spec(workdir, key, dump_spec(key, dev, [step]), log=True)["1"]
        m.add(f"{key}.rate", run.count / run.wall)
        if key == "seq":
            m.add("seq.mbs", run.count * per64k * bl / run.wall / 1e6)
        m.add(f"{key}.cpu", run.cpu / run.count)
        if run.p50 is not None and run.p99 is not None:
            m.add(f"{key}.p50", run.p50)
            m.add(f"{key}.p99", run.p99)

    seq_step = {
        "name": "work",
        "device": "d",
        "command": {"Read10": {"lba": f"${{index * {per64k}}}", "transfer_length": per64k}},
        "repeat": seq_n,
        "queue_depth": 1,
    }
    for rep in range(sizes.reps):
        sgs("tur", _tur("d", sizes.turs, 1))
        m.peer("sg_turs", lambda: sg_turs(node, sizes.turs))
        bare = bare_sgio.tur_loop(node.path, sizes.turs)
        m.add("bare_tur", bare.rate)
        m.add("channel_tur", channel_turs(node, sizes.turs))
        say(f"guest {node.label} {rep + 1}/{sizes.reps}: TEST UNIT READY")
        for depth, jobs in ((1, 1), (16, 1), (32, 2), (64, 4)):
            sgs(f"qd{depth}", _read("d", sizes.reads, depth, last, per4k))
            m.peer(f"fio{depth}", partial(fio, node, sizes.reads, min(depth, 16), jobs))
            if depth == 1:
                bare = bare_sgio.read_loop(node.path, sizes.reads, per4k, SEED)
                m.add("bare_read", bare.rate)
                m.add("bare_read.cpu", bare.cpu_per_command)
            say(f"guest {node.label} {rep + 1}/{sizes.reps}: random reads QD{depth}")
        sgs("seq", seq_step)
        m.peer("sg_dd", lambda: sg_dd(node, seq_blocks))
        say(f"guest {node.label} {rep + 1}/{sizes.reps}: sequential reads")
    raw[node.label] = {"values": m.values, "missing": m.missing}
    return guest_rows(node, m, seq_blocks)


def guest_rows(node: Node, m: Measured, seq_blocks: int) -> list[Row]:
    v, miss = m.values, m.missing
    lab = node.label
    rows = [
        Row(
            f"{lab}.read_qd1_fio",
            f"{lab}: random 4 KiB read, QD1, vs fio",
            "/s",
            v["qd1.rate"],
            "fio sg iodepth 1",
            v.get("fio1.iops"),
            miss.get("fio1"),
            goal=f"≥ {GOAL_QD1_VS_FIO}",
            checks=[Check("ratio", ">=", GOAL_QD1_VS_FIO)],
        ),
        Row(
            f"{lab}.read_qd1_bare",
            f"{lab}: random 4 KiB read, QD1, vs a bare SG_IO loop",
            "/s",
            v["qd1.rate"],
            "bare_sgio.py READ(10)",
            v["bare_read"],
            goal=f"≥ {GOAL_VS_BARE}",
            checks=[Check("ratio", ">=", GOAL_VS_BARE)],
        ),
    ]
    for depth, jobs in ((16, 1), (32, 2), (64, 4)):
        peer = "fio sg iodepth 16" if jobs == 1 else f"fio sg {jobs}x16 jobs"
        rows.append(
            Row(
                f"{lab}.read_qd{depth}",
                f"{lab}: random 4 KiB read, QD{depth} (one sgscript step)",
                "/s",
                v[f"qd{depth}.rate"],
                peer,
                v.get(f"fio{depth}.iops"),
                miss.get(f"fio{depth}"),
                goal=f"≥ {GOAL_VS_PEER}",
                checks=[Check("ratio", ">=", GOAL_VS_PEER)],
            )
        )
    for depth, jobs in ((1, 1), (16, 1), (32, 2), (64, 4)):
        rows.append(
            Row(
                f"{lab}.cpu_qd{depth}",
                f"{lab}: CPU per command, random 4 KiB read, QD{depth}",
                "µs",
                [x * 1e6 for x in v[f"qd{depth}.cpu"]],
                "fio (usr+sys)" if jobs == 1 else f"fio {jobs}x16 (usr+sys)",
                [x * 1e6 for x in v[f"fio{depth}.cpu"]] if f"fio{depth}.cpu" in v else None,
                miss.get(f"fio{depth}"),
                goal=f"≤ {GOAL_CPU_X}x",
                checks=[Check("ratio", "<=", GOAL_CPU_X)],
            )
        )
    for pct in ("p50", "p99"):
        # fio's lat (submission to completion) is what sgscript's duration measures; its
        # clat (from submission's end) is noted, and used when fio reports no lat.
        kind = "lat" if f"fio1.lat_{pct}" in v else "clat"
        clat = v.get(f"fio1.clat_{pct}")
        rows.append(
            Row(
                f"{lab}.latency_qd1_{pct}",
                f"{lab}: latency {pct}, random 4 KiB read, QD1 (sgscript's JSONL step record)",
                "µs",
                [x * 1e6 for x in v["qd1." + pct]],
                f"fio {kind}",
                [x * 1e6 for x in v[f"fio1.{kind}_{pct}"]] if f"fio1.{kind}_{pct}" in v else None,
                miss.get("fio1"),
                goal=f"≤ {GOAL_LAT_X}x",
                checks=[Check("ratio", "<=", GOAL_LAT_X)],
                note=f"fio clat {pct}: {_series_text([x * 1e6 for x in clat], 'µs')}"
                if clat
                else "",
            )
        )
    seq_mb = seq_blocks * node.block_length / 1e6
    rows += [
        Row(
            f"{lab}.seq_64k",
            f"{lab}: sequential 64 KiB reads, {seq_mb:,.0f} MB from LBA 0, QD1",
            "MB/s",
            v["seq.mbs"],
            f"sg_dd bs={node.block_length} bpt={65536 // node.block_length}",
            v.get("sg_dd"),
            miss.get("sg_dd"),
            goal=f"≥ {GOAL_VS_PEER}",
            checks=[Check("ratio", ">=", GOAL_VS_PEER)],
        ),
        Row(
            f"{lab}.tur_bare",
            f"{lab}: TEST UNIT READY, QD1, vs a bare SG_IO loop",
            "/s",
            v["tur.rate"],
            "bare_sgio.py TUR",
            v["bare_tur"],
            goal=f"≥ {GOAL_VS_BARE}",
            checks=[Check("ratio", ">=", GOAL_VS_BARE)],
        ),
        Row(
            f"{lab}.tur_sg_turs",
            f"{lab}: TEST UNIT READY, QD1, vs sg_turs",
            "/s",
            v["tur.rate"],
            "sg_turs -n",
            v.get("sg_turs"),
            miss.get("sg_turs"),
        ),
        Row(
            f"{lab}.channel_tur",
            f"{lab}: TEST UNIT READY through the library's `Channel.execute()`, vs the bare loop",
            "/s",
            v["channel_tur"],
            "bare_sgio.py TUR",
            v["bare_tur"],
        ),
    ]
    return rows


def guest_part(
    nodes: Sequence[Node], sizes: Sizes, say: Callable[[str], None], raw: dict[str, Any]
) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="sgbench-") as tmp:
        for node in nodes:
            rows += guest_node(node, sizes, Path(tmp), say, raw)
    return rows


# -- the whole run --------------------------------------------------------------------------


def _git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=10,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None


def meta(sizes: Sizes, quick: bool, nodes: Sequence[Node]) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "sgscript": __version__,
        "commit": _git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "quick": quick,
        "sizes": sizes.__dict__,
        "nodes": [n.__dict__ for n in nodes],
    }


def run_lane(quick: bool, say: Callable[[str], None]) -> dict[str, Any]:
    """Boot the kernel lane (benchmarks/kernel.sh) for the guest part; its JSON document."""
    out = Path(os.environ.get("SGSCRIPT_KERNEL_OUT") or ROOT / "out" / "bench")
    env = {**child_env(), "SGSCRIPT_KERNEL_OUT": str(out), "PYTHON": sys.executable}
    env["SGSCRIPT_BENCH"] = "quick" if quick else "full"
    result = out / "bench.json"
    result.unlink(missing_ok=True)
    say(f"booting the kernel lane for the guest part (out: {out}); minutes under emulation")
    proc = subprocess.run(["bash", str(ROOT / "benchmarks" / "kernel.sh")], env=env)
    if proc.returncode or not result.exists():
        raise BenchError(f"the kernel lane run failed (exit {proc.returncode}; logs in {out})")
    doc: dict[str, Any] = json.loads(result.read_text())
    return doc


@contextmanager
def _profiled(top: int) -> Iterator[None]:
    prof = cProfile.Profile()
    prof.enable()
    try:
        yield
    finally:
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
        print(out.getvalue().replace(str(ROOT) + "/", ""))


def profile(case: str, n: int, top: int) -> None:
    """cProfile of one host case (where the time goes), top entries by own time."""
    dev = {"a": f"sim:bench?blocks={SIM_BLOCKS}"}
    steps = {
        "tur": [_tur("a", n, 32)],
        "read": [_read("a", n, 32, SIM_BLOCKS - 8)],
        "check": [
            {
                "name": "fill",
                "device": "a",
                "command": {"Write10": {"lba": "${index * 128}", "transfer_length": 128}},
                "data": {"pattern": "lba", "seed": 7},
                "repeat": CHECK_BLOCKS // 128,
            },
            {
                **_read("a", n, 32, CHECK_BLOCKS - 8),
                "expect": {"data": {"pattern": "lba", "seed": 7}},
            },
        ],
    }[case]
    with tempfile.TemporaryDirectory(prefix="sgbench-") as tmp, _profiled(top):
        run_spec(Path(tmp), case, dump_spec(case, dev, steps))


def main(argv: list[str] | None = None) -> int:
    t0 = time.monotonic()
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sg", action="append", default=[], metavar="[LABEL=]NODE",
                        help="run the guest part on this sg node (repeatable); read-only commands")  # fmt: skip
    parser.add_argument("--no-host", action="store_true", help="skip the host (sim:) part")
    parser.add_argument("--lane", action="store_true",
                        help="also boot the kernel lane (benchmarks/kernel.sh) for the guest part")  # fmt: skip
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes, one repetition (a smoke run)"
    )
    parser.add_argument("--reps", type=int, help="repetitions of each pair (default 3)")
    parser.add_argument(
        "--reads", type=int, help="random reads per guest measurement (default 10,000)"
    )
    parser.add_argument(
        "--turs", type=int, help="TEST UNIT READY per guest measurement (default 20,000)"
    )
    parser.add_argument("--sim-n", type=int, help="commands per sim: measurement (default 100,000)")
    parser.add_argument("--json", metavar="FILE", help="write the rows and the set-up as JSON")
    parser.add_argument("--profile", choices=["tur", "read", "check"],
                        help="only profile this sim: case (cProfile) and print where the time goes")  # fmt: skip
    args = parser.parse_args(argv)
    sizes = Sizes.quick() if args.quick else Sizes()
    for name in ("reps", "reads", "turs", "sim_n"):
        if getattr(args, name) is not None:
            setattr(sizes, name, getattr(args, name))
    if args.profile:
        profile(args.profile, sizes.sim_n, 30)
        return 0

    def say(text: str) -> None:
        print(f"sgbench [{time.monotonic() - t0:6.1f} s]: {text}", file=sys.stderr, flush=True)

    nodes = [Node.parse(s) for s in args.sg]
    rows: list[Row] = []
    if not args.no_host:
        rows += host_part(sizes, say)
    raw: dict[str, Any] = {}
    if nodes:
        rows += guest_part(nodes, sizes, say, raw)
    doc: dict[str, Any] = {
        "meta": meta(sizes, args.quick, nodes),
        "rows": [r.to_dict() for r in rows],
        "raw": raw,
    }
    if args.lane:
        guest = run_lane(args.quick, say)
        doc["guest_meta"] = guest["meta"]
        doc["rows"] += guest["rows"]
        doc["raw"].update(guest.get("raw", {}))
        rows += [Row.from_dict(d) for d in guest["rows"]]
    m = doc["meta"]
    print(
        f"sgscript {m['sgscript']} ({m['commit'] or 'no git'}), Python {m['python']}, {m['date']}"
    )
    for n in doc.get("guest_meta", m)["nodes"]:
        delay = f", scsi_debug delay={n['scsi_debug_delay']}" if n["scsi_debug_delay"] else ""
        print(
            f"  {n['label']}: {n['path']} ({n['model']}, {n['blocks']:,} x {n['block_length']} B{delay})"
        )
    print(table(rows))
    for row in rows:
        if row.note:
            print(f"  {row.id}: {row.note}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(doc, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
