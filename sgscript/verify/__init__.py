"""Verifiers: the pluggy hooks, the built-in expectations, plugin loading (docs/plugins.md).

A plugin module needs only this package::

    from sgscript.verify import ExpectationKind, hookimpl, mismatch

    @hookimpl
    def sgscript_expectation_kinds():
        return [ExpectationKind("temperature", {"type": "object"}, check_temperature)]
"""

from ..hookspecs import PROJECT, CheckContext, ExpectationKind, hookimpl, hookspec
from .builtin import Mismatch, failed_message, mismatch, outcome, parse_duration
from .plugins import (
    ENTRY_POINT_GROUP,
    SHORT_FORMS,
    KindTable,
    PluginManager,
    expectation_kinds,
    expectation_schema,
    get_plugin_manager,
    verify,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT",
    "SHORT_FORMS",
    "CheckContext",
    "ExpectationKind",
    "KindTable",
    "Mismatch",
    "PluginManager",
    "expectation_kinds",
    "expectation_schema",
    "failed_message",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "mismatch",
    "outcome",
    "parse_duration",
    "verify",
]
