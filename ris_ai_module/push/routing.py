"""Which AI host(s) an exam goes to: ordered rules over the exam's RAI_V_EXAM columns, then a default.

A hospital group runs more than one AI host (an echo AI and a breast AI; one host per campus). Each rule
(``[[push.routes]]``, push/section.py) names the hosts it sends to and the conditions an exam must
meet, all of them (AND); a condition on one column holds when any of its values matches (OR). The first
rule that matches decides; an exam no rule matches goes to ``push.default_hosts``. Pure functions over a
mapping of column values, so the worker, ``config check`` and a test make the same decision.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ris_ai_module.push.section import DEFAULT_HOST, RouteCondition, RouteRule


@dataclass(frozen=True)
class Route:
    """The decision for one exam: the hosts in configured order, and why (a rule's name, or ``default``)."""

    hosts: tuple[str, ...]
    reason: str = DEFAULT_HOST


def condition_holds(cond: RouteCondition, value: Any) -> bool:
    """Whether a column value meets the condition (a NULL column meets none)."""
    if value is None:
        return False
    text = str(value).strip()
    fold = (lambda s: s) if cond.case_sensitive else str.casefold
    folded = fold(text)
    if any(folded == fold(v.strip()) for v in cond.equals):
        return True
    if any(fold(v) in folded for v in cond.contains if v):
        return True
    if any(folded.startswith(fold(v)) for v in cond.prefix if v):
        return True
    if cond.regex:
        return re.search(cond.regex, text, 0 if cond.case_sensitive else re.IGNORECASE) is not None
    return False


def rule_matches(rule: RouteRule, exam: Mapping[str, Any]) -> bool:
    return all(condition_holds(c, exam.get(c.column.lower())) for c in rule.when)


def route(exam: Mapping[str, Any], rules: Sequence[RouteRule], default_hosts: Sequence[str]) -> Route:
    """The hosts an exam (``{column_lower: value}``) goes to, in the order configured, without repeats."""
    for i, rule in enumerate(rules):
        if rule_matches(rule, exam):
            return Route(tuple(dict.fromkeys(rule.hosts)), rule.name or f"push.routes[{i}]")
    return Route(tuple(dict.fromkeys(default_hosts)), DEFAULT_HOST)
