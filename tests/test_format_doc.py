"""docs/format.md documents every key the schema accepts, and its whole examples run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sgscript.cli import main
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


def _whole_specs() -> list[str]:
    """The doc's YAML examples that are whole scenarios (they start with ``sgscript: 1``) and
    stand alone (the include example needs its fragment)."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    return [b for b in blocks if b.lstrip().startswith("sgscript: 1") and "include:" not in b]


@pytest.mark.parametrize("text", _whole_specs())
def test_whole_examples_run_on_the_simulated_disk(text: str, tmp_path: Path) -> None:
    """An example a reader copies runs: it loads, and passes (or does not apply) on sim:."""
    from sgscript import load_scenario, run_scenario

    spec = tmp_path / "example.yaml"
    spec.write_text(text)
    result = run_scenario(load_scenario(str(spec)), seed=1)
    assert result.status in ("passed", "not_applicable"), "\n".join(
        f"{s.path} {s.status}: {s.message}" for s in result.steps
    )


def test_the_doc_shows_runnable_examples_of_groups_and_conditions() -> None:
    keys = {key for text in _whole_specs() for key in re.findall(r"\b(\w+):", text)}
    assert {"group", "for", "duration", "finally", "when", "requires"} <= keys


def test_the_response_field_examples_are_what_sgscript_prints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The `commands` listing and the `validate` messages of the `save` section, as run."""
    text = DOC.read_text()
    spec = _block(text, "```yaml\n# fields.yaml\n")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fields.yaml").write_text(spec)
    assert main(["validate", "fields.yaml"]) == 2
    shown = _block(text, "$ sgscript validate fields.yaml\n").splitlines()
    assert capsys.readouterr().out.splitlines() == shown
    assert main(["commands", "Inquiry", "evpd=1", "page_code=0x83"]) == 0
    printed = {" ".join(line.split()) for line in capsys.readouterr().out.splitlines()}
    listing = _block(text, "$ sgscript commands Inquiry evpd=1 page_code=0x83\n")
    rows = [" ".join(line.split()) for line in listing.splitlines() if line.strip() != "..."]
    assert len(rows) > 3 and [r for r in rows if r not in printed] == []


def _block(text: str, start: str) -> str:
    """What follows ``start`` in the doc, up to the end of its code block."""
    at = text.index(start) + len(start)
    return text[at : text.index("```", at)]
