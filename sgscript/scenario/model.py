"""The scenario model: what a YAML spec says, typed, marked with where it said it.

The loader (``load/``) builds these from a validated document; the planner
(``plan/``) turns them into commands; the runner executes them.  Every
object is a frozen dataclass of plain values, so a scenario pickles and can
be shipped to another process or host with its device bindings
(docs/architecture.md).

Values that may hold expressions stay as written (``Value``): an int, a
string with ``${...}`` (evaluated by ``expr.py`` when the step runs, after
earlier ``save:``s), or ``{"random": [lo, hi]}`` (drawn per command from the
run's seeded RNG).  The planner resolves them; the model never evaluates.

The YAML format (the contract; docs/format.md documents every key)::

    sgscript: 1                       # format version (required)
    name: reserve_release             # default: the file's stem
    description: what it proves
    include: [devices.yaml]           # fragments merged first (devices, vars, defaults)
    devices:
      a: {target: "sim:lu0", initiator: host-a, queue_depth: 16, timeout: 30s,
          unit_attention: clear,      # at open: TEST UNIT READY until GOOD (keep: send nothing)
          options: {blocks: 262144, medium_error: "100-199"}}
      b: "sim:lu0"                    # shorthand for {target: ...}
    vars: {lba: 0}
    defaults: {device: a, timeout: 10s, on_failure: stop}   # applied to every step
    on_failure: stop                  # scenario policy: stop | continue
    steps:                            # a list of steps, run in order
      - name: a reads
        device: a
        command: {Read10: {lba: "${lba}", transfer_length: 1}}   # or a bare name
        data: {pattern: lba, seed: 7}  # data-out (writes)
        expect: good                  # see Expect below
        save: {last_lba: returned_logical_block_address}
        repeat: 100                   # run the command N times
        queue_depth: 16               # up to 16 of them in flight
        timeout: 5s
        optional: true                # "not implemented" (invalid opcode) -> skipped
        on_failure: continue          # this step's policy
      - {device: a, cdb: "12 00 00 00 24 00", data_in: 36}     # raw CDB escape hatch
      - {name: reset the LU, device: a, reset: lun}            # lun | target | bus | host
      - {device: a, task: abort_task, of: a reads}   # a SAM-5 task management function;
                                      # abort_task aims at a step beside it in a parallel:
      - {sleep: 100ms}
      - include: common-steps.yaml    # a step-list fragment, spliced in place
      - parallel:                     # branches run at the same time
          - {device: a, command: TestUnitReady, repeat: 100}
          - [ {device: b, command: Reserve6}, {device: b, command: Release6} ]  # a sequence
      - group:                        # steps run in order, as a unit
          - {device: a, command: {Read10: {lba: "${lba}", transfer_length: 1}}}
        for: {lba: [0, 8, 16]}        # or repeat: N, or duration: 8h (a soak)
        when: "device.lbpme"          # on any step, a group or the scenario: else NOT APPLICABLE
        finally: [...]                # the group's own cleanup
    finally:                          # run even after a failure (release what was reserved)
      - {device: a, command: Release6, expect: any}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..scsi.catalog import Catalog, standard_catalog

__all__ = [
    "CONTAINERS",
    "DataSource",
    "Device",
    "Expectation",
    "Mark",
    "Policy",
    "Scenario",
    "Step",
    "Value",
    "every_step",
    "steps_beside",
]

#: Step kinds that only hold other steps. They are not steps in any count (``validate``'s,
#: the run's progress and summary, JUnit's testcases): their steps are, and their
#: commands are their steps' commands.
CONTAINERS = frozenset({"parallel", "group"})

#: An int, a string with ``${...}``, a plain string (symbolic field values),
#: or ``{"random": [lo, hi]}``; resolved by the planner when the step runs.
Value = Any
Policy = Literal["stop", "continue"]


@dataclass(frozen=True, slots=True)
class Mark:
    """Where something was written: ``FILE:LINE:COL`` (1-based), as errors print it."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True)
class Device:
    """A logical device name bound to a target; ``--device NAME=TARGET`` rebinds it."""

    name: str
    target: str
    initiator: str | None = None
    queue_depth: int | None = None
    timeout: float | None = None  # seconds; the default command timeout on this device
    options: dict[str, Any] = field(default_factory=dict)  # target options (sim geometry, faults)
    mark: Mark | None = None
    #: What opening it does about a pending UNIT ATTENTION: ``clear`` it (TEST UNIT READY
    #: until GOOD, then READ CAPACITY for the block size) or ``keep`` it (send nothing).
    unit_attention: Literal["clear", "keep"] = "clear"

    def open_options(self) -> dict[str, Any]:
        """What a plugin's ``sgscript_open_target`` gets: ``options`` plus the
        ``queue_depth``, ``initiator`` and ``timeout`` the spec gives."""
        options = dict(self.options)
        for key, value in (
            ("queue_depth", self.queue_depth),
            ("initiator", self.initiator),
            ("timeout", self.timeout),
        ):
            if value is not None:
                options[key] = value
        return options


@dataclass(frozen=True)
class Expectation:
    """One expectation kind and its value, as written (``status: BUSY``, ``data: {...}``).

    Built-in kinds: ``good``, ``status``, ``sense``, ``fail``, ``any``, ``data``,
    ``fields``, ``duration``; plugins register more (with a JSON Schema for the value).
    The short forms normalise as: ``expect: good`` → kind ``good``; ``expect: fail`` →
    kind ``fail`` with value None; ``expect: any`` → kind ``any``.  Several keys in one
    ``expect:`` mapping must all hold.
    """

    kind: str
    value: Any = None
    mark: Mark | None = None


@dataclass(frozen=True)
class DataSource:
    """Data-out to send, or data-in to check: a pattern, a file, or literal bytes.

    ``pattern``: ``lba`` (each block stamped with its LBA and the seed, as fio's verify
    does), ``zeros``, ``byte`` (``value`` repeated), ``incrementing``, ``random``
    (seeded); or ``file`` (a path relative to the spec; ``offset`` and ``length`` send a
    window of it); or ``hex`` (which may hold ``${...}``); or ``parameters``, the command's
    parameter list by field.  ``length`` overrides the size the command implies.
    """

    pattern: str | None = None
    seed: Value = None
    value: Value = None
    file: str | None = None
    hex: str | None = None
    length: Value = None
    offset: Value = None  # with ``file``: where in the file the data starts
    #: The parameter list by field (``{reservation_key: "${key}"}``), encoded by the
    #: command's own encoder; ``from:`` in a mapping starts from a saved one.
    parameters: Any = None
    mark: Mark | None = None


#: The events an ``on_error:`` table names, and what each is.
ERROR_EVENTS: dict[str, str] = {
    "unit_attention": "CHECK CONDITION, UNIT ATTENTION",
    "busy": "status BUSY",
    "task_set_full": "status TASK SET FULL",
    "timeout": "the command timed out",
    "recovered_error": "CHECK CONDITION, RECOVERED ERROR",
    "medium_error": "CHECK CONDITION, MEDIUM ERROR",
    "not_ready": "CHECK CONDITION, NOT READY",
    "aborted_command": "CHECK CONDITION, ABORTED COMMAND",
}


@dataclass(frozen=True)
class ErrorAction:
    """What ``on_error:`` does with an event its step's ``expect:`` did not accept:
    ``ignore`` (passes, counted), ``log`` (passes, each one noted), ``retry`` (sent again
    up to ``retries`` times, ``backoff`` seconds apart), ``fail`` (judged as today) or
    ``stop`` (fails and stops the scenario, whatever ``on_failure`` says)."""

    action: Literal["ignore", "log", "retry", "fail", "stop"]
    retries: int = 0
    backoff: float = 0.0

    def __str__(self) -> str:
        if self.action != "retry":
            return self.action
        every = f" every {self.backoff:g}s" if self.backoff else ""
        return f"retry {self.retries}{every}"


@dataclass(frozen=True)
class Count:
    """``counts:`` of a step: how many of its commands must match ``match`` (an ``expect``)."""

    match: tuple[Expectation, ...]
    at_least: Value = None
    at_most: Value = None
    mark: Mark | None = None


@dataclass(frozen=True)
class Step:
    """One entry of ``steps:``; ``kind`` says which of the forms it is.

    - ``command``: ``command`` (catalog name) and ``fields``, or ``cdb`` (raw hex) with
      ``data_in`` (bytes to read) or ``data`` (to write);
    - ``reset``: ``reset`` is ``lun``, ``target``, ``bus`` or ``host`` (the Linux host's ioctl);
    - ``task``: ``task`` is a SAM-5 task management function (``TaskFunction`` values:
      ``abort_task``, ``abort_task_set``, ``clear_task_set``, ``lun_reset``,
      ``it_nexus_reset``, ``target_reset``); ABORT TASK aims at the commands in flight
      of the step ``of`` names (``steps_beside``);
    - ``sleep``: ``sleep`` seconds;
    - ``parallel``: ``branches``, each a tuple of steps run in order, all branches at once;
    - ``check``: ``check``, a condition over the variables that must hold (nothing is sent);
    - ``group``: ``body`` run in order, once or per ``loop`` value / ``repeat`` / until
      ``duration``, then its ``cleanup`` (its ``finally:``) however it ended.

    ``when`` (an expression) and ``requires`` (conditions on device facts) decide at run
    time whether the step applies; one that does not is NOT APPLICABLE.
    """

    kind: Literal["command", "reset", "task", "sleep", "parallel", "group", "check"]
    name: str
    device: str | None = None
    command: str | None = None
    fields: dict[str, Value] = field(default_factory=dict)
    cdb: str | None = None
    data_in: Value = None
    data: DataSource | None = None
    expect: tuple[Expectation, ...] = ()
    save: dict[str, str] = field(default_factory=dict)
    repeat: Value = 1
    queue_depth: Value = 1
    timeout: float | None = None
    optional: bool = False
    on_failure: Policy | None = None  # None: the scenario's policy
    reset: str | None = None
    task: str | None = None  # a task management function (``TaskFunction`` value)
    of: str | None = None  # ABORT TASK: the name or path of the step whose commands it aborts
    sleep: float | None = None
    branches: tuple[tuple[Step, ...], ...] = ()
    body: tuple[Step, ...] = ()  # a group's steps
    cleanup: tuple[Step, ...] = ()  # a group's finally:
    #: A group's ``for:``: the loop variable and what it walks (a list, ``{range: [...]}``,
    #: or an expression giving a list, such as a saved response list).
    loop: tuple[str, Value] | None = None
    duration: float | None = None  # a group repeats until this many seconds have passed
    check: str | None = None  # a check step's condition
    #: Tallies judged when a command step ends: (what matches, at least, at most).
    counts: tuple[Count, ...] = ()
    when: str | None = None  # an expression; false: the step is not applicable
    requires: tuple[str, ...] = ()  # conditions on device facts, each must hold
    #: ``on_error:`` of a command step or a group: event -> action (the nearer wins).
    on_error: dict[str, ErrorAction] = field(default_factory=dict)
    id: str | None = None  # a requirement ID (``SBC-4 5.16``), shown in every report
    refs: tuple[str, ...] = ()  # references (``libiscsi:Read10.BeyondEol``)
    mark: Mark | None = None
    #: Where the step sits, unique in its scenario, 1-based as the planner counts (plan/):
    #: ``3`` (third of ``steps:``), ``5.2.1`` (step 5's second branch, its first step),
    #: ``finally.1``; positions after includes are spliced in.
    path: str = ""

    @property
    def path_name(self) -> str:
        return self.name

    def children(self) -> tuple[tuple[Step, ...], ...]:
        """The step lists it holds: a parallel group's branches, a group's body and cleanup."""
        if self.kind == "group":
            return (self.body, self.cleanup)
        return self.branches


@dataclass(frozen=True)
class Scenario:
    """A whole spec file, includes resolved, defaults applied, ready to plan."""

    name: str
    file: str
    description: str = ""
    version: int = 1
    devices: dict[str, Device] = field(default_factory=dict)
    vars: dict[str, Value] = field(default_factory=dict)
    steps: tuple[Step, ...] = ()
    finally_steps: tuple[Step, ...] = ()
    on_failure: Policy = "stop"
    when: str | None = None  # false once the devices are open: the scenario is NOT APPLICABLE
    on_error: dict[str, ErrorAction] = field(default_factory=dict)
    requires: tuple[str, ...] = ()
    id: str | None = None
    refs: tuple[str, ...] = ()
    mark: Mark | None = None
    #: The spec's directory: relative data files resolve against it (the loader makes
    #: ``DataSource.file`` and ``data`` expectation files absolute already).
    base_dir: str = ""
    #: Every file included, as messages name them (for logs: what the run read).
    includes: tuple[str, ...] = ()
    #: Where each ``vars:`` entry was written (plan-time checks point at it).
    var_marks: dict[str, Mark] = field(default_factory=dict)
    #: The commands its names resolved in (a plugin manager's ``pm.catalog``); the
    #: planner builds, and targets identify, through this one.
    catalog: Catalog = field(default_factory=standard_catalog, repr=False, compare=False)

    def all_steps(self) -> list[Step]:
        """Every step, parallel branches and ``finally:`` included, in file order."""
        out: list[Step] = []

        def walk(steps: tuple[Step, ...]) -> None:
            for step in steps:
                out.append(step)
                for branch in step.children():
                    walk(branch)

        walk(self.steps)
        walk(self.finally_steps)
        return out

    def count_steps(self) -> int:
        """The steps a run reports, ``finally:`` included; a container is not one (its steps are)."""
        return sum(step.kind not in CONTAINERS for step in self.all_steps())

    def steps_beside(self, path: str) -> list[Step]:
        """The command steps that run at the same time as step ``path``: see ``steps_beside``."""
        return steps_beside((*self.steps, *self.finally_steps), path)


def steps_beside(steps: tuple[Step, ...], path: str) -> list[Step]:
    """The command steps in the other branches of every ``parallel:`` that holds step
    ``path`` (what may have commands in flight while it runs), in file order."""
    out: list[Step] = []

    def inside(items: tuple[Step, ...]) -> bool:
        for step in items:
            if step.path == path:
                return True
            if step.kind == "parallel":
                for i, branch in enumerate(step.branches):
                    if inside(branch):
                        for j, other in enumerate(step.branches):
                            if j != i:
                                out.extend(s for s in every_step(other) if s.kind == "command")
                        return True
            elif any(inside(children) for children in step.children()):
                return True
        return False

    inside(steps)
    return out


def every_step(steps: tuple[Step, ...]) -> list[Step]:
    """``steps`` and every step they hold, in file order."""
    out: list[Step] = []
    for step in steps:
        out.append(step)
        for children in step.children():
            out.extend(every_step(children))
    return out
