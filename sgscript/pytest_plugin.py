"""pytest plugin: ``pytest specs/`` runs every sgscript scenario file as a test item.

Registered through the ``pytest11`` entry point, so it is active wherever
sgscript is installed (``-p no:sgscript`` turns it off).  A ``*.yaml``/``*.yml``
file is collected only when it has a top-level ``sgscript:`` key, so other
YAML in a test tree (include fragments, CI files) is left alone.

| option | does |
|---|---|
| ``--sgscript-device NAME=TARGET`` | bind a device name (repeatable); a spec takes the names it declares |
| ``--sgscript-var NAME=VALUE`` | override a ``vars:`` entry (as ``sgscript run --var``); a name no collected spec declares is a usage error |
| ``--sgscript-data-dir DIR`` | a directory includes and data files may come from, besides the spec's (repeatable) |
| ``--sgscript-seed N`` | the seed of every random choice (default: one chosen per session, shown in the header) |
| ``--sgscript-log DIR`` | a JSON Lines log per scenario in DIR (``sgscript run --log`` format) |
| ``--sgscript-plugin MODULE`` | load an sgscript plugin module (as ``sgscript run -p``) |
| ``--sgscript-allow-destructive`` | let steps that change a real device run (as ``sgscript run --allow-destructive``); a disk in use is refused even then |

Each item is self-contained: it forgets every simulated target before it
runs and opens its own devices, so items can run in any order and in any
process (``pytest -n 4`` with pytest-xdist spreads the drives of one host over
processes; a failing drive fails its own item only).  So unlike ``sgscript
run a.yaml b.yaml``, where one ``sim:`` name is one disk for the command line,
two items never share a simulated disk: xdist workers could not, and an item's
verdict must not depend on which ran before it in its process.  A malformed spec is a
collection error that prints its ``FILE:LINE:COL`` lines; a failing scenario's
report is the console summary of its failed steps (expected, got, sense, CDB),
ending with the ``sgscript run`` command line that runs that scenario again.
"""

from __future__ import annotations

import re
import signal
from pathlib import Path
from typing import Any

import pytest

__all__ = ["ScenarioFailed", "SpecFile", "SpecItem"]

_HEAD = 64 * 1024  # where a spec says it is one: its first lines
_SPEC_KEY = re.compile(rb"^sgscript[ \t]*:", re.MULTILINE)


class ScenarioFailed(Exception):
    """A scenario ran and an expectation did not hold; carries the ``ScenarioResult``."""

    def __init__(self, result: Any) -> None:
        super().__init__(_headline(result))
        self.result = result


def _headline(result: Any) -> str:
    """The first failure in one line: what pytest's short summary (``-ra``) shows."""
    for step in result.steps:
        if step.status == "failed" and getattr(step, "kind", "command") not in (
            "parallel",
            "group",
        ):
            details = list(getattr(step, "failures", ()))
            text = (details[0].message if details else "") or getattr(step, "message", "")
            first = text.strip().splitlines()[0] if text.strip() else "failed"
            return f"step {step.path} ({step.name}): {first}"
    return f"{result.name}: {result.status} {getattr(result, 'message', '')}".strip()


#: The signal that interrupted a scenario of this session (its name), if one did.
_SIGNAL = pytest.StashKey[str | None]()


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A session a SIGTERM or SIGHUP stopped exits 143 or 129, as the shell and CI expect."""
    name = session.config.stash.get(_SIGNAL, None)
    if name in ("SIGTERM", "SIGHUP") and exitstatus == pytest.ExitCode.INTERRUPTED:
        session.exitstatus = 128 + int(getattr(signal, name))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sgscript", "sgscript scenario files")
    group.addoption(
        "--sgscript-device",
        action="append",
        default=[],
        dest="sgscript_devices",
        metavar="NAME=TARGET",
        help="bind a spec's device NAME to TARGET (/dev/sg3, sim:...); repeatable",
    )
    group.addoption(
        "--sgscript-var",
        action="append",
        default=[],
        dest="sgscript_vars",
        metavar="NAME=VALUE",
        help="override a spec's vars: entry NAME (VALUE as YAML); repeatable",
    )
    group.addoption(
        "--sgscript-data-dir",
        action="append",
        default=[],
        dest="sgscript_data_dirs",
        metavar="DIR",
        help="a directory includes and data files may come from, besides the spec's; repeatable",
    )
    group.addoption(
        "--sgscript-seed",
        type=int,
        default=None,
        dest="sgscript_seed",
        metavar="N",
        help="seed of every random choice (default: chosen once per session, printed)",
    )
    group.addoption(
        "--sgscript-log",
        default=None,
        dest="sgscript_log",
        metavar="DIR",
        help="write a JSON Lines log per scenario into DIR",
    )
    group.addoption(
        "--sgscript-plugin",
        action="append",
        default=[],
        dest="sgscript_plugins",
        metavar="MODULE",
        help="load an sgscript plugin module; repeatable",
    )
    group.addoption(
        "--sgscript-allow-destructive",
        action="store_true",
        default=False,
        dest="sgscript_allow_destructive",
        help="let steps that change a real device run (writes, MODE SELECT, reservations,"
        " resets); a mounted or held disk is refused even then",
    )


def pytest_configure(config: pytest.Config) -> None:
    from .scenario.load import parse_vars
    from .scsi.errors import UsageError

    try:
        config._sgscript_vars = parse_vars(config.option.sgscript_vars, "--sgscript-var")  # type: ignore[attr-defined]
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    # One seed per session, chosen by the controller and handed to each xdist
    # worker, so every item of the run (and the summary line) uses the same one.
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        config.option.sgscript_seed = workerinput.get("sgscript_seed")
    elif config.option.sgscript_seed is None:
        from .runner.session import new_seed

        config.option.sgscript_seed = new_seed()
    config.pluginmanager.register(_Summary(config), "sgscript-summary")
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistSeed(config), "sgscript-xdist")


class _XdistSeed:
    """Only registered with pytest-xdist present (its hook is unknown to pytest without it)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["sgscript_seed"] = self.config.option.sgscript_seed


class _Summary:
    """The seed in the terminal summary, once, when scenarios ran (also under xdist)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.ran = 0

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" and any(k == "sgscript_seed" for k, _ in report.user_properties):
            self.ran += 1

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.ran:
            seed = self.config.option.sgscript_seed
            terminalreporter.write_line(
                f"sgscript: {self.ran} scenario(s), seed {seed} (--sgscript-seed {seed} replays)"
            )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """``--sgscript-var`` names no collected spec declares: a typo would change nothing."""
    from .scenario.load import check_var_names
    from .scsi.errors import UsageError

    specs = [item.scenario for item in items if isinstance(item, SpecItem)]
    if specs:
        declared = (n for s in specs for n in s.vars)
        try:
            check_var_names(config._sgscript_vars, declared, "--sgscript-var")  # type: ignore[attr-defined]
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix in (".yaml", ".yml") and _is_spec(file_path):
        return SpecFile.from_parent(parent, path=file_path)
    return None


def _is_spec(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return _SPEC_KEY.search(f.read(_HEAD)) is not None
    except OSError:
        return False


def _plugin_manager(config: pytest.Config) -> Any:
    pm = getattr(config, "_sgscript_pm", None)
    if pm is None:
        from .runner.session import plugin_manager

        pm = plugin_manager(config.option.sgscript_plugins)
        config._sgscript_pm = pm  # type: ignore[attr-defined]
    return pm


def _bindings(config: pytest.Config) -> dict[str, str]:
    from .runner.session import parse_bindings

    return parse_bindings(config.option.sgscript_devices)


class SpecFile(pytest.File):
    """A scenario file: one item, named after the scenario."""

    def collect(self) -> list[pytest.Item]:
        from .runner.session import load_one

        scenario = load_one(
            str(self.path),
            _plugin_manager(self.config),
            data_dirs=self.config.option.sgscript_data_dirs,
            overrides=self.config._sgscript_vars,  # type: ignore[attr-defined]
            seed=self.config.option.sgscript_seed,
        )
        return [SpecItem.from_parent(self, name=scenario.name, scenario=scenario)]

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        from .scsi.errors import UsageError

        if isinstance(excinfo.value, UsageError):  # SpecError: the FILE:LINE:COL lines
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class SpecItem(pytest.Item):
    """One scenario run on its bound devices: self-contained, so any process can run it."""

    def __init__(self, *, scenario: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.result: Any = None

    def runtest(self) -> None:
        from .runner import run_plan
        from .runner.reproduce import Invocation, reproduce_command
        from .runner.session import bindings_for
        from .scenario.plan import Plan
        from .sim import forget_targets

        config = self.config
        option = config.option
        seed = option.sgscript_seed
        self.user_properties.append(("sgscript_seed", seed))
        bindings = bindings_for(self.scenario, _bindings(config))
        plan = Plan(self.scenario, bindings=bindings, seed=seed)
        how = Invocation(  # the item alone, as sgscript run runs it (its disks are fresh)
            vars=tuple(option.sgscript_vars),
            data_dirs=tuple(option.sgscript_data_dirs),
            plugins=tuple(option.sgscript_plugins),
            allow_destructive=option.sgscript_allow_destructive,
            cwd=str(config.invocation_params.dir),
        )
        reporter = self._reporters(seed, bindings)
        forget_targets()  # this item's simulated disks start fresh, whatever ran before
        try:
            self.result = run_plan(
                plan,
                reporter=reporter,
                plugins=_plugin_manager(config),
                allow_destructive=option.sgscript_allow_destructive,
                reproduce=reproduce_command([plan], how),
            )
        finally:
            if reporter is not None:
                reporter.close()
        if self.result.interrupted:  # SIGINT, SIGTERM or SIGHUP: the session stops as for Ctrl-C
            from .runner import Interrupted

            config.stash[_SIGNAL] = self.result.signal
            raise Interrupted(getattr(signal, self.result.signal or "SIGINT", signal.SIGINT))
        if self.result.status == "not_applicable":  # its when:/requires: say it does not apply
            pytest.skip(f"NOT APPLICABLE: {self.result.message}")
        if self.result.status != "passed":  # "failed", or "error": a device broke mid-run
            raise ScenarioFailed(self.result)

    def _reporters(self, seed: int, bindings: dict[str, str]) -> Any:
        """This item's reporters from ``sgscript_reporters``: its JSON Lines log with
        ``--sgscript-log``, and any a plugin adds; None when there are none."""
        from .report.builtin import collect_reporters
        from .scsi.errors import UsageError

        config: dict[str, Any] = {
            "seed": seed,
            "specs": [str(self.path)],
            "bindings": bindings,
            "argv": [],
        }
        directory = self.config.option.sgscript_log
        if directory:
            out = Path(directory)
            out.mkdir(parents=True, exist_ok=True)
            stem = re.sub(r"[^\w.-]+", "_", self.nodeid).strip("_")
            config["log"] = out / f"{stem}.jsonl"
        try:
            found = collect_reporters(_plugin_manager(self.config), config)
        except UsageError as exc:  # the file's own error, as the item has always reported it
            if isinstance(exc.__cause__, OSError):
                raise exc.__cause__ from None
            raise
        if not found:
            return None
        from .report import Reporters

        return found[0] if len(found) == 1 else Reporters(found)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> Any:  # type: ignore[override]
        from .report.console import format_result
        from .runner.safety import DestructiveRefused
        from .scsi.errors import TaskFailed, UsageError

        if isinstance(excinfo.value, DestructiveRefused):  # nothing was sent
            return str(excinfo.value).replace("--allow-destructive", "--sgscript-allow-destructive")
        if isinstance(excinfo.value, ScenarioFailed):
            seed = self.config.option.sgscript_seed
            # the first line is what ``-ra`` shows: the first failure itself
            lines = [str(excinfo.value), "", *format_result(excinfo.value.result)]
            lines += ["", f"replay: --sgscript-seed {seed}"]
            return "\n".join(lines)
        if isinstance(excinfo.value, TaskFailed | UsageError | OSError):
            # a device that cannot be opened, a binding that does not fit: no traceback
            return f"{self.path}: {type(excinfo.value).__name__}: {excinfo.value}"
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        mark = getattr(self.scenario, "mark", None)
        line = mark.line - 1 if mark is not None else 0
        return self.path, line, f"sgscript: {self.name}"
