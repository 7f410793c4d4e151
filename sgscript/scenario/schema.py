"""The scenario JSON Schema: where it lives, how plugins extend it, and errors people can read.

One file, two places.  ``schemas/sgscript.schema.json`` is the copy users and
editors point at (``# yaml-language-server: $schema=../schemas/sgscript.schema.json``)
and the one to edit; ``sgscript/scenario/sgscript.schema.json`` is the same bytes,
shipped inside the package (``[tool.setuptools.package-data]``) so an
installed sgscript can validate and print it.  ``tests/test_spec_load.py``
fails when the two differ; after editing, ``cp schemas/sgscript.schema.json
sgscript/scenario/``.

The file's value patterns (``$defs/duration``) are ``sgscript.grammar``'s, verbatim
(``tests/test_grammar.py`` holds them equal): change the grammar, then the file.

Plugins extend ``expect``: each kind is a property of ``$defs/expect_kinds``,
and ``scenario_schema(kinds)`` injects more before validating.  The built-in
kinds are those properties (``builtin_kind_schemas``): their schemas exist once, here.

jsonschema's messages quote Python reprs and whole sub-schemas; ``explain``
turns each error into one sentence about the YAML: the deepest document path,
the key or value to point at, what was expected (tables below), and a
"did you mean" for near misses.
"""

from __future__ import annotations

import copy
import difflib
import functools
import importlib.resources
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jsonschema

__all__ = [
    "SCHEMA_FILE",
    "Issue",
    "builtin_kind_schemas",
    "explain",
    "kinds_from_fragment",
    "load_schema",
    "path_text",
    "plugin_schema_text",
    "scenario_schema",
    "schema_issues",
    "schema_text",
]

SCHEMA_FILE = "sgscript.schema.json"

#: The root each kind of file is validated against.
ROOTS = {"scenario": None, "fragment": "fragment", "step_fragment": "step_fragment"}

#: What a value of a ``$defs`` entry looks like, for "expected ..." messages.
EXPECTED: dict[str, str] = {
    "expression": "an expression like '${lba + 1}'",
    "integer": "an integer or an expression like '${lba + 1}'",
    "count": "a positive integer or an expression like '${n}'",
    "byte": "an integer 0..255",
    "random": "{random: [lo, hi]}",
    "value": "a number, a string, true/false or {random: [lo, hi]}",
    "duration": "a duration like '50ms', '1.5s', '100us' (or a number of seconds)",
    "name": "a name of letters, digits and '_' (not starting with a digit)",
    "policy": "'stop' or 'continue'",
    "files": "a file name or a list of file names",
    "device": "a target string like 'sim:lu0' or a mapping with target:",
    "status": "a status name like RESERVATION_CONFLICT or a status byte",
    "sense": "a sense key name like ILLEGAL_REQUEST, a key code 0..15, or {key, asc, ascq}",
    "fail": "true, or a mapping of status:, sense: and/or error:",
    "field_check": "a value or {min, max}",
    "expect": "good, fail, any, or a mapping of expectation kinds",
    "command": "a command name like Read10, or {Read10: {field: value}}",
    "branch": "a step or a list of steps",
    "error_action": "ignore, log, fail, stop, retry N or retry N every DURATION (or {retry: N, backoff: DURATION})",
    "number": "a number or an expression like '${x}'",
    "device_mapping": "a target string like 'sim:lu0' or a mapping with target:",
    "sense_mapping": "a sense key name like ILLEGAL_REQUEST, a key code 0..15, or {key, asc, ascq}",
    **dict.fromkeys(
        (
            "step",
            "command_step",
            "reset_step",
            "task_step",
            "sleep_step",
            "include_step",
            "parallel_step",
            "group_step",
            "check_step",
        ),
        "a step (a mapping like {command: TestUnitReady})",
    ),
}

#: Messages for "exactly one of these keys" rules (``oneOf`` of ``required``).
ONE_OF_KEYS: dict[str, str] = {
    "command_step": (
        "a step needs one of command, cdb, reset, task, sleep, include, parallel, group or check"
    ),
    "data_source": "data needs one of pattern, file or hex (or the parameter list by field)",
    "data_check": "a data check needs one of pattern, hex, sha256 or file",
}

#: How a missing required key is named, when its bare name says too little.
REQUIRED: dict[str, str] = {
    "sgscript": "'sgscript: 1' (the format version)",
    "steps": "'steps:' (a list of steps)",
}

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "nothing",
}


@dataclass(frozen=True)
class Issue:
    """One schema problem: where (document path; ``key`` when the key itself is wrong) and what."""

    path: tuple[str | int, ...]
    message: str
    key: bool = False


# ------------------------------------------------------------------ files


@functools.cache
def schema_text() -> str:
    """The packaged schema file, byte for byte (what ``sgscript schema`` prints)."""
    return importlib.resources.files(__package__).joinpath(SCHEMA_FILE).read_text("utf-8")


def load_schema() -> dict[str, Any]:
    """A fresh copy of the packaged schema (callers may modify it)."""
    return copy.deepcopy(_parsed())


@functools.cache
def _parsed() -> dict[str, Any]:
    return json.loads(schema_text())


def builtin_kind_schemas() -> dict[str, Any]:
    """The built-in expectation kinds' schemas, as the file defines them (``$ref`` inlined).

    ``verify.builtin`` registers these, so the kinds' schemas exist once: here.
    """
    schema = load_schema()
    defs = schema["$defs"]

    def inline(node: Any, inside: tuple[str, ...] = ()) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                if ref in inside:  # any_of holds expects: the file's schema checks those
                    return {"type": ["string", "object"]}
                rest = {k: inline(v, inside) for k, v in node.items() if k != "$ref"}
                return {**inline(defs[ref.removeprefix("#/$defs/")], (*inside, ref)), **rest}
            return {k: inline(v, inside) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v, inside) for v in node]
        return node

    return {name: inline(sub) for name, sub in defs["expect_kinds"]["properties"].items()}


def scenario_schema(kinds: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The schema with extra ``expect`` kinds (name → JSON Schema of the value) injected.

    Kinds the file already defines keep the file's schema: the file is the
    documented contract for the built-ins.
    """
    schema = load_schema()
    props = schema["$defs"]["expect_kinds"]["properties"]
    for name, sub in (kinds or {}).items():
        props.setdefault(name, copy.deepcopy(sub) if isinstance(sub, dict) else {})
    return schema


def kinds_from_fragment(fragment: Any) -> dict[str, Any]:
    """Expectation kinds (name → schema) out of a plugin ``expect`` schema fragment.

    Accepts the shapes a fragment may take: ``{properties: {...}}`` (possibly
    under ``else``/``then``/``anyOf``/``oneOf``/``$defs``), or a bare ``{name: schema}``.
    """
    if not isinstance(fragment, Mapping):
        return {}
    props = fragment.get("properties")
    if isinstance(props, Mapping):
        return dict(props)
    for key in ("else", "then"):
        found = kinds_from_fragment(fragment.get(key))
        if found:
            return found
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in fragment.get(key) or ():
            found = kinds_from_fragment(sub)
            if found:
                return found
    defs = fragment.get("$defs")
    if isinstance(defs, Mapping) and "expect_kinds" in defs:
        return kinds_from_fragment(defs["expect_kinds"])
    bare = all(isinstance(v, Mapping | bool) for v in fragment.values())
    if bare and not any(k.startswith("$") or k in _SCHEMA_WORDS for k in fragment):
        return dict(fragment)
    return {}


_SCHEMA_WORDS = frozenset(
    {"type", "if", "then", "else", "enum", "const", "required", "additionalProperties"}
)


# ------------------------------------------------------------- validation


@functools.lru_cache(maxsize=16)
def _validator(kinds_json: str, root: str | None) -> tuple[Any, dict[int, str], frozenset[str]]:
    schema = scenario_schema(json.loads(kinds_json))
    if root is not None:
        schema = {k: v for k, v in schema.items() if k.startswith("$")}
        schema["$ref"] = f"#/$defs/{root}"
    cls = jsonschema.validators.validator_for(schema)
    validator = cls(schema)
    names = {id(sub): name for name, sub in schema["$defs"].items()}
    step_keys = frozenset(
        key
        for name, sub in schema["$defs"].items()
        if name.endswith("_step")
        for key in sub.get("properties", {})
    )
    return validator, names, step_keys


def schema_issues(
    data: Any, root: str = "scenario", kinds: Mapping[str, Any] | None = None
) -> list[Issue]:
    """Every schema problem of one file's data, explained (see ``explain``)."""
    kinds_json = json.dumps(dict(kinds or {}), sort_keys=True, default=str)
    validator, names, step_keys = _validator(kinds_json, ROOTS[root])
    issues: list[Issue] = []
    seen: set[Issue] = set()
    for error in validator.iter_errors(data):
        for issue in explain(error, names, step_keys):
            if issue not in seen:
                seen.add(issue)
                issues.append(issue)
    return issues


def explain(
    error: jsonschema.ValidationError, names: Mapping[int, str], step_keys: frozenset[str]
) -> Iterator[Issue]:
    """One jsonschema error as the sentences a person needs (see the module docstring)."""
    path = tuple(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    defname = names.get(id(schema), "")
    kind = error.validator
    # Both are JSON (the document's value, the schema rule's): the stubs allow Unset, which
    # only a hand-made error carries, never one from iter_errors.
    inst: Any = error.instance
    rule: Any = error.validator_value
    title = schema.get("title") or _title_of(path)
    if kind == "additionalProperties" and isinstance(inst, Mapping):
        allowed = list(schema.get("properties", {}))
        candidates = sorted(step_keys) if defname.endswith("_step") else allowed
        for key in inst:
            if key in allowed:
                continue
            if key in candidates:  # a key of another kind of step
                message = f"{key!r} does not apply to a {title} (its keys: {', '.join(allowed)})"
                yield Issue((*path, key), message, key=True)
                continue
            near = _did_you_mean(str(key), allowed) or _did_you_mean(str(key), candidates)
            hint = near or (f" (expected one of: {', '.join(allowed)})" if allowed else "")
            yield Issue((*path, key), f"unknown key {key!r} in {title}{hint}", key=True)
    elif kind == "required" and isinstance(inst, Mapping):
        unknown = [str(k) for k in inst if k not in schema.get("properties", {})]
        for key in rule:
            if key in inst or difflib.get_close_matches(key, unknown, n=1, cutoff=0.6):
                continue  # a misspelt key is the real problem, reported as unknown
            yield Issue(path, f"{title} needs {REQUIRED.get(key, repr(key))}")
    elif kind == "propertyNames" or "propertyNames" in error.relative_schema_path:
        yield Issue((*path, inst), f"{inst!r} is not a valid name: {EXPECTED['name']}", key=True)
    elif kind == "type":
        near = ""
        if len(path) >= 2 and path[-2] == "data" and isinstance(path[-1], str):
            near = _did_you_mean(path[-1], list(_DATA_SOURCE_KEYS))  # not a parameter list
        if near:
            yield Issue(path, f"unknown key {path[-1]!r} in data{near}", key=True)
        else:
            yield Issue(path, f"expected {_expected(defname, rule)}, got {_got(inst)}")
    elif kind == "enum":
        options = [v for v in rule]
        shown = ", ".join(
            "null" if v is None else str(v).lower() if v is True else str(v) for v in options
        )
        hint = _did_you_mean(inst, [str(v) for v in options]) if isinstance(inst, str) else ""
        yield Issue(path, f"expected one of {shown}, got {_got(inst)}{hint}")
    elif kind == "const":
        what = "format version 1" if path == ("sgscript",) else repr(rule)
        yield Issue(path, f"expected {what}, got {_got(inst)}")
    elif kind in ("anyOf", "oneOf"):
        yield from _explain_choice(error, names, step_keys, path, defname, schema)
    elif kind in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if defname in EXPECTED:
            yield Issue(path, f"expected {EXPECTED[defname]}, got {_got(inst)}")
        else:
            word = "at least" if "inimum" in kind else "at most"
            yield Issue(path, f"expected {word} {rule}, got {_got(inst)}")
    elif kind == "pattern":
        if defname in EXPECTED:
            yield Issue(path, f"expected {EXPECTED[defname]}, got {_got(inst)}")
        elif path and path[-1] == "sha256":
            yield Issue(path, f"expected 64 hex digits, got {_got(inst)}")
        else:
            yield Issue(path, f"{_got(inst)} does not have the expected form")
    elif kind == "minLength":
        yield Issue(path, "must not be empty")
    elif kind == "minItems":
        n = rule
        yield Issue(path, f"expected at least {n} item{'s' if n != 1 else ''}, got {len(inst)}")
    elif kind == "maxItems":
        yield Issue(path, f"expected at most {rule} items, got {len(inst)}")
    elif kind == "dependentRequired" and isinstance(inst, Mapping):
        for key, needs in rule.items():
            for need in needs if key in inst else ():
                if need not in inst:
                    yield Issue((*path, key), f"{key} needs {need}", key=True)
    elif kind in ("minProperties", "maxProperties"):
        yield Issue(path, _count_message(path, title, kind, rule, inst))
    else:
        yield Issue(path, error.message)


def _explain_choice(
    error: jsonschema.ValidationError,
    names: Mapping[int, str],
    step_keys: frozenset[str],
    path: tuple[str | int, ...],
    defname: str,
    schema: Mapping[str, Any],
) -> Iterator[Issue]:
    inst = error.instance
    keyword = error.validator if isinstance(error.validator, str) else ""  # always set
    keys_rule = [s.get("required") for s in schema.get(keyword, ())]
    if isinstance(inst, Mapping) and all(isinstance(r, list) and len(r) == 1 for r in keys_rule):
        # "exactly one of these keys": say which are missing or clash.
        keys = [r[0] for r in keys_rule]
        present = [k for k in keys if k in inst]
        if len(present) > 1:
            yield Issue(path, f"{' and '.join(present)} cannot be used together")
        elif defname == "command_step" and set(inst) - set(step_keys):
            return  # an unknown (misspelt) key already explains the missing one
        else:
            yield Issue(path, ONE_OF_KEYS.get(defname, f"expected one of {', '.join(keys)}"))
        return
    if defname in EXPECTED:
        yield Issue(path, f"expected {EXPECTED[defname]}, got {_got(inst)}")
        return
    best = jsonschema.exceptions.best_match(error.context or [])
    if best is None:
        yield Issue(path, error.message)
    else:
        yield from explain(best, names, step_keys)


#: A data source's keys: a near miss of one is a typo, not a parameter list's command name.
_DATA_SOURCE_KEYS = ("pattern", "seed", "value", "file", "hex", "length", "offset")


def _count_message(path: tuple[str | int, ...], title: str, kind: str, n: int, inst: Any) -> str:
    last = path[-1] if path else ""
    if title == "parameter list" and kind == "minProperties":
        return ONE_OF_KEYS["data_source"]
    if last == "command":
        return "name exactly one command, like {Read10: {lba: 0, transfer_length: 1}}"
    if kind == "minProperties":
        return f"{title} needs at least {n} key{'s' if n != 1 else ''}"
    return f"{title} takes at most {n} key{'s' if n != 1 else ''}, got {len(inst)}"


def _did_you_mean(word: str, candidates: list[str]) -> str:
    near = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not near:
        folded = {c.lower(): c for c in candidates}
        if word.lower() in folded:
            near = [folded[word.lower()]]
    if not near:
        return ""
    return " (did you mean " + " or ".join(repr(n) for n in near) + "?)"


def _expected(defname: str, types: str | list[str]) -> str:
    if defname in EXPECTED:
        return EXPECTED[defname]
    words = [_TYPE_WORDS.get(t, t) for t in ([types] if isinstance(types, str) else types)]
    if "a number" in words and "an integer" in words:
        words.remove("an integer")
    return " or ".join(words)


def _got(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return repr(shown)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _title_of(path: tuple[str | int, ...]) -> str:
    return str(path[-1]) if path and isinstance(path[-1], str) else "this value"


def path_text(path: tuple[str | int, ...]) -> str:
    """``steps[2].command.Read10.lba``: a document path as people write it."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def plugin_schema_text(kinds: Mapping[str, Any] | None = None) -> str:
    """What ``sgscript schema`` prints: the file, plus the expect ``kinds`` (name → schema,
    a plugin manager's ``expect_schemas``) it does not define.

    Without such kinds it is the packaged file byte for byte.
    """
    base = _parsed()["$defs"]["expect_kinds"]["properties"]
    extra = {k: v for k, v in (kinds or {}).items() if k not in base}
    if not extra:
        return schema_text()
    return json.dumps(scenario_schema(extra), indent=2) + "\n"
