"""Which AI host(s) an exam goes to: ordered rules over the exam's RAI_V_EXAM columns, then a default.

A hospital group runs more than one AI host (an echo AI and a breast AI; one host per campus). Each rule
names the hosts it sends to and the conditions an exam must meet, all of them (AND); a condition on one
column holds when any of its values matches (OR). The first rule that matches decides; an exam no rule
matches goes to ``push.default_hosts``. Pure functions over a mapping of column values, so the same
decision is made by the worker, by ``config check`` (which validates every name) and by a test.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The name by which rules refer to the host of the ``[push]`` section itself.
DEFAULT_HOST = "default"


@dataclass(frozen=True)
class RouteCondition:
    """One column test. Several forms in one condition are alternatives (any may match)."""

    column: str
    equals: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    prefix: tuple[str, ...] = ()
    regex: str = ""
    case_sensitive: bool = False

    def forms(self) -> int:
        return len(self.equals) + len(self.contains) + len(self.prefix) + (1 if self.regex else 0)

    def holds(self, value: Any) -> bool:
        """Whether the exam's column value meets the condition (a NULL column meets none)."""
        if value is None:
            return False
        text = str(value).strip()
        fold = (lambda s: s) if self.case_sensitive else str.casefold
        folded = fold(text)
        if any(folded == fold(v.strip()) for v in self.equals):
            return True
        if any(fold(v) in folded for v in self.contains if v):
            return True
        if any(folded.startswith(fold(v)) for v in self.prefix if v):
            return True
        if self.regex:
            flags = 0 if self.case_sensitive else re.IGNORECASE
            return re.search(self.regex, text, flags) is not None
        return False


@dataclass(frozen=True)
class RouteRule:
    """``hosts`` receive every exam meeting all of ``when``; ``name`` appears in logs and the trace."""

    hosts: tuple[str, ...]
    when: tuple[RouteCondition, ...] = ()
    name: str = ""

    def matches(self, exam: Mapping[str, Any]) -> bool:
        return all(c.holds(exam.get(c.column.lower())) for c in self.when)


@dataclass(frozen=True)
class Route:
    """The decision for one exam: the hosts, and why (the rule's name, or ``default``)."""

    hosts: tuple[str, ...]
    reason: str = field(default=DEFAULT_HOST)


def route(exam: Mapping[str, Any], rules: Sequence[RouteRule], default_hosts: Sequence[str]) -> Route:
    """The hosts an exam (``{column_lower: value}``) goes to, in the order configured, without repeats."""
    for i, rule in enumerate(rules):
        if rule.matches(exam):
            return Route(tuple(dict.fromkeys(rule.hosts)), rule.name or f"push.routes[{i}]")
    return Route(tuple(dict.fromkeys(default_hosts)), DEFAULT_HOST)


def rule_problems(rules: Sequence[RouteRule], default_hosts: Sequence[str], hosts: Sequence[str],
                  columns: Sequence[str]) -> list[tuple[str, str]]:
    """Every (dotted key, reason) wrong in the rules: unknown host or column, empty rule, bad regex."""
    known_hosts = set(hosts)
    known_columns = {c.lower() for c in columns}
    problems: list[tuple[str, str]] = []
    for i, rule in enumerate(rules):
        where = f"push.routes[{i}]"
        if not rule.hosts:
            problems.append((f"{where}.hosts", "a rule must name at least one host"))
        for j, host in enumerate(rule.hosts):
            if host not in known_hosts:
                problems.append((f"{where}.hosts[{j}]", f"unknown host {host!r} (known: {', '.join(sorted(known_hosts))})"))
        for j, cond in enumerate(rule.when):
            key = f"{where}.when[{j}]"
            if cond.column.lower() not in known_columns:
                problems.append((f"{key}.column", f"unknown RAI_V_EXAM column {cond.column!r} "
                                                  f"(known: {', '.join(sorted(c.upper() for c in known_columns))})"))
            if cond.forms() == 0:
                problems.append((key, "give at least one of equals, contains, prefix, regex"))
            if cond.regex:
                try:
                    re.compile(cond.regex)
                except re.error as exc:
                    problems.append((f"{key}.regex", f"not a regular expression: {exc}"))
    for j, host in enumerate(default_hosts):
        if host not in known_hosts:
            problems.append((f"push.default_hosts[{j}]", f"unknown host {host!r}"))
    return problems
