"""The Chinese findings paragraph: a template file rendered with the report items, and the marked block.

Template syntax (kept small so a hospital's report clerk can edit it):

* ``{KEY}`` the value with its unit (``48.0mm``); ``{KEY:value}`` the number only; ``{KEY:name}`` the
  Chinese name;
* ``[ ... ]`` an optional part, dropped when a value in it is missing;
* a line whose values are all missing is left out; a line starting with ``#`` is a comment.

Separators left dangling by dropped parts (``，。`` or ``：，``) are tidied, so a line reads naturally
whichever measurements the AI host sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path

from ris_ai_module.errors import ConfigError
from ris_ai_module.report.display import ReportItem

BUILTIN_TEMPLATE = "echo_findings_zh.txt"

_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_]+)(?::(value|name|unit))?\}")
_OPTIONAL = re.compile(r"\[([^\[\]]*)\]")
_SEP = "，,、；;"
_AFTER_COLON = re.compile(rf"([：:])\s*[{_SEP}]+")
_BEFORE_END = re.compile(rf"[{_SEP}\s]+([。]|$)")
_REPEATED = re.compile(rf"([{_SEP}])[{_SEP}]+")


def load_template(path: str) -> str:
    """The template text: a configured file, or the built-in echo template."""
    if not path:
        return resources.files("ris_ai_module.report").joinpath(f"templates/{BUILTIN_TEMPLATE}").read_text(
            encoding="utf-8"
        )
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("report.text.template", f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError("report.text.template", f"{path} is not UTF-8 text: {exc}") from exc


def _value(match: re.Match[str], items: Mapping[str, ReportItem]) -> str | None:
    item = items.get(match.group(1))
    if item is None:
        return None
    part = match.group(2)
    if part == "value":
        return item.display_value
    if part == "name":
        return item.name_zh
    if part == "unit":
        return item.display_unit
    return item.display


def _fill(text: str, items: Mapping[str, ReportItem]) -> tuple[str, int, int]:
    """Replace placeholders; returns (text, placeholders found, placeholders missing)."""
    found = missing = 0

    def sub(match: re.Match[str]) -> str:
        nonlocal found, missing
        found += 1
        value = _value(match, items)
        if value is None:
            missing += 1
            return ""
        return value

    return _PLACEHOLDER.sub(sub, text), found, missing


def render_line(line: str, items: Mapping[str, ReportItem]) -> str | None:
    """One template line, or None when it is to be left out."""
    keys = _PLACEHOLDER.findall(line)
    if keys and not any(k in items for k, _part in keys):
        return None

    def optional(match: re.Match[str]) -> str:
        filled, found, missing = _fill(match.group(1), items)
        return "" if missing or not found else filled

    text, _found, _missing = _fill(_OPTIONAL.sub(optional, line), items)
    text = _REPEATED.sub(r"\1", text)
    text = _AFTER_COLON.sub(r"\1", text)
    text = _BEFORE_END.sub(r"\1", text)
    return text.rstrip()


def render_findings(template: str, items: Mapping[str, ReportItem]) -> str:
    """All lines rendered; empty when no line has a value."""
    out: list[str] = []
    for line in template.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        rendered = render_line(line, items)
        if rendered:
            out.append(rendered)
    return "\n".join(out)


def replace_block(existing: str | None, block_text: str, begin: str, end: str, place: str = "append") -> str:
    """Put ``block_text`` between the markers, replacing the previous block; text outside is kept as is.

    An empty ``block_text`` removes the module's block (with the line break that joined it).
    """
    current = existing or ""
    start = current.find(begin)
    stop = current.find(end, start + len(begin)) if start >= 0 else -1
    block = f"{begin}\n{block_text}\n{end}" if block_text else ""
    if start >= 0 and stop >= 0:
        before, after = current[:start], current[stop + len(end):]
        if not block:
            before = before[:-1] if before.endswith("\n") else before
            after = after[1:] if after.startswith("\n") and not before else after
        return before + block + after
    if not block:
        return current
    if not current:
        return block
    return block + "\n" + current if place == "prepend" else current.rstrip("\n") + "\n" + block
