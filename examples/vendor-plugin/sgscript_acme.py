"""sgscript-acme: the model of a drive vendor's sgscript plugin (copy it, rename Acme).

It adds, through the ``sgscript`` entry point (pyproject.toml) and the hooks of
``sgscript.hookspecs`` (nothing registers itself on import):

- a vendor command, ``AcmeReadTemperature`` (opcode C1h, a 10-byte CDB, data-in
  with an allocation length), so specs can say ``command: AcmeReadTemperature``;
- an expectation kind, ``temperature: {max: 70, min: 5, sensor: 2}``, that decodes
  the vendor response and says which sensor was out of bounds;
- the command on the simulated disk (``sim:``), so specs using it run without a
  drive, in CI (``sgscript_sim_handlers``).

The response (all big-endian)::

    bytes 0-1  SENSOR DATA LENGTH (4 per sensor)
    bytes 2-3  reserved
    then per sensor: byte 0 SENSOR ID, byte 1 bit 0 ALARM, bytes 2-3 TEMPERATURE (°C, signed)
"""

from __future__ import annotations

from typing import Any

from sgscript.hookspecs import CheckContext, ExpectationKind, hookimpl
from sgscript.scsi.cdb import Bytes, Command, Direction, F
from sgscript.scsi.shapes import BOOL, Items, integer, record
from sgscript.sim import LogicalUnit, Request
from sgscript.verify import mismatch

__all__ = [
    "TEMPERATURE_SCHEMA",
    "AcmeReadTemperature",
    "check_temperature",
    "encode_temperatures",
    "read_temperature",
]

ALL_SENSORS = 0xFF
SENSORS = 4
#: The sim's temperatures: ``ambient + 4 * sensor`` °C; tests heat it via ``lu.state``.
AMBIENT_KEY = "acme.ambient"
AMBIENT = 30
ALARM_AT = 60


class AcmeReadTemperature(Command):
    """ACME READ TEMPERATURE: the drive's temperature sensors (one, or all with 0xFF).

    Defining it registers nothing: it enters a plugin manager's catalog through
    ``sgscript_add_commands``, which checks that its opcode collides with nothing.
    """

    opcode = 0xC1
    length = 10
    title = "ACME READ TEMPERATURE"
    standard = "Acme vendor specific"
    direction = Direction.IN
    transfer = Bytes("allocation_length")
    fields = (
        F("sensor", 2, default=ALL_SENSORS),
        F("allocation_length", 7, 7, 16, 64),
        F("control", 9),
    )
    #: What ``decode_response`` returns: ``sgscript commands AcmeReadTemperature`` lists
    #: it, and ``sgscript validate`` refuses a ``fields:`` or ``save:`` name it lacks.
    response = record(
        "temperatures",
        {
            "sensor_count": integer(),
            "sensors": Items(
                record("sensor", {"sensor": integer(8), "alarm": BOOL, "celsius": integer(16)})
            ),
            "max_celsius": integer(16),
            "truncated": BOOL,
        },
    )

    def decode_response(self, data: bytes) -> dict[str, Any]:
        """``{sensor_count, sensors: [{sensor, alarm, celsius}], max_celsius}``."""
        if len(data) < 4:
            return {}
        length = int.from_bytes(data[0:2], "big")
        body = data[4 : 4 + length]
        sensors = [
            {
                "sensor": body[i],
                "alarm": bool(body[i + 1] & 1),
                "celsius": int.from_bytes(body[i + 2 : i + 4], "big", signed=True),
            }
            for i in range(0, len(body) - 3, 4)
        ]
        return {
            "sensor_count": len(sensors),
            "sensors": sensors,
            "max_celsius": max((s["celsius"] for s in sensors), default=None),
            "truncated": len(body) < length,
        }


def encode_temperatures(temps: dict[int, int]) -> bytes:
    """The response for ``{sensor: celsius}`` (what the simulated disk sends)."""
    body = b"".join(
        bytes([sensor, int(celsius >= ALARM_AT)]) + celsius.to_bytes(2, "big", signed=True)
        for sensor, celsius in sorted(temps.items())
    )
    return len(body).to_bytes(2, "big") + bytes(2) + body


# ------------------------------------------------------------------ the expectation kind

TEMPERATURE_SCHEMA = {
    "description": "Acme drive temperature bounds (°C), of one sensor or all of them",
    "type": "object",
    "properties": {
        "max": {"type": "integer", "description": "no sensor hotter than this"},
        "min": {"type": "integer", "description": "no sensor colder than this"},
        "sensor": {"type": "integer", "minimum": 0, "maximum": 254},
    },
    "additionalProperties": False,
    "anyOf": [{"required": ["max"]}, {"required": ["min"]}],
}


def check_temperature(ctx: CheckContext, value: dict[str, Any]) -> str | None:
    """None when every sensor (or ``sensor``) is within ``min``..``max``."""
    io = ctx.io
    if not isinstance(io.command, AcmeReadTemperature):
        return mismatch(ctx, "an AcmeReadTemperature command", type(io.command).__name__)
    if io.failure is not None:
        return None  # no data to judge: the failure itself is reported (or expected)
    sensors = io.command.decode_response(io.data).get("sensors", [])
    if "sensor" in value:
        sensors = [s for s in sensors if s["sensor"] == value["sensor"]]
        if not sensors:
            return mismatch(ctx, f"a reading of sensor {value['sensor']}", "none")
    lo, hi = value.get("min"), value.get("max")
    bad = [
        s
        for s in sensors
        if (hi is not None and s["celsius"] > hi) or (lo is not None and s["celsius"] < lo)
    ]
    if not bad:
        return None
    bounds = []
    if lo is not None:
        bounds.append(f"at least {lo} °C")
    if hi is not None:
        bounds.append(f"at most {hi} °C")
    got = ", ".join(f"sensor {s['sensor']} at {s['celsius']} °C" for s in bad)
    return mismatch(ctx, f"temperature {' and '.join(bounds)}", got)


# ------------------------------------------------------------------ the simulated disk


def read_temperature(lu: LogicalUnit, req: Request) -> bytes:
    """AcmeReadTemperature on ``sim:`` targets: sensor *i* reads ``ambient + 4 * i`` °C."""
    ambient = int(lu.state.get(AMBIENT_KEY, AMBIENT))
    temps = {i: ambient + 4 * i for i in range(SENSORS)}
    sensor = req.f("sensor")
    if sensor != ALL_SENSORS:
        if sensor not in temps:
            raise req.invalid("sensor")
        temps = {sensor: temps[sensor]}
    return encode_temperatures(temps)  # the sim cuts it at the allocation length


# ------------------------------------------------------------------ the hooks


@hookimpl
def sgscript_add_commands() -> list[type[Command]]:
    return [AcmeReadTemperature]


@hookimpl
def sgscript_sim_handlers() -> dict[str, Any]:
    return {"AcmeReadTemperature": read_temperature}


@hookimpl
def sgscript_expectation_kinds() -> list[ExpectationKind]:
    return [
        ExpectationKind(
            "temperature",
            TEMPERATURE_SCHEMA,
            check_temperature,
            description="Acme sensor temperatures within bounds",
        )
    ]
