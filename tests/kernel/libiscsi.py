"""The differential against libiscsi's iscsi-test-cu: the peer and the counterparts, per test.

iscsi-test-cu (the distribution's ``libiscsi-bin``) runs against a target and
says per test PASS, FAIL or SKIP; the counterpart scenarios in ``specs/`` name
the test they answer in ``refs:`` (``libiscsi:Read10.BeyondEol``) and run
against the same target through sgscript. ``compare`` puts the two side by
side; every row where they disagree must be listed in ``libiscsi_known``
with who is right per the standard, and a listed row that now agrees is
reported as such (the list is held to what really happens).

This module knows no lane specifics: ``test_libiscsi_kernel.py`` runs it in
the guest, ``tests/test_libiscsi_diff.py`` holds the parser and the
comparison to recorded output on the host.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Outcome = Literal["pass", "fail", "skip", "not run", "no counterpart"]

#: An outcome and the words behind it (the peer's [SKIPPED] line, the failed step).
Result = tuple[Outcome, str]

_SUITE = re.compile(r"^Suite: (\S+)")
_TEST = re.compile(r"^  Test: (\S+) \.\.\.(.*)$")
_END = re.compile(r"(passed|FAILED)\s*$")
_START = re.compile(r"^(passed|FAILED)\b")


def parse_cu(text: str) -> dict[str, Result]:
    """iscsi-test-cu's verbose (default) output -> ``Suite.Test`` -> outcome.

    CUnit prints ``  Test: NAME ...`` then ``passed`` or ``FAILED``, on the
    same line or after the test's own messages (at the start of a line: what
    follows it on that line is a teardown's, not the test's); libiscsi reports a skipped
    test as passed with a ``[SKIPPED]`` message. A test whose outcome never
    came (the peer died in it) is ``fail`` with the words ``no outcome``.
    """
    out: dict[str, Result] = {}
    suite = ""
    current: str | None = None
    said: list[str] = []

    def close(verdict: str) -> None:
        nonlocal current
        assert current is not None
        skipped = [s.strip() for s in said if "[SKIPPED]" in s]
        if verdict == "FAILED":
            lines = [s.strip() for s in said if s.strip() and "[SKIPPED]" not in s]
            failed = [s for s in lines if "[FAILED]" in s] or lines
            out[current] = ("fail", "; ".join(dict.fromkeys(failed))[:300])
        elif skipped:
            out[current] = ("skip", skipped[0].replace("[SKIPPED] ", "")[:300])
        else:
            out[current] = ("pass", "")
        current = None
        said.clear()

    for line in text.splitlines():
        if (m := _SUITE.match(line)) is not None:
            suite = m.group(1)
            continue
        if (m := _TEST.match(line)) is not None:
            if current is not None:  # no outcome line: should not happen, be safe
                out[current] = ("fail", "no outcome printed")
            current = f"{suite}.{m.group(1)}"
            said.clear()
            line = m.group(2)  # what follows the dots reads as any line of the test's
        elif current is None:
            if out and line.startswith("    ") and line.strip()[:1].isdigit():
                # CUnit's numbered failure list after FAILED: the assertion that failed
                last = next(reversed(out))
                outcome, words = out[last]
                if outcome == "fail" and not words:
                    out[last] = ("fail", line.strip()[:300])
            continue
        if (start := _START.match(line)) is not None:  # what follows is a teardown's
            close(start.group(1))
        elif (end := _END.search(line)) is not None:
            said.append(line[: end.start()])
            close(end.group(1))
        else:
            said.append(line)
    if current is not None:
        out[current] = ("fail", "no outcome: iscsi-test-cu stopped in this test")
    return out


@dataclass(frozen=True)
class CuTarget:
    """How iscsi-test-cu reaches a target: an sg node, or an iSCSI URL and two initiator names."""

    name: str
    url: str
    initiators: tuple[str, ...] = ()
    #: a second URL to the same LU: iscsi-test-cu's multipath tests need one
    second_path: str | None = None

    def argv(self, tests_file: Path) -> list[str]:
        names: list[str] = []
        for flag, iqn in zip(("-i", "-I"), self.initiators, strict=False):
            names += [flag, iqn]
        # --dataloss and --allow-sanitize: the lane's targets are scratch disks, and the
        # counterparts write and sanitize too
        flags = ["--dataloss", "--allow-sanitize", "-t", str(tests_file)]
        paths = [self.url] + ([self.second_path] if self.second_path else [])
        return ["iscsi-test-cu", *flags, *names, *paths]


def run_cu(
    target: CuTarget, tests: Sequence[str], workdir: Path, timeout: float
) -> tuple[dict[str, Result], float]:
    """Run ``tests`` (``Suite.Test``) with iscsi-test-cu; their outcomes and the seconds it took.

    The test list goes through a file (the peer reads one name per line). Its
    output is read line by line (``stdbuf -oL``: the peer buffers a pipe) and
    kept in ``workdir`` as ``libiscsi-NAME.txt``, each line stamped with the
    seconds since the start, so a slow or hanging test shows by name; past
    ``timeout`` the peer is killed and the tests it did not reach are ``not run``.
    """
    listing = workdir / f"libiscsi-{target.name}.tests"
    listing.write_text("".join(f"ALL.{t}\n" for t in tests))
    lines: list[tuple[float, str]] = []
    t0 = time.monotonic()
    with subprocess.Popen(
        ["stdbuf", "-oL", *target.argv(listing)],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as proc:
        assert proc.stdout is not None
        reader = threading.Thread(
            target=lambda: lines.extend((time.monotonic() - t0, ln) for ln in proc.stdout or ()),
            daemon=True,
        )
        reader.start()
        try:
            status = f"exit status {proc.wait(timeout)}"
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            status = f"killed after {timeout:.0f} s"
        reader.join(10)
    secs = time.monotonic() - t0
    with (workdir / f"libiscsi-{target.name}.txt").open("w") as log:
        log.writelines(f"{at:7.1f} {line}" for at, line in lines)
        log.write(f"[{status}, {secs:.1f} s]\n")
    found = parse_cu("".join(line for _, line in lines))
    return {t: found.get(t, ("not run", status)) for t in tests}, secs


_STATUS: dict[str, Outcome] = {
    "passed": "pass",
    "failed": "fail",
    "error": "fail",
    "interrupted": "fail",
    "skipped": "skip",
    "not_applicable": "skip",
}


def counterpart_outcomes(results: Iterable[Any], prefix: str = "libiscsi:") -> dict[str, Result]:
    """Scenario results -> ``Suite.Test`` -> the outcome of the records naming it in ``refs:``.

    A test named by several records (a scenario and a step, or two steps) fails
    when any of them fails, passes when any passes, else is skipped (NOT
    APPLICABLE, or ``optional:`` and not supported: the peer's SKIP).
    """
    seen: dict[str, list[tuple[Outcome, str]]] = {}
    for result in results:
        records = [(result.refs, result.status, result.message, result.name)]
        records += [(s.refs, s.status, _why(s), f"{result.name}: {s.name}") for s in result.steps]
        for refs, status, words, where in records:
            for ref in refs:
                if ref.startswith(prefix):
                    outcome = _STATUS.get(status, "fail")
                    seen.setdefault(ref[len(prefix) :], []).append((outcome, f"{where}: {words}"))
    out: dict[str, Result] = {}
    for test, got in seen.items():
        for want in ("fail", "pass", "skip"):
            hits = [words for outcome, words in got if outcome == want]
            if hits:
                out[test] = (want, hits[0][:300])
                break
    return out


def _why(step: Any) -> str:
    if step.failures:
        first = step.failures[0]
        return first.message.splitlines()[0] if first.message else f"got {first.got}"
    return str(step.message or step.status)


Kind = Literal[
    "agree",
    "sgscript",
    "target",
    "path",
    "fixed",
    "no counterpart",
    "not run",
    "unexplained",
    "stale",
]


@dataclass(frozen=True)
class Row:
    """One test on one target: both outcomes and how the difference, if any, is explained."""

    target: str
    test: str
    libiscsi: Result
    sgscript: Result
    kind: Kind
    why: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "test": self.test,
            "libiscsi": list(self.libiscsi),
            "sgscript": list(self.sgscript),
            "kind": self.kind,
            "why": self.why,
        }


@dataclass
class Table:
    """The differential of one run: a row per test and target."""

    rows: list[Row] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)

    def counts(self) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for row in self.rows:
            per = out.setdefault(row.target, {})
            per[row.kind] = per.get(row.kind, 0) + 1
        return out

    def problems(self) -> list[Row]:
        """Rows no list explains, and listed differences that stopped happening."""
        return [r for r in self.rows if r.kind in ("unexplained", "stale")]


def compare(
    target: str,
    peer: Mapping[str, Result],
    ours: Mapping[str, Result],
    known: Mapping[tuple[str, str], Any],
    fixed: Mapping[tuple[str, str], str],
) -> list[Row]:
    """One target's rows. ``known``: (target, test) -> a listed difference with ``libiscsi``,
    ``sgscript`` (the outcomes it expects), ``who`` and ``why``; ``fixed``: (target, test) ->
    what was wrong in the counterpart before it agreed with the peer there."""
    rows = []
    for test in peer:
        mine = ours.get(test, ("not run", "no counterpart ran"))
        theirs = peer[test]
        listed = known.get((target, test))
        if mine[0] == "no counterpart":  # coverage.NO_COUNTERPART says why
            rows.append(Row(target, test, theirs, mine, "no counterpart", mine[1]))
        elif listed is None:
            if theirs[0] == mine[0]:
                kind: Kind = "fixed" if (target, test) in fixed else "agree"
                rows.append(Row(target, test, theirs, mine, kind, fixed.get((target, test), "")))
            else:
                rows.append(Row(target, test, theirs, mine, "unexplained"))
        elif (theirs[0], mine[0]) == (listed.libiscsi, listed.sgscript):
            rows.append(Row(target, test, theirs, mine, listed.who, listed.why))
        else:
            why = (
                f"listed as libiscsi {listed.libiscsi} / sgscript {listed.sgscript} "
                f"({listed.who}), now {theirs[0]} / {mine[0]}"
            )
            rows.append(Row(target, test, theirs, mine, "stale", why))
    return rows


def counterparts(specs: Path) -> list[tuple[Path, frozenset[str]]]:
    """Each scenario file of ``specs`` (recursively) with the libiscsi tests it names."""
    from sgscript.scenario.load import load_scenario

    out = []
    for path in sorted(specs.rglob("*.yaml")):
        head = path.read_text(errors="replace")
        if "libiscsi:" not in head or not re.search(r"^sgscript:", head, re.M):
            continue
        scenario = load_scenario(path)
        refs = [*scenario.refs, *(r for s in scenario.all_steps() for r in s.refs)]
        names = frozenset(r[len("libiscsi:") :] for r in refs if r.startswith("libiscsi:"))
        if names:
            out.append((path, names))
    return out


def run_counterparts(
    specs: Path,
    tests: Iterable[str],
    nodes: Sequence[str],
    *,
    seed: int,
    skip_files: Mapping[str, str] | None = None,
    record: Path | None = None,
) -> tuple[dict[str, Result], float]:
    """Run the counterparts of ``tests`` on ``nodes``; their outcomes and the seconds it took.

    ``nodes`` are one logical unit as seen by one initiator or more: a spec's
    devices on the same target as its first device (the same LU through
    another initiator, ``initiator:``) are bound to them in order. A test whose
    steps use a device left unbound (a second initiator the target does not
    have, a differently provisioned disk) is a SKIP with that reason; so is a
    file ``skip_files`` names (file name -> why: it would bring the target down).
    ``record``: a JSON Lines file that gets each scenario's whole result.
    A scenario runs whole (its stage-setting and "is the command there" steps
    teach the ones after them; ``-k`` would leave them out) and every step is
    judged (``on_failure: continue``), as the peer judges each test on its own.
    """
    from sgscript.coverage import NO_COUNTERPART
    from sgscript.runner import run_scenario
    from sgscript.scenario.load import load_scenario

    want = set(tests)
    results: list[Any] = []
    out: dict[str, Result] = {
        t: ("no counterpart", NO_COUNTERPART[t]) for t in want & NO_COUNTERPART.keys()
    }
    t0 = time.monotonic()
    for path, names in counterparts(specs):
        hit = sorted(names & want)
        if not hit:
            continue
        why = (skip_files or {}).get(path.name)
        if why is not None:
            out.update({t: ("skip", why) for t in hit})
            continue
        scenario = load_scenario(path)
        first = next(iter(scenario.devices.values())).target
        same_lu = [d for d, dev in scenario.devices.items() if dev.target == first]
        bindings = dict(zip(same_lu, nodes, strict=False))
        run = []
        for test in hit:
            missing = sorted(_devices_of(scenario, test) - set(bindings))
            if missing:
                out[test] = (
                    "skip",
                    f"{path.name} needs device {', '.join(missing)}: "
                    f"the target offers {len(nodes)} initiator(s) on one LU",
                )
            else:
                run.append(test)
        if not run:
            continue
        results.append(
            run_scenario(
                dataclasses.replace(scenario, on_failure="continue"),
                bindings=bindings,
                seed=seed,
                allow_destructive=True,  # the lane's disks are scratch disks
            )
        )
    if record is not None:
        with record.open("w") as log:
            log.writelines(json.dumps(r.to_dict(), default=str) + "\n" for r in results)
    found = counterpart_outcomes(results)
    for test in want:
        out.setdefault(test, found.get(test, ("not run", "no counterpart scenario ran")))
    return out, time.monotonic() - t0


def _devices_of(scenario: Any, test: str) -> set[str]:
    """The devices the steps naming ``test`` (and the steps inside them) send to."""
    ref = f"libiscsi:{test}"
    steps = scenario.all_steps()
    if ref in scenario.refs:
        return {s.device for s in steps if s.device}
    tops = [s.path for s in steps if ref in s.refs]
    return {
        s.device
        for s in steps
        if s.device and any(s.path == p or s.path.startswith(f"{p}.") for p in tops)
    }


#: How each kind of row reads in the docs' table.
KIND_WORDS: dict[str, str] = {
    "agree": "agree",
    "fixed": "libiscsi right (counterpart fixed)",
    "no counterpart": "no counterpart (reason in docs/coverage.md)",
    "sgscript": "sgscript right (standard cited)",
    "target": "target's choice (standard allows)",
    "path": "not comparable (sg cannot send it)",
    "not run": "not run (it brings the target or the peer down)",
    "unexplained": "UNEXPLAINED",
    "stale": "listed, no longer happens",
}


def markdown(records: Sequence[Mapping[str, Any]]) -> str:
    """The docs page of a run: counts per target, then every row that is not plain agreement."""
    targets = [r["target"] for r in records]
    lines = [
        "# The differential against libiscsi's iscsi-test-cu",
        "",
        "Generated by `tests/kernel/differential.sh` (the kernel lane with",
        "`SGSCRIPT_LIBISCSI=full`): iscsi-test-cu 1.19.0 and the counterpart scenarios of",
        "`specs/` on the same real targets, compared per test. PASS, FAIL and SKIP compare",
        "with sgscript's PASSED, FAILED and NOT APPLICABLE (or `optional:` not supported).",
        "Every difference is listed in `tests/kernel/libiscsi_known.py` with who is right;",
        "the lane fails on one that is not, and on a listed one that stopped happening.",
        "",
        "| | " + " | ".join(targets) + " |",
        "|---|" + "---|" * len(targets),
    ]
    kinds = [k for k in KIND_WORDS if any(row["kind"] == k for r in records for row in r["rows"])]
    for kind in kinds:
        counts = [sum(row["kind"] == kind for row in r["rows"]) for r in records]
        lines.append(f"| {KIND_WORDS[kind]} | " + " | ".join(map(str, counts)) + " |")
    totals = [len(r["rows"]) for r in records]
    lines.append("| tests | " + " | ".join(map(str, totals)) + " |")
    secs = [f"{r['seconds']['libiscsi']:.0f} s / {r['seconds']['sgscript']:.0f} s" for r in records]
    lines.append("| time (libiscsi / sgscript) | " + " | ".join(secs) + " |")
    outcome = {(r["target"], row["test"]): row for r in records for row in r["rows"]}
    lines += ["", "## Outcomes per test", ""]
    lines += ["Each cell: libiscsi / sgscript, and the kind when they differ.", ""]
    lines += ["| test | " + " | ".join(targets) + " |", "|---|" + "---|" * len(targets)]
    for test in sorted({t for _, t in outcome}):
        cells = []
        for target in targets:
            row = outcome.get((target, test))
            if row is None:
                cells.append("")
                continue
            cell = f"{row['libiscsi'][0]} / {row['sgscript'][0]}"
            if row["kind"] != "agree":
                cell += f" ({row['kind']})"
            cells.append(cell)
        lines.append(f"| {test} | " + " | ".join(cells) + " |")
    lines += ["", "## Why they differ", ""]
    for r in records:
        for row in r["rows"]:
            if row["kind"] not in ("agree",):
                why = (
                    row["why"] or f"libiscsi: {row['libiscsi'][1]}; sgscript: {row['sgscript'][1]}"
                )
                lines.append(
                    f"- **{r['target']}, {row['test']}** ({KIND_WORDS[row['kind']]}): {why}"
                )
    return "\n".join(lines) + "\n"


def rejudge(record: dict[str, Any], known: Mapping[tuple[str, str], Any], fixed: Any) -> None:
    """A run's rows judged again against the lists as they are now (the outcomes stay)."""
    target = record["target"]
    rows = [r for r in record["rows"] if r["kind"] != "not run"]
    peer = {r["test"]: tuple(r["libiscsi"]) for r in rows}
    ours = {r["test"]: tuple(r["sgscript"]) for r in rows}
    again = compare(target, peer, ours, known, fixed)  # type: ignore[arg-type]
    record["rows"] = [r.to_dict() for r in again] + [
        r for r in record["rows"] if r["kind"] == "not run"
    ]


if __name__ == "__main__":  # the docs page from a run's libiscsi-*.json, judged by the lists
    import sys

    from libiscsi_known import DIFFERENCES, FIXED

    order = {"scsi_debug": 0, "qemu": 1, "tgtd": 2}
    found = [json.loads(Path(p).read_text()) for p in sys.argv[1:]]
    for record in found:
        rejudge(record, {(d.target, d.test): d for d in DIFFERENCES}, FIXED)
    sys.stdout.write(markdown(sorted(found, key=lambda r: order.get(r["target"], 9))))
