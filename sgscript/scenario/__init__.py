"""The scenario language: load a YAML spec into the model, plan it, check it.

``load_scenario(path)`` is the entry point; everything it reports is a
``SpecError`` whose ``problems`` each say ``FILE:LINE:COL: what``.
"""

from __future__ import annotations

from .expr import Expr, ExprError, compile_expr, resolve
from .load import (
    BUILTIN_VARS,
    Problem,
    SpecError,
    load_scenario,
    load_scenario_text,
    parse_duration,
)
from .model import DataSource, Device, Expectation, Mark, Scenario, Step
from .schema import load_schema, scenario_schema, schema_text

__all__ = [
    "BUILTIN_VARS",
    "DataSource",
    "Device",
    "Expectation",
    "Expr",
    "ExprError",
    "Mark",
    "Problem",
    "Scenario",
    "SpecError",
    "Step",
    "compile_expr",
    "load_scenario",
    "load_scenario_text",
    "load_schema",
    "parse_duration",
    "resolve",
    "scenario_schema",
    "schema_text",
]
