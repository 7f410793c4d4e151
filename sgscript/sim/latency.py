"""Latency distributions for injected faults: each ``draw(rng)`` gives seconds.

``fault_options.py`` parses their text (``2ms``, ``uniform:1ms:5ms``, ``exp:MEAN[:MAX]``,
``normal:MEAN:SD``); ``str()`` writes it back, so ``Faults.describe`` round-trips.
"""

from __future__ import annotations

import math
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass

__all__ = ["Exponential", "Fixed", "Latency", "Normal", "Uniform"]


def _text(seconds: float) -> str:
    """0.002 → ``2ms``: a duration as the options write it."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale or unit == "us":
            return f"{seconds / scale:.6g}{unit}"
    return "0s"


class Latency(ABC):
    """A latency distribution; ``draw(rng)`` gives seconds."""

    __slots__: tuple[str, ...]  # the parameters: each subclass is a dataclass(slots=True)

    @abstractmethod
    def draw(self, rng: random.Random) -> float:
        """One latency, in seconds."""

    def __str__(self) -> str:
        name = {"Fixed": "", "Uniform": "uniform:", "Exponential": "exp:", "Normal": "normal:"}
        values = [v for v in (getattr(self, f) for f in self.__slots__) if v != math.inf]
        return name[type(self).__name__] + ":".join(_text(v) for v in values)


@dataclass(frozen=True, slots=True)
class Fixed(Latency):
    seconds: float

    def draw(self, rng: random.Random) -> float:
        return self.seconds


@dataclass(frozen=True, slots=True)
class Uniform(Latency):
    low: float
    high: float

    def draw(self, rng: random.Random) -> float:
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True, slots=True)
class Exponential(Latency):
    mean: float
    cap: float = math.inf

    def draw(self, rng: random.Random) -> float:
        return min(rng.expovariate(1.0 / self.mean), self.cap) if self.mean else 0.0


@dataclass(frozen=True, slots=True)
class Normal(Latency):
    mean: float
    sd: float

    def draw(self, rng: random.Random) -> float:
        return max(0.0, rng.gauss(self.mean, self.sd))
