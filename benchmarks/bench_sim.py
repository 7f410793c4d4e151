"""What a command costs on ``sim:``: the simulator alone, then the whole Python path.

Run on demand (not a test)::

    python benchmarks/bench_sim.py            # numbers, memory over 1,000,000 TUR, profile
    python benchmarks/bench_sim.py --quick    # fewer commands, no profile

Prints commands/s and µs/command for TEST UNIT READY and READ(10) of one block:

(a) ``LogicalUnit.execute`` alone: the simulated device's own cost;
(a') the same with faults configured that never fire: what fault checks cost;
(b) ``Channel.execute`` blocking, one at a time (the synchronous path);
(c) ``Channel.execute_many`` at queue depth 64 on one channel, and spread over 8
    channels on one ``Reactor`` (the reactor path: wake-up, reap, judge);

then the memory growth over 1,000,000 TEST UNIT READY (RSS, and the objects the
garbage collector tracks), and the top entries of a cProfile of (b) and (c).
The design goal is >= 100,000 TUR/s end to end on one core.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sgscript.sim as sim
from sgscript import Channel, Reactor
from sgscript.scsi.commands import Read10, TestUnitReady

BS = 512
FAULTS = "medium_error=200000-200099&every_nth=1000000000:ABORTED_COMMAND/47/00"


def rate(label: str, n: int, run: Callable[[], None], repeat: int = 3) -> float:
    """Best of ``repeat`` runs of ``run`` (which does ``n`` commands); prints and returns cmds/s."""
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    per_s = n / best
    print(f"  {label:<66} {per_s:>10,.0f} cmd/s {best / n * 1e6:>8.2f} µs/cmd")
    return per_s


def fresh(name: str, options: str = "", **kwargs: object) -> Channel:
    ch = Channel.open(f"sim:{name}{'?' + options if options else ''}", block_size=BS, **kwargs)
    ch.execute(TestUnitReady(), check=False)  # the power-on unit attention
    return ch


def device_alone(n: int, options: str = "") -> None:
    name = f"alone{len(options)}"
    target, rest = sim.get_target(name, sim.parse_target(f"{name}?{options}")[1] if options else {})
    lu = target.lu()
    lu.faults.configure(rest)
    tur = TestUnitReady().bind(BS)
    rd = Read10(lba=1000, transfer_length=1).bind(BS)
    execute = lu.execute
    execute("bench", tur)
    suffix = " (faults set, not firing)" if options else ""

    def turs() -> None:
        for _ in range(n):
            execute("bench", tur)

    def reads() -> None:
        for _ in range(n):
            execute("bench", rd, b"", BS)

    rate(f"(a) LogicalUnit.execute TUR{suffix}", n, turs)
    rate(f"(a) LogicalUnit.execute READ(10) 1 block{suffix}", n, reads)


def blocking(n: int) -> None:
    ch = fresh("blocking")
    execute = ch.execute

    def turs() -> None:
        for _ in range(n):
            execute(TestUnitReady())

    def reads() -> None:
        for _ in range(n):
            execute(Read10(lba=1000, transfer_length=1))

    rate("(b) Channel.execute TUR, blocking", n, turs)
    rate("(b) Channel.execute READ(10) 1 block, blocking", n, reads)
    ch.close()


def queued(n: int, channels: int, depth: int = 64) -> None:
    reactor = Reactor()
    chs = [
        fresh(f"q{channels}-{i % 4}", initiator=f"h{i}", queue_depth=depth, reactor=reactor)
        for i in range(channels)
    ]
    each = n // channels
    chunk = 4096

    def run(make: Callable[[], object]) -> None:
        for start in range(0, each, chunk):
            count = min(chunk, each - start)
            for ch in chs:
                ch.execute_many([make() for _ in range(count)], wait=False)
            for ch in chs:
                ch.wait()

    where = "one channel" if channels == 1 else f"{channels} channels, one reactor"
    rate(
        f"(c) execute_many TUR, depth {depth}, {where}", each * channels, lambda: run(TestUnitReady)
    )
    rate(
        f"(c) execute_many READ(10), depth {depth}, {where}",
        each * channels,
        lambda: run(lambda: Read10(lba=1000, transfer_length=1)),
    )
    reactor.close()


def rss_kib() -> int:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def memory(total: int) -> None:
    ch = fresh("memory", queue_depth=64)
    chunk = 10_000
    marks = []
    done = 0
    start = time.perf_counter()
    while done < total:
        ch.execute_many([TestUnitReady() for _ in range(chunk)])
        done += chunk
        if done in (chunk, total // 10, total // 2, total) or done == total:
            gc.collect()
            marks.append((done, rss_kib(), len(gc.get_objects())))
    took = time.perf_counter() - start
    print(f"  {total:,} TUR through execute_many in chunks of {chunk:,}: {total / took:,.0f} cmd/s")
    base = marks[0]
    for done, rss, objs in marks:
        print(
            f"    after {done:>9,}: RSS {rss / 1024:7.1f} MiB ({(rss - base[1]) / 1024:+6.1f}),"
            f" gc objects {objs:,} ({objs - base[2]:+,})"
        )
    ch.close()


def profile(n: int, top: int) -> None:
    for label, body in (
        ("(b) blocking TUR", "for _ in range(n): ch.execute(TestUnitReady())"),
        (
            "(c) execute_many TUR depth 64",
            "for _ in range(n // 4096): ch.execute_many([TestUnitReady() for _ in range(4096)])",
        ),
    ):
        ch = fresh(f"profile{len(label)}", queue_depth=64)
        prof = cProfile.Profile()
        prof.runctx(body, {"TestUnitReady": TestUnitReady}, {"ch": ch, "n": n})
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(top)
        lines = out.getvalue().splitlines()
        first = next(i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls"))
        print(f"\n  cProfile, {label}, {n:,} commands (top {top} by own time):")
        for line in lines[first : first + top + 1]:
            print("   ", line.replace(str(Path(__file__).resolve().parent.parent) + "/", ""))
        ch.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100_000, help="commands per measurement")
    parser.add_argument("--memory", type=int, default=1_000_000, help="TURs for the memory run")
    parser.add_argument("--top", type=int, default=20, help="profile entries to show")
    parser.add_argument("--quick", action="store_true", help="n=20,000, memory 100,000, no profile")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.memory = 20_000, 100_000
    n = args.n
    print(f"sgscript sim: benchmark, Python {sys.version.split()[0]}, n={n:,}")
    sim.forget_targets()
    device_alone(n)
    device_alone(n, FAULTS)
    blocking(n)
    queued(n, 1)
    queued(n, 8)
    print()
    memory(args.memory)
    if not args.quick:
        profile(n, args.top)
    sim.forget_targets()


if __name__ == "__main__":
    main()
