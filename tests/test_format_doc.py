"""docs/format.md documents every key the schema accepts (a new key without a doc entry fails)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sgscript.scenario.schema import load_schema

DOC = Path(__file__).resolve().parent.parent / "docs" / "format.md"


def schema_keys(node: Any) -> set[str]:
    """Every key of every ``properties`` (and ``patternProperties``, as written) in the schema."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                found |= set(value)
            elif key == "patternProperties" and isinstance(value, dict):
                found |= {p.strip("^$") for p in value}
            found |= schema_keys(value)
    elif isinstance(node, list):
        for value in node:
            found |= schema_keys(value)
    return found


def documented(text: str) -> set[str]:
    """Names written as code in the doc: `key`, `key: value`, `x-…`."""
    spans = re.findall(r"`([^`\n]+)`", text)
    return {re.match(r"[^\s:{(=,]+", s).group(0).rstrip("…") for s in spans if s[0] not in " {"}


def test_every_schema_key_is_documented() -> None:
    keys = schema_keys(load_schema())
    # The walk reaches the nested definitions, not only the top level.
    assert {"sgscript", "repeat", "sha256", "initiator", "ascq", "random", "x-"} <= keys
    missing = sorted(keys - documented(DOC.read_text()))
    assert missing == [], f"docs/format.md does not document: {', '.join(missing)}"


def test_enumerated_values_are_documented() -> None:
    """Pattern names, reset kinds, policies and short expect forms appear as code too."""
    values: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "enum":
                    values.update(v for v in value if isinstance(v, str))
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(load_schema())
    assert {"lba", "lun", "continue", "good"} <= values
    missing = sorted(values - documented(DOC.read_text()))
    assert missing == [], f"docs/format.md does not document: {', '.join(missing)}"
