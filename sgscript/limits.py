"""Every bound on what sgscript reads, in one place (documented in docs/format.md, "Limits").

A spec, a ``--var``, a target string or a sysfs tree comes from people and
tools sgscript does not control: each is bounded before its value is built,
so a mistake or a hostile file is a one-line error (exit 2), never a hang,
a traceback or gigabytes of memory.  This module imports nothing of sgscript, so every
layer (``sim``, ``transport``, ``spec``) may use it.
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_BITS",
    "MAX_DATA_FILE_BYTES",
    "MAX_DURATION",
    "MAX_EXPR_LENGTH",
    "MAX_INCLUDES",
    "MAX_INCLUDE_DEPTH",
    "MAX_MESSAGE",
    "MAX_NODES",
    "MAX_QUEUE_DEPTH",
    "MAX_REPEAT",
    "MAX_SELECT_DEPTH",
    "MAX_SELECT_LENGTH",
    "MAX_SPEC_BYTES",
    "MAX_STEPS",
    "MAX_STRING",
    "MAX_SYSFS_ATTR_BYTES",
    "MAX_SYSFS_ENTRIES",
    "MAX_TRANSFER",
    "MAX_VARS_TEXT",
    "MAX_YAML_DEPTH",
    "clip",
    "control_character",
]

#: A spec or included file, in bytes: specs are text written by people.
MAX_SPEC_BYTES = 4 << 20
#: YAML nodes in one file, counted while it is parsed and again as aliases expand.
MAX_NODES = 100_000
#: Nesting of YAML collections.
MAX_YAML_DEPTH = 64
#: Steps of one scenario after includes are spliced in (use ``repeat:`` for many commands).
MAX_STEPS = 10_000
#: Includes inside includes.
MAX_INCLUDE_DEPTH = 16
#: ``include:`` entries expanded for one spec, counting each time a file is included again:
#: three includes of the next file, 16 files deep, are 43 million expansions of 48 lines.
MAX_INCLUDES = 10_000
#: A ``data: {file: ...}`` or ``expect: {data: {file: ...}}`` file, in bytes.
MAX_DATA_FILE_BYTES = 64 << 20
#: Largest integer an expression may produce, in bits (a 64-bit LBA needs 64).
MAX_BITS = 4096
#: Longest ``${...}`` expression text.
MAX_EXPR_LENGTH = 2000
#: Longest text an expression or a template may produce, in characters.
MAX_STRING = 64 << 10
#: Text all of a scenario's ``vars:`` hold together, in characters: each value is bounded
#: by ``MAX_STRING``, and 30,000 of them (an 800 kB spec) took 3 GB.
MAX_VARS_TEXT = 16 << 20
#: Default largest data transfer of one command, in bytes (``--max-transfer`` changes it).
MAX_TRANSFER = 64 << 20
#: ``repeat:`` of one step.
MAX_REPEAT = 10**12
#: ``queue_depth:`` of one step or device.
MAX_QUEUE_DEPTH = 4096
#: Any duration (timeout, sleep, latency), in seconds: one week.
MAX_DURATION = 7 * 24 * 3600.0
#: ``-k`` expression: characters, and nesting of parentheses and ``not``.
MAX_SELECT_LENGTH = 4096
MAX_SELECT_DEPTH = 64
#: ``sgscript devices``: bytes read of one sysfs attribute, entries listed in one directory.
MAX_SYSFS_ATTR_BYTES = 64 << 10
MAX_SYSFS_ENTRIES = 65536
#: Longest line of an error message: a spec's value echoed in it is elided in the middle.
MAX_MESSAGE = 1000


#: Characters no spec text may hold, however written (a YAML escape, an expression):
#: C0 controls but tab and newline, DEL, C1 controls, and lone surrogates.  Echoed to a
#: terminal they move the cursor or retitle the window (a ``\r`` turns a FAIL line into
#: a PASS one); a surrogate cannot even be encoded, so a report dies mid-run.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def control_character(text: str) -> str | None:
    """``U+001B``-style name of the first character of ``text`` no spec may hold, or None."""
    m = _CONTROL.search(text)
    return None if m is None else f"U+{ord(m.group()):04X}"


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """``text`` at most about ``limit`` characters: the head and the tail (where a
    did-you-mean goes) kept, the middle elided, so a 100 kB name never floods a log."""
    if len(text) <= limit:
        return text
    head, tail = limit * 2 // 3, limit // 3
    return f"{text[:head]}...[{len(text) - head - tail:,} characters]...{text[-tail:]}"
