"""The whole pipeline on ``sim:``: a YAML spec through the planner, reactor, verifiers, reports.

The goal is at least 100,000 TEST UNIT READY per second end to end on
one core, and memory flat over a million commands.  This prints where we are;
it asserts nothing (run it on demand, compare runs on the same machine only).

    python benchmarks/bench_pipeline.py            # 200k commands per case
    python benchmarks/bench_pipeline.py -n 1000000 # the million-command memory check
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import time

from sgscript.report.console import ConsoleReporter
from sgscript.report.jsonl import JsonlReporter
from sgscript.runner import run_scenario
from sgscript.scenario.load import load_scenario_text
from sgscript.sim import forget_targets

SPEC = """
sgscript: 1
name: bench
devices: {{a: "sim:bench?blocks=1048576"}}
steps:
  - name: the workload
    device: a
    command: {command}
    repeat: {n}
    queue_depth: {qd}
"""

CASES = [
    ("TEST UNIT READY, depth 32", "TestUnitReady", 32),
    ("TEST UNIT READY, depth 1", "TestUnitReady", 1),
    ("READ(10) 1 block, fixed LBA, depth 32", "{Read10: {lba: 0, transfer_length: 1}}", 32),
    (
        "READ(10) 1 block, random LBA, depth 32",
        "{Read10: {lba: {random: [0, 1048575]}, transfer_length: 1}}",
        32,
    ),
]


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(command: str, n: int, qd: int, reporters: list[object]) -> float:
    forget_targets()
    scenario = load_scenario_text(SPEC.format(command=command, n=n, qd=qd), file="bench.yaml")
    start = time.perf_counter()
    result = run_scenario(scenario, seed=1, reporter=reporters or None)
    elapsed = time.perf_counter() - start
    if result.status != "passed":
        raise SystemExit(f"benchmark scenario did not pass: {result.status}")
    return n / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200_000, help="commands per case")
    args = parser.parse_args()
    print(f"sgscript pipeline benchmark, n={args.n:,} commands per case, pid {os.getpid()}")
    for title, command, qd in CASES:
        rate = run_case(command, args.n, qd, [])
        print(f"  {title:45s} {rate:>10,.0f} cmd/s  (no reporters)")
    sink = io.StringIO()
    with open(os.devnull, "w") as devnull:
        reporters = [ConsoleReporter(stream=sink), JsonlReporter(devnull)]
        rate = run_case("TestUnitReady", args.n, 32, reporters)
    print(f"  {'TEST UNIT READY, depth 32, console + JSONL':45s} {rate:>10,.0f} cmd/s")
    before = rss_mib()
    run_case("TestUnitReady", args.n, 32, [])
    print(f"  peak RSS {before:.1f} MiB before the last case, {rss_mib():.1f} MiB after")


if __name__ == "__main__":
    main()
