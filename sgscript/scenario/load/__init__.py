"""YAML spec → ``Scenario``: safe parsing with marks, includes, defaults, schema and semantic checks.

The pipeline, and what each stage reports (every problem a ``Problem`` at
``FILE:LINE:COL``; a file's problems are all collected, then raised together
as one ``SpecError``):

=============  =============================================================
stage          checks
=============  =============================================================
read           YAML syntax; duplicate keys; tags other than plain YAML
               (nothing is constructed but str/int/float/bool/null)
includes       files found; no cycles; each file against its own root
               schema (``fragment`` or ``step_fragment``), marks in that file
schema         ``schemas/sgscript.schema.json`` (+ plugin ``expect`` kinds):
               unknown keys (did you mean), types, forms (``schema.explain``)
semantics      commands (did you mean; plugin commands count once
               registered), CDB fields (did you mean; ``lba``), constant
               values against the field's width and symbolic names,
               expressions (syntax, column-accurate) and variables in scope,
               devices declared, raw CDB hex, data hex/files, status and
               sense key names, ``save:`` names, direction of ``data:``,
               response field names (``expect: {fields:}`` keys, ``save:``
               values) where the CDB fixes the response's shape
=============  =============================================================

Variables in scope for a step: ``vars:`` (each may use the ones before it),
the built-ins of ``BUILTIN_VARS``, and names ``save:``d by earlier steps; in a
``parallel:`` group a branch sees what it saved itself, not its siblings'
saves (those are visible after the group); ``finally:`` steps see everything
the main steps save (a run cut short may not have saved it: that fails then).

Includes: a top-level ``include:`` merges fragments' ``devices``/``vars``/
``defaults`` under this file's (later fragments over earlier ones); a step
``- include: FILE`` splices that file's steps in place.  Paths are relative to
the naming file and confined (``files.confine``: the spec's directory or a
``--data-dir``), marks point into the file that holds the text, and each file
is read and checked once however often it is included.  Bounds
(``sgscript.limits``) are checked while parsing, never after building.

Expectation kinds: the schema file defines the built-ins; kinds only plugins
define come from ``sgscript.verify.plugins.expectation_schema(pm)`` when that
layer is importable (``spec`` must not need it: without it, the file's kinds).

``save:`` values and ``expect: {fields:}`` keys name decoded response fields
(dotted paths).  A name no answer can hold is an error with a did-you-mean:
the command's response shape (``Command.response_fields``) for the CDB field
values known now says which names may be there (``values.check_response_path``).
Whether a name is in one device's answer (a descriptor list's length, a page it
lacks) is known only at run time; where the shape itself depends on a value
known then (a page code from an expression, a vendor page), nothing is refused.
A command without a data-in phase cannot save anything, and that is an error.
"""

from __future__ import annotations

from ...grammar import parse_duration
from ...limits import MAX_STEPS
from .doc import Problem, SpecError
from .entry import MAX_FILE_BYTES, Extensions, load_scenario, load_scenario_text
from .overrides import check_var_names, override_vars, parse_vars
from .values import BUILTIN_VARS

__all__ = [
    "BUILTIN_VARS",
    "MAX_FILE_BYTES",
    "MAX_STEPS",
    "Extensions",
    "Problem",
    "SpecError",
    "check_var_names",
    "load_scenario",
    "load_scenario_text",
    "override_vars",
    "parse_duration",
    "parse_vars",
]
