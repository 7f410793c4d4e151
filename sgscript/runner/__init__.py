"""The runner: one scenario on its bound devices, through one reactor, to a ``ScenarioResult``.

``run_scenario`` is the whole unit of work: it takes
only picklable arguments (the scenario, ``--device`` bindings, seed, ``-k``,
plugin module names), opens the devices, runs the plan, closes everything and
returns a picklable result whose ``to_dict()`` is the scenario's JSON record.

How a run goes:

| phase | what happens |
|---|---|
| open | each device a selected step uses: a plugin's ``sgscript_open_target`` first, else ``Channel.open``; then prepared as its ``unit_attention`` says (``clear``: TEST UNIT READY until GOOD, at most 4: the power-on UNIT ATTENTION every new I_T nexus gets, cleared as a host's scan does, then READ CAPACITY once for the block size; ``keep``: nothing), reported as an ``open`` record (``result.preparation``, the reporters' ``device_opened``); a device that cannot be opened raises ``DeviceOpenError`` (exit 3) |
| steps | in order; ``parallel:`` branches at once; a step with ``repeat: N, queue_depth: Q`` keeps up to Q commands in flight, pulling more from the plan's lazy stream as others complete |
| judge | every completion: the verify module's ``verify(ctx, expect, kinds)`` and the plugins' ``sgscript_check_command``; a clean completion of a step that expects only success skips both (unless a plugin checks every command) |
| stop | a failed step whose policy is ``stop`` ends the scenario: nothing new is sent, what is in flight is reaped, steps not reached are ``skipped`` ("not run: ...") |
| finally | ``finally:`` steps always run (after a failure, a device error or Ctrl-C), each of them |
| report | ``Reporter`` callbacks as things happen; the plugins' ``sgscript_step_finished`` / ``sgscript_scenario_finished`` |

Statuses: a step is ``passed``, ``failed``, ``skipped`` (``optional:`` and the
device answered INVALID COMMAND OPERATION CODE; or not run because the run
stopped), ``error`` (its device or the path to it broke: a transport error,
any errno from the driver, DID_NO_CONNECT, a driver error — whatever the
step's ``expect:`` says) or ``interrupted`` (cut short or never reached because
of a signal).  The scenario is ``passed``, ``failed`` (a step failed: exit 1),
``error`` (a device or its path broke, in ``steps:`` or ``finally:``: exit 3),
``interrupted`` (a signal: exit 128 + its number), or ``skipped`` when ``-k``
selects nothing.

A broken device is never a pass: the step that saw the break ends as an
``error`` and sends nothing more.  When the device is gone (ENODEV, ENXIO,
DID_NO_CONNECT, DID_BAD_TARGET, a failed read of completions) it is *lost*:
its commands in flight are cut, its later steps (``finally:`` included) are
failed as "not run: device ... lost" and other devices carry on.

Signals: the first SIGINT, SIGTERM or SIGHUP (main thread; a signal somebody
else handles, or ignores, is left alone) asks the run to stop: nothing new is
sent, commands in flight are reaped for at most ``REAP_TIMEOUT`` seconds,
``finally:`` steps run for at most ``FINALLY_TIMEOUT`` seconds, reporters get
``scenario_finished``, and the result comes back with ``interrupted=True``,
``status="interrupted"`` and ``signal`` naming it (the CLI exits 128 + its
number after the logs are written).  A second signal abandons what is left
(``finally:`` included) and still returns the result.  A ``KeyboardInterrupt``
raised by a reporter is treated like the first SIGINT.  So callers check
``result.interrupted``; the one ``Interrupted`` (a ``KeyboardInterrupt``) that
escapes is a second signal while the devices are being opened (nothing ran;
what was opened is closed).

Every wait has a deadline: each command its timeout (the reactor's), reaping
after a stop ``REAP_TIMEOUT``, ``finally:`` after a signal ``FINALLY_TIMEOUT``.

Memory is flat in the number of commands: commands are streamed, at most Q
``Io`` objects live per step, latency goes into a fixed-size histogram, and a
step keeps the details of its first ``MAX_FAILURES`` failures only.
"""

from .devices import DeviceOpenError
from .reporting import Reporter
from .results import MAX_FAILURES, FailureDetail, Latency, LatencyStats, ScenarioResult, StepResult
from .runner import FINALLY_TIMEOUT, REAP_TIMEOUT, run_plan, run_scenario
from .signals import SIGNALS, Interrupted, signal_name

__all__ = [
    "FINALLY_TIMEOUT",
    "MAX_FAILURES",
    "REAP_TIMEOUT",
    "SIGNALS",
    "DeviceOpenError",
    "FailureDetail",
    "Interrupted",
    "Latency",
    "LatencyStats",
    "Reporter",
    "ScenarioResult",
    "StepResult",
    "run_plan",
    "run_scenario",
    "signal_name",
]
