"""Verify handlers: how a command's completion is judged, the seed library's ``handler`` module.

A verify handler is called with the completed Io and raises to fail it.
``must_fail`` and ``might_fail`` work bare (``verify_handler=handler.must_fail``,
as in the seed) or narrowed to one way of failing::

    handler.must_fail(sense_key="ILLEGAL_REQUEST", asc=0x21)
    handler.must_fail(ReservationConflict)
    handler.might_fail(status="BUSY")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .scsi.errors import ExpectationFailed, TaskFailed
from .scsi.status import ScsiStatus, SenseKey
from .transport.base import Io

__all__ = ["Expect", "debug", "might_fail", "must_fail", "success"]


def success(io: Io) -> None:
    """The default: any failure is raised as its own class."""
    if io.failure is not None:
        raise io.failure


def debug(io: Io) -> None:
    """Print what came back (a handler for ``add_handler``)."""
    sense = io.sense
    print(
        f"{io!r}: status={ScsiStatus.text(io.status)} host={io.host_status:#x} "
        f"driver={io.driver_status:#x} resid={io.resid} duration={io.duration * 1e3:.3f} ms"
        + (f" sense: {sense.summary()}" if sense else "")
    )


@dataclass(frozen=True)
class _Failure:
    """One way of failing: an exception class and/or status, sense key, ASC, ASCQ."""

    kind: type[TaskFailed] | None = None
    status: int | None = None
    sense_key: int | None = None
    asc: int | None = None
    ascq: int | None = None

    @classmethod
    def of(
        cls,
        kind: type[TaskFailed] | None = None,
        *,
        status: Any = None,
        sense_key: Any = None,
        asc: int | None = None,
        ascq: int | None = None,
    ) -> _Failure:
        return cls(
            kind,
            None if status is None else int(ScsiStatus.parse(status)),
            None if sense_key is None else int(SenseKey.parse(sense_key)),
            asc,
            ascq,
        )

    def matches(self, io: Io) -> bool:
        failure = io.failure
        if failure is None:
            return False
        if self.kind is not None and not isinstance(failure, self.kind):
            return False
        if self.status is not None and io.status != self.status:
            return False
        if self.sense_key is not None or self.asc is not None or self.ascq is not None:
            sense = io.sense
            if sense is None:
                return False
            for want, got in (
                (self.sense_key, sense.sense_key),
                (self.asc, sense.asc),
                (self.ascq, sense.ascq),
            ):
                if want is not None and want != got:
                    return False
        return True

    def __str__(self) -> str:
        parts = [self.kind.__name__] if self.kind else []
        if self.status is not None:
            parts.append(ScsiStatus.text(self.status))
        if self.sense_key is not None:
            parts.append(SenseKey.text(self.sense_key))
        if self.asc is not None:
            parts.append(
                f"ASC {self.asc:02X}h" + ("" if self.ascq is None else f"/{self.ascq:02X}h")
            )
        return ", ".join(parts) or "any failure"


class Expect:
    """``must_fail``/``might_fail``: a handler that is also a factory of narrower ones."""

    def __init__(self, must: bool, failure: _Failure | None = None) -> None:
        self.must = must
        self.failure = failure

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and isinstance(args[0], Io):
            return self.check(args[0])
        return Expect(self.must, _Failure.of(*args, **kwargs))

    def check(self, io: Io) -> None:
        if io.failure is None:
            if self.must:
                want = f" ({self.failure})" if self.failure else ""
                raise ExpectationFailed(io, f"expected a failure{want}, but it succeeded")
            return
        if self.failure is not None and not self.failure.matches(io):
            if self.must:
                raise ExpectationFailed(
                    io, f"expected {self.failure}, got {io.failure.detail}"
                ) from io.failure
            raise io.failure

    def __repr__(self) -> str:
        name = "must_fail" if self.must else "might_fail"
        return f"handler.{name}({self.failure or ''})"


#: The command must fail (any way, or the way given).
must_fail = Expect(must=True)
#: The command may fail (any way, or only the way given).
might_fail = Expect(must=False)
