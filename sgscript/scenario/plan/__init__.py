"""The planner: a scenario, its device bindings, a seed and a ``-k`` selection → commands.

``Plan`` decides *what* runs; ``sgscript.runner`` decides *when*.  The plan names
every step by its path, picks the seed, applies ``-k``, works out each device's
target string, and turns one step into a lazy stream of ``Command`` objects —
never a list, so a ``repeat: 1000000`` costs the memory of one command.

| step path | what it names |
|---|---|
| ``3`` | the third entry of ``steps:`` (1-based, as people count) |
| ``5.2.1`` | step 5 is ``parallel:``; its second branch; that branch's first step |
| ``finally.1`` | the first entry of ``finally:`` |

Randomness: each step draws from ``random.Random(f"{seed}:{path}")``, so a step's
values depend only on the seed and where the step is — a run replays exactly
with ``--seed``, and ``sgscript plan`` shows the very first command that will be
sent.  A step whose values draw nothing builds its ``Command`` once and yields
that same object ``repeat`` times (a command is immutable once built).

``-k EXPR`` works as in pytest: words are case-insensitive substrings of a
step's names (the scenario's name, ``id:`` and ``refs:``, its enclosing
containers', its own), joined with ``and``/``or``/``not`` and parentheses.
Words side by side with no operator between them are one phrase, so a name
with spaces needs no inner quotes (``-k "logical unit and not release"``;
``-k "'logical unit' and not release"`` still works, and quotes are how a
name holds ``and``, ``or`` or ``not``).  A container runs when any of its
steps is selected (with those steps only); ``finally:`` steps run whenever
anything runs, because they undo what the selected steps did (and all of them
run when ``-k`` names one).  A selected step also brings the earlier steps
that ``save:`` a variable it reads (the latest saver of each name, and what
*they* read in turn, with the containers that hold them): without them it
would stop on an undefined variable.  ``Plan.notes`` says which
(``-k also runs 2 (saves last_lba) for 5``); ``plan``, ``--list`` and the run
print it.
"""

from __future__ import annotations

from .planner import Plan
from .raw import RawCommand
from .select import compile_selection
from .steps import DEFAULT_BLOCK_SIZE, Env, PlannedStep, PreviewRow
from .targets import device_target
from .values import has_random, loop_values

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "Env",
    "Plan",
    "PlannedStep",
    "PreviewRow",
    "RawCommand",
    "compile_selection",
    "device_target",
    "has_random",
    "loop_values",
]
