"""What the fuzz properties share: example budgets, byte mutations, and a bounded CLI call.

``run_cli`` runs ``sgscript.cli.main`` in-process under three bounds a user relies on:
a wall-clock watchdog (a hang fails the example instead of the CI job), a cap on
the address space the call may add (an unbounded allocation fails as ``MemoryError``
inside the call, not by exhausting the host), and a cap on what it prints. An
exception escaping ``main`` is a traceback a user would have seen; it fails too.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import resource
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st

#: How many times more examples the ``long`` profile draws than ``ci``.
SCALE = 50 if os.environ.get("SGSCRIPT_FUZZ") == "long" else 1

#: The exit codes of the contract a run of these inputs may give (no signals here).
EXIT_CODES = frozenset({0, 1, 2, 3})
#: Output beyond this is "huge": nothing these small inputs ask for comes near it.
OUTPUT_LIMIT = 1 << 20
#: Address space one CLI call may add before an allocation fails.
MEMORY_LIMIT = 768 << 20
#: Wall-clock seconds one CLI call may take.
CALL_SECONDS = 20.0


@contextlib.contextmanager
def scratch_cwd(path: Path) -> Iterator[Path]:
    """Run from ``path`` with no simulated disks around, before and after: every relative path
    an input names lands there, and no test sees another's sim: units."""
    from sgscript import sim

    old = os.getcwd()
    os.chdir(path)
    sim.forget_targets()
    try:
        yield path
    finally:
        os.chdir(old)
        sim.forget_targets()


def budget(examples: int) -> settings:
    """``examples`` per property in CI; ``SCALE`` times as many in the long run."""
    return settings(max_examples=examples * SCALE)


# ------------------------------------------------------------------ mutations


@st.composite
def mutated(draw: st.DrawFn, valid: bytes | st.SearchStrategy[bytes]) -> bytes:
    """``valid`` bytes changed as a faulty device or a bit flip would: a few edits of
    truncation, overwritten bytes (length fields that lie: 00h, FFh, 7Fh, 80h), extra
    garbage, and repeated slices."""
    data = bytearray(draw(valid) if isinstance(valid, st.SearchStrategy) else valid)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(("cut", "poke", "lie", "append", "repeat", "drop")))
        if op == "cut":
            data = data[: draw(st.integers(0, len(data)))]
        elif op in ("poke", "lie") and data:
            at = draw(st.integers(0, min(len(data), 16 if op == "lie" else len(data)) - 1))
            pick = st.sampled_from((0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE))
            data[at] = draw(pick if op == "lie" else st.integers(0, 255))
        elif op == "append":
            data += draw(st.binary(max_size=64))
        elif op == "repeat" and data:
            start = draw(st.integers(0, len(data) - 1))
            data[start:start] = data[start : start + draw(st.integers(1, 32))]
        elif op == "drop" and data:
            start = draw(st.integers(0, len(data) - 1))
            del data[start : start + draw(st.integers(1, 8))]
    return bytes(data)


# ------------------------------------------------------------------ the CLI


class Hang(BaseException):
    """The watchdog fired: the call ran past its deadline (a BaseException, so no
    ``except Exception`` in the code under test swallows it)."""


class HugeOutput(BaseException):
    """The call printed more than ``OUTPUT_LIMIT`` characters."""


class _Capped:
    """A text stream that keeps what is written and refuses to grow past a limit."""

    def __init__(self, limit: int) -> None:
        self.parts: list[str] = []
        self.size = 0
        self.limit = limit

    def write(self, text: str) -> int:
        self.size += len(text)
        if self.size > self.limit:
            raise HugeOutput(f"more than {self.limit} characters of output")
        self.parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError("not a real file")

    @property
    def encoding(self) -> str:
        return "utf-8"

    def getvalue(self) -> str:
        return "".join(self.parts)


@contextlib.contextmanager
def watchdog(seconds: float) -> Iterator[None]:
    """Raise ``Hang`` in the main thread after ``seconds`` of wall-clock time."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals only reach the main thread; the hypothesis deadline still applies
        return

    def fire(signum: int, frame: object) -> None:
        raise Hang(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    # Fire again every half second: code under test that catches BaseException (to record
    # a failure and carry on) must not swallow the only alarm. As a last resort, a call
    # stuck in C (no bytecode boundary for the handler) ends the process with a traceback
    # dump instead of hanging CI.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.5)
    faulthandler.dump_traceback_later(seconds + 60, exit=True, file=sys.__stderr__)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _address_space() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def memory_cap(extra: int) -> Iterator[None]:
    """Let the process grow by at most ``extra`` bytes of address space meanwhile."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@dataclass(frozen=True)
class Outcome:
    """What one command line did: exit code, both streams, and how long it took."""

    argv: tuple[str, ...]
    code: int
    out: str
    err: str
    seconds: float

    def check(self) -> Outcome:
        """The promises every command line keeps, whatever its input."""
        text = self.out + self.err
        assert "Traceback (most recent call last)" not in text, self
        assert self.code in EXIT_CODES, self
        if self.code == 2:
            assert self.err.strip() or self.out.strip(), f"exit 2 without a word: {self}"
        for line in self.err.splitlines():
            assert len(line) <= 16384, f"a {len(line)}-character error line: {line[:200]}..."
        return self

    def error_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def run_cli(argv: Sequence[str], *, seconds: float = CALL_SECONDS) -> Outcome:
    """``sgscript ARGV`` in this process, bounded in time, memory and output."""
    from sgscript import cli

    out, err = _Capped(OUTPUT_LIMIT), _Capped(OUTPUT_LIMIT)
    start = time.monotonic()
    try:
        with (
            contextlib.redirect_stdout(out),  # type: ignore[type-var]
            contextlib.redirect_stderr(err),  # type: ignore[type-var]
            watchdog(seconds),
            memory_cap(MEMORY_LIMIT),
        ):
            code = cli.main(list(argv))
    except (Hang, HugeOutput) as exc:  # a failed example, with the command line that did it
        raise AssertionError(f"sgscript {' '.join(map(repr, argv))[:2000]}: {exc}") from None
    return Outcome(tuple(argv), code, out.getvalue(), err.getvalue(), time.monotonic() - start)
