"""The JSON Schema of the exam push (``exam-push.schema.json``, shipped and documented), and checking a body
against it. The AI-host simulator validates what it receives with it; the module's own payload is tested
against the same file, so the two cannot drift apart.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

SCHEMA_FILE = "exam-push.schema.json"


@dataclass(frozen=True)
class Problem:
    """One reason a body does not match: the field (JSON pointer style, '' for the body) and what is wrong."""

    field: str
    message: str


@lru_cache(maxsize=1)
def load_schema() -> dict[str, Any]:
    return json.loads(resources.files("ris_ai_module.push").joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))


def canonical_body(body: Mapping[str, Any], renames: Mapping[str, str] | None = None,
                   constants: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Undo a site's ``[push]`` shaping: vendor names back to ours, fixed extra fields dropped."""
    back = {theirs: ours for ours, theirs in (renames or {}).items()}
    skip = set(constants or {})
    return {back.get(k, k): v for k, v in body.items() if k not in skip}


def validate_body(body: Any, omitted: tuple[str, ...] = ()) -> list[Problem]:
    """Every problem of ``body`` (already canonical), empty when it matches; ``omitted`` fields are not required."""
    from jsonschema import Draft202012Validator

    schema = dict(load_schema())
    if omitted:
        schema["required"] = [f for f in schema["required"] if f not in omitted]
    validator = Draft202012Validator(schema)
    problems = []
    for err in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path)):
        path = "/".join(str(p) for p in err.absolute_path)
        if err.validator == "required" and isinstance(err.instance, dict):
            missing = [f for f in schema["required"] if f not in err.instance]
            for name in missing:
                problems.append(Problem(name, "required field is missing"))
            continue
        problems.append(Problem(path, err.message))
    # one problem per field is enough for a reader
    seen: set[str] = set()
    unique = []
    for p in problems:
        if p.field not in seen:
            seen.add(p.field)
            unique.append(p)
    return unique
