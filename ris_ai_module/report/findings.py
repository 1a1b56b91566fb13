"""The Chinese findings paragraph: a template file rendered with the report items, and the marked block.

Template syntax (kept small so a hospital's report clerk can edit it):

* ``{KEY}`` the value with its unit (``48.0mm``), or the Chinese wording of a category/descriptor
  (``4A类``, ``低回声``); ``{KEY:value}`` the number only; ``{KEY:name}`` the Chinese name;
  ``{KEY:weeks}`` a gestational age in days as Chinese reports write it (``33周4天``); a KEY without
  its context suffix (``FOLLICLE_COUNT_LEFT`` for ``FOLLICLE_COUNT_LEFT_L``) finds the one item of that key;
* ``[ ... ]`` an optional part, dropped when a value in it is missing (parts nest);
* a line whose values are all missing is left out; a line starting with ``#`` is a comment;
* ``@each DIM …`` … ``@end`` repeats the lines between for every lesion, fetus, side, vessel … found
  (``lesion``, ``fetus``, ``side``, ``vessel``, ``position``, ``site``); inside, ``{KEY}`` is the
  value of that group, ``{@side}`` (左/右), ``{@site}``, ``{@position}``, ``{@vessel}``, ``{@fetus}``,
  ``{@lesion}`` its context, and ``{PSV}`` also finds the group's one key ending in ``_PSV``
  (``VA_PSV``), so one line serves every vessel;
* ``@skip KEY …`` says these keys are deliberately not written (no "unplaced" warning for them).

Separators left dangling by dropped parts (``，。`` or ``：，``) are tidied, so a line reads naturally
whichever measurements the AI host sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from importlib import resources
from pathlib import Path

from ris_ai_module.errors import ConfigError
from ris_ai_module.report.display import ReportItem

BUILTIN_TEMPLATE = "echo_adult_findings_zh.txt"

_PLACEHOLDER = re.compile(r"\{(@?[A-Za-z0-9_]+)(?::(value|name|unit|weeks))?\}")
_EACH = re.compile(r"^@(?:each|每个)\s+(.+?)\s*$")
_SKIP = re.compile(r"^@(?:skip|不写)\s+(.+?)\s*$")
_END = ("@end", "@结束")
_SEP = "，,、；;"
_AFTER_COLON = re.compile(rf"([：:])\s*[{_SEP}]+")
_BEFORE_END = re.compile(rf"[{_SEP}\s]+([。]|$)")
_REPEATED = re.compile(rf"[{_SEP}]{{2,}}")
_LEADING = re.compile(rf"^[{_SEP}\s]+")

#: Block dimension -> the context role of a report item it groups by (``ReportItem.context``).
DIMENSIONS: Mapping[str, str] = {
    "lesion": "lesion", "fetus": "fetus", "side": "side", "vessel": "vessel", "position": "position",
    "site": "site", "follicle": "follicle",
}


def load_template(path: str, key: str = "report.text.template", builtin: str = BUILTIN_TEMPLATE) -> str:
    """The template text: a configured file, or a built-in one; checked so a typo fails at start-up."""
    if not path:
        text = resources.files("ris_ai_module.report").joinpath(f"templates/{builtin}").read_text(encoding="utf-8")
    else:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(key, f"cannot read {path}: {exc.strerror or exc}") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(key, f"{path} is not UTF-8 text: {exc}") from exc
    problem = check_template(text)
    if problem:
        raise ConfigError(key, f"{path or builtin}: {problem}")
    return text


def check_template(text: str) -> str | None:
    """What is wrong with the template's blocks (an unknown dimension, a missing @end), or None."""
    open_at = None
    for n, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        each = _EACH.match(s)
        if each:
            if open_at is not None:
                return f"line {n}: @each inside the @each of line {open_at} (blocks do not nest)"
            unknown = [d for d in each.group(1).split() if d not in DIMENSIONS]
            if unknown:
                return f"line {n}: unknown @each dimension {unknown[0]!r} (one of {', '.join(DIMENSIONS)})"
            open_at = n
        elif s in _END:
            if open_at is None:
                return f"line {n}: @end without @each"
            open_at = None
    return f"line {open_at}: @each without @end" if open_at is not None else None


@dataclass
class _Scope:
    """What placeholders of one line resolve against: items by key, the group context, what was used."""

    items: Mapping[str, ReportItem]
    context: Mapping[str, str] = field(default_factory=dict)
    placed: set[str] = field(default_factory=set)


def _value(name: str, part: str | None, scope: _Scope) -> str | None:
    if name.startswith("@"):
        return scope.context.get(name[1:]) or None
    item = scope.items.get(name)
    if item is None:
        return None
    scope.placed.add(item.key)
    if part == "value":
        return item.display_value
    if part == "name":
        return item.name_zh
    if part == "unit":
        return item.display_unit
    if part == "weeks":
        if item.unit != "d" or item.value is None:
            return item.display
        weeks, days = divmod(int(Decimal(repr(item.value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)), 7)
        return f"{weeks}周{days}天"
    return item.display


def _render(text: str, pos: int, scope: _Scope, nested: bool) -> tuple[str, int, int, int, int]:
    """Render from ``pos`` to the closing ``]`` (nested) or the end: (text, values found, found, missing, end)."""
    out: list[str] = []
    values = found = missing = 0
    n = len(text)
    while pos < n:
        ch = text[pos]
        if ch == "[":
            inner, v, f, m, pos = _render(text, pos + 1, scope, True)
            if not m and f:  # an optional part is kept when nothing in it is missing and something is in it
                out.append(inner)
                values += v
                found += f
            continue
        if ch == "]" and nested:
            return "".join(out), values, found, missing, pos + 1
        if ch == "{":
            match = _PLACEHOLDER.match(text, pos)
            if match:
                value = _value(match.group(1), match.group(2), scope)
                if value is None:
                    missing += 1
                else:
                    out.append(value)
                    found += 1
                    values += not match.group(1).startswith("@")
                pos = match.end()
                continue
        out.append(ch)
        pos += 1
    return "".join(out), values, found, missing, pos


def _line(line: str, scope: _Scope) -> str | None:
    keys = [k for k, _part in _PLACEHOLDER.findall(line) if not k.startswith("@")]
    if keys and not any(k in scope.items for k in keys):
        return None
    text, values, _found, _missing, _end = _render(line, 0, scope, False)
    if keys and not values:  # every part with a value was dropped: nothing to say
        return None
    text = _REPEATED.sub(lambda m: m.group(0)[-1], text)  # "，；" left by a dropped part reads "；"
    text = _AFTER_COLON.sub(r"\1", text)
    text = _BEFORE_END.sub(r"\1", text)
    text = _LEADING.sub("", text) if line[:1] not in _SEP else text
    return text.rstrip()


def render_line(line: str, items: Mapping[str, ReportItem], context: Mapping[str, str] | None = None) -> str | None:
    """One template line, or None when it is to be left out."""
    return _line(line, _Scope(items, context or {}))


def _groups(items: Iterable[ReportItem], dims: list[str]) -> list[tuple[dict[str, str], dict[str, ReportItem]]]:
    """Items grouped by the block's dimensions, in document order: (group context, items by key)."""
    roles = [DIMENSIONS[d] for d in dims]
    order: dict[tuple, list[ReportItem]] = {}
    for item in items:
        order.setdefault(tuple(item.context.get(r) for r in roles), []).append(item)
    out = []
    for members in order.values():
        context: dict[str, str] = {}
        for role in {r for m in members for r in m.context}:
            seen = {m.context[role] for m in members if role in m.context}
            if len(seen) == 1:  # context the whole group shares (a lesion's side and site)
                context[role] = seen.pop()
        by_key: dict[str, ReportItem] = {}
        aliases: dict[str, ReportItem | None] = {}
        for m in members:
            base = m.base_key or m.key
            by_key.setdefault(base, m)
            by_key.setdefault(m.key, m)
            for i in range(1, base.count("_") + 1):
                alias = base.split("_", i)[-1]
                aliases[alias] = m if alias not in aliases else None  # an alias two keys share is ambiguous
        known = _catalog_keys()
        for alias, m in aliases.items():
            if m is not None and alias not in known:  # TIRADS is a key of its own, never C_TIRADS's alias
                by_key.setdefault(alias, m)
        out.append((context, by_key))
    return out


def _catalog_keys() -> frozenset[str]:
    from ris_ai_module.sr.catalog import load_catalog

    return frozenset(load_catalog().keys)


def render_report(template: str, items: Iterable[ReportItem]) -> tuple[str, set[str]]:
    """All lines rendered (empty when no line has a value) and the keys of the items placed."""
    items = list(items)
    flat = {i.key: i for i in items}
    bases: dict[str, list[ReportItem]] = {}
    for i in items:
        bases.setdefault(i.base_key or i.key, []).append(i)
    for base, members in bases.items():  # a key's one item answers to the key without its context suffix
        if len(members) == 1:
            flat.setdefault(base, members[0])
    placed: set[str] = set()
    out: list[str] = []
    lines = template.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        stripped = line.strip()
        if stripped.startswith("#") or not stripped:
            continue
        skip = _SKIP.match(stripped)
        if skip:
            wanted = set(skip.group(1).split())
            placed |= {i.key for i in items if i.key in wanted or (i.base_key or i.key) in wanted}
            continue
        each = _EACH.match(stripped)
        if each is None:
            scope = _Scope(flat, {}, placed)
            rendered = _line(line, scope)
            if rendered:
                out.append(rendered)
            continue
        body: list[str] = []
        while i < len(lines) and lines[i].strip() not in _END:
            if lines[i].strip() and not lines[i].lstrip().startswith("#"):
                body.append(lines[i])
            i += 1
        i += 1  # the @end
        for context, by_key in _groups(items, each.group(1).split()):
            scope = _Scope(by_key, context, set())
            rendered = [r for r in (_line(b, scope) for b in body) if r]
            if rendered:
                out.extend(rendered)
                placed |= scope.placed
    return "\n".join(out), placed


def render_findings(template: str, items: Mapping[str, ReportItem]) -> str:
    """All lines rendered; empty when no line has a value."""
    return render_report(template, items.values())[0]


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
