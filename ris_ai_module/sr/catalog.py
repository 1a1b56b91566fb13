"""The measurement catalog: CSV data in ``catalog/`` (plus an optional hospital overlay) loaded once.

A rule says: this concept, in this context, from this manufacturer, is that canonical key. Codes,
context rules, units and zh/en names live in the CSV files; this module only reads and indexes them.
See ``catalog/README.md`` for the file formats and the provenance of every file.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from ris_ai_module.errors import InvalidInput
from ris_ai_module.sr.items import normalise_code
from ris_ai_module.sr.units import convertible

RULE_FILES = (
    "rules-vendor.csv", "rules-echo.csv", "rules-ob.csv", "rules-gyn.csv", "rules-vascular.csv", "rules-smallparts.csv",
    "rules-abdomen.csv",
)
#: Rules for CODE and TEXT findings (categories, descriptors); their keys are in ``keys-findings.csv``.
FINDING_RULE_FILES = ("rules-findings.csv",)
FINDING_VALUE_TYPES = frozenset({"CODE", "TEXT"})


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A canonical measurement key of measurement-keys.csv."""

    key: str
    domain: str
    name_en: str
    name_zh: str
    unit: str


@dataclass(frozen=True, slots=True)
class Constraint:
    """One context condition of a rule: allowed code keys / texts, may be absent, must be present."""

    role: str
    codes: frozenset[tuple[str, str]]
    texts: frozenset[str]
    absent_ok: bool
    any_present: bool

    def accepts(self, ctx_value: object | None) -> bool:
        if ctx_value is None:
            return self.absent_ok
        if self.any_present:
            return True
        code_key = getattr(ctx_value, "code_key", None)
        if code_key is not None and code_key in self.codes:
            return True
        text = getattr(ctx_value, "text", None)
        return text is not None and text.casefold() in self.texts


@dataclass(frozen=True, slots=True)
class Rule:
    """Concept (+ context, + vendor) -> key. ``rank`` orders competing matching rules."""

    key: str
    constraints: tuple[Constraint, ...]
    manufacturer: re.Pattern | None
    model: re.Pattern | None
    rank: tuple[int, int, int, int]
    source: str
    #: CODE/TEXT rules only: the value sets of ``finding-values.csv`` a value must belong to.
    values: tuple[str, ...] = ()

    def applies(self, context: dict, manufacturer: str, model: str) -> bool:
        if self.manufacturer is not None and not self.manufacturer.search(manufacturer):
            return False
        if self.model is not None and not self.model.search(model):
            return False
        return all(c.accepts(context.get(c.role)) for c in self.constraints)


@dataclass(frozen=True, slots=True)
class Role:
    role: str
    identity: bool
    name_zh: str


@dataclass(frozen=True, slots=True)
class FindingValue:
    """A coded (or text, or category) value of a finding, with the name Chinese reports give it."""

    value_set: str
    scheme: str
    code: str
    name_en: str
    name_zh: str
    source: str


@dataclass(frozen=True, slots=True)
class Derived:
    """A derived value of a measurement (derived.csv): its own key ``<measurement key><suffix>``."""

    kind: str
    suffix: str
    name_en: str
    name_zh: str
    unit: str  # "=": the measurement's own unit
    source: str


@dataclass(frozen=True, slots=True)
class Site:
    """A site code that carries its side (sites.csv): the unlateralised site plus that laterality."""

    site: tuple[str, str, str]  # scheme, code, meaning
    laterality: tuple[str, str]


@dataclass
class Catalog:
    keys: dict[str, KeyInfo] = field(default_factory=dict)
    by_code: dict[tuple[str, str], list[Rule]] = field(default_factory=dict)
    by_any_scheme: dict[str, list[Rule]] = field(default_factory=dict)
    by_meaning: dict[str, list[Rule]] = field(default_factory=dict)
    roles_by_code: dict[tuple[str, str], Role] = field(default_factory=dict)
    roles_by_any_scheme: dict[str, Role] = field(default_factory=dict)
    roles_by_meaning: dict[str, Role] = field(default_factory=dict)
    values: dict[tuple[str, str], tuple[str, str, str]] = field(default_factory=dict)
    documents: dict[str, tuple[str, str]] = field(default_factory=dict)
    identity_roles: set[str] = field(default_factory=set)
    #: CODE/TEXT findings: rules indexed like the NUM rules above (``rules-findings.csv``), None in itself.
    findings: Catalog | None = None
    #: value set -> (scheme, code) or ("TEXT", term) or ("CATEGORY", label) -> value (``finding-values.csv``).
    value_sets: dict[str, dict[tuple[str, str], FindingValue]] = field(default_factory=dict)
    derived_by_code: dict[tuple[str, str], Derived] = field(default_factory=dict)
    derived_by_unit: dict[str, Derived] = field(default_factory=dict)
    sites: dict[tuple[str, str], Site] = field(default_factory=dict)
    #: key -> (min, max) in the key's unit: what the quantity can be by definition (limits.csv).
    limits: dict[str, tuple[float, float]] = field(default_factory=dict)
    _index: dict[tuple, tuple[dict, tuple[Rule, ...]]] = field(default_factory=dict, repr=False)

    def role_of(self, code_key: tuple[str, str] | None, code: str, meaning: str) -> Role | None:
        """The modifier role of a concept name: by code, else by code in any scheme, else by meaning."""
        if code_key is not None:
            role = self.roles_by_code.get(code_key) or self.roles_by_any_scheme.get(code)
            if role is not None:
                return role
        return self.roles_by_meaning.get(meaning.casefold()) if meaning else None

    def match(
        self, code_key: tuple[str, str], code: str, meaning: str, context: dict, unit: str | None, manufacturer: str,
        model: str,
    ) -> Rule | None:
        """Best rule for a concept in a context; the unit's dimension breaks ties (g vs g/m2)."""
        by_site, others = self._candidates(code_key, code, meaning)
        if not by_site and not others:
            return None
        site = context.get("finding_site")
        site_key = site.code_key if site is not None else None
        candidates = by_site.get(site_key, ()) if site_key is not None else ()
        found = [r for r in (*candidates, *others) if r.applies(context, manufacturer, model)]
        if not found:
            return None
        if unit:
            fitting = [r for r in found if r.key in self.keys and convertible(unit, self.keys[r.key].unit)]
            found = fitting or found
        return max(found, key=lambda r: r.rank)

    def _candidates(self, code_key: tuple[str, str], code: str, meaning: str) -> tuple[dict, tuple[Rule, ...]]:
        """The rules of a concept, those that need a given Finding Site indexed by it (built once per concept:
        a vessel property such as PSV has a rule per vessel, and only the item's own site can match)."""
        cache_key = (code_key, code, meaning.casefold() if meaning else "")
        hit = self._index.get(cache_key)
        if hit is not None:
            return hit
        rules = self.by_code.get(code_key, []) + self.by_any_scheme.get(code, [])
        if meaning:
            rules = rules + self.by_meaning.get(meaning.casefold(), [])
        by_site: dict[tuple[str, str], list[Rule]] = {}
        others: list[Rule] = []
        for rule in dict.fromkeys(rules):
            site = next((c for c in rule.constraints if c.role == "finding_site"), None)
            if site is not None and site.codes and not site.absent_ok and not site.any_present and not site.texts:
                for key in site.codes:
                    by_site.setdefault(key, []).append(rule)
            else:
                others.append(rule)
        hit = ({k: tuple(v) for k, v in by_site.items()}, tuple(others))
        if len(self._index) < 100_000:
            self._index[cache_key] = hit
        return hit


def _read_csv(text: str, where: str) -> list[dict[str, str]]:
    rows = list(csv.DictReader(text.splitlines()))
    return [{k.strip(): (v or "").strip() for k, v in row.items() if k is not None} for row in rows]


def _code_key(token: str) -> tuple[str, str]:
    scheme, _, code = token.partition(":")
    return normalise_code(scheme, code)


def _parse_context(text: str, where: str) -> tuple[Constraint, ...]:
    out = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        role, sep, values = part.partition("=")
        if not sep:
            raise InvalidInput(where, f"context condition {part!r} is not role=value")
        codes, texts, absent_ok, any_present = set(), set(), False, False
        for tok in (t.strip() for t in values.split("|")):
            if tok == "-":
                absent_ok = True
            elif tok == "*":
                any_present = True
            elif len(tok) >= 2 and tok[0] == tok[-1] and tok[0] in "\"'":
                texts.add(tok[1:-1].casefold())
            elif ":" in tok:
                codes.add(_code_key(tok))
            else:
                raise InvalidInput(where, f"context value {tok!r} is not SCHEME:CODE, \"text\", - or *")
        out.append(Constraint(role.strip(), frozenset(codes), frozenset(texts), absent_ok, any_present))
    return tuple(out)


def _add_rules(cat: Catalog, rows: list[dict[str, str]], layer: int, where: str) -> None:
    for n, row in enumerate(rows, start=2):
        here = f"{where}:{n}"
        value_types = {t.strip().upper() for t in row.get("value_type", "").split("|") if t.strip()}
        if value_types - FINDING_VALUE_TYPES - {"NUM"}:
            raise InvalidInput(here, f"value_type {row.get('value_type')!r} is not NUM, CODE or TEXT")
        target = cat.findings if value_types & FINDING_VALUE_TYPES and cat.findings is not None else cat
        key = row.get("key", "")
        if not key or not row.get("concept"):
            raise InvalidInput(here, "a rule needs a key and a concept")
        if row.get("unit") or row.get("name_en") or row.get("name_zh"):
            old = cat.keys.get(key)
            cat.keys[key] = KeyInfo(
                key, row.get("domain") or (old.domain if old else "hospital"),
                row.get("name_en") or (old.name_en if old else key), row.get("name_zh") or (old.name_zh if old else ""),
                row.get("unit") or (old.unit if old else ""),
            )
        if key not in cat.keys:
            raise InvalidInput(here, f"key {key!r} is not in measurement-keys.csv and the row gives no unit/names")
        constraints = _parse_context(row.get("context", ""), here)
        man = re.compile(row["manufacturer"], re.I) if row.get("manufacturer") else None
        mod = re.compile(row["model"], re.I) if row.get("model") else None
        rank = (layer, int(man is not None) + int(mod is not None), len(constraints), -n)
        values = tuple(v.strip() for v in row.get("values", "").split("|") if v.strip())
        unknown = [v for v in values if v not in cat.value_sets]
        if unknown:
            raise InvalidInput(here, f"value set {unknown[0]!r} is not in finding-values.csv")
        rule = Rule(key, constraints, man, mod, rank, row.get("source", ""), values)
        for tok in (t.strip() for t in row["concept"].split("|")):
            if tok.startswith("~"):
                target.by_meaning.setdefault(tok[1:].casefold(), []).append(rule)
            elif tok.startswith("*:"):
                target.by_any_scheme.setdefault(tok[2:], []).append(rule)
            elif ":" in tok:
                target.by_code.setdefault(_code_key(tok), []).append(rule)
            else:
                raise InvalidInput(here, f"concept {tok!r} is not SCHEME:CODE, *:CODE or ~meaning")


def _data(name: str) -> str:
    return resources.files("ris_ai_module.sr").joinpath("catalog", name).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def builtin_catalog() -> Catalog:
    return _build(None)


@lru_cache(maxsize=8)
def _overlay_catalog(path: str, mtime: float) -> Catalog:
    return _build(path)


def load_catalog(overlay_file: str | os.PathLike | None = None) -> Catalog:
    """The built-in catalog, or built-in + a hospital overlay (same format as a rules file; wins ties)."""
    if overlay_file is None:
        return builtin_catalog()
    path = os.fspath(overlay_file)
    try:
        mtime = os.stat(path).st_mtime
    except OSError as exc:
        raise InvalidInput("overlay_file", f"{path}: {exc.strerror}") from exc
    return _overlay_catalog(path, mtime)


def _value_key(scheme: str, code: str) -> tuple[str, str]:
    """Index key of a finding value: a normalised code, or a case-folded text term / category label."""
    if scheme in ("TEXT", "CATEGORY"):
        return scheme, code.casefold()
    return normalise_code(scheme, code)


def _add_finding_values(cat: Catalog) -> None:
    for row in _read_csv(_data("finding-values.csv"), "finding-values.csv"):
        value = FindingValue(row["set"], row["scheme"], row["code"], row["name_en"], row["name_zh"], row["source"])
        key = _value_key(value.scheme, value.code)
        cat.value_sets.setdefault(value.value_set, {})[key] = value
        if value.scheme not in ("TEXT", "CATEGORY"):  # also a display name for modifiers (site, position)
            cat.values.setdefault(key, (value.name_en, value.name_zh, "finding"))


def _build(overlay: str | None) -> Catalog:
    cat = Catalog()
    for name in ("keys.csv", "keys-findings.csv"):
        for row in _read_csv(_data(name), name):
            cat.keys[row["key"]] = KeyInfo(row["key"], row["domain"], row["name_en"], row["name_zh"], row["unit"])
    for row in _read_csv(_data("roles.csv"), "roles.csv"):
        role = Role(row["role"], row["identity"] == "yes", row["name_zh"])
        if role.identity:
            cat.identity_roles.add(role.role)
        if row["scheme"] == "*":
            cat.roles_by_any_scheme[row["code"]] = role
        elif row["code"]:
            cat.roles_by_code[normalise_code(row["scheme"], row["code"])] = role
        else:
            cat.roles_by_meaning[row["meaning"].casefold()] = role
    for row in _read_csv(_data("values.csv"), "values.csv"):
        cat.values[normalise_code(row["scheme"], row["code"])] = (row["name_en"], row["name_zh"], row["kind"])
    for row in _read_csv(_data("documents.csv"), "documents.csv"):
        match = row["match"]
        cat.documents[match if match.startswith("sop:") else "{}:{}".format(*_code_key(match))] = (
            row["template"], row["domain"],
        )
    for row in _read_csv(_data("derived.csv"), "derived.csv"):
        derived = Derived(row["kind"], row["suffix"], row["name_en"], row["name_zh"], row["unit"], row["source"])
        match = row["match"]
        if match.startswith("unit:"):
            cat.derived_by_unit[match[5:]] = derived
        else:
            cat.derived_by_code[_code_key(match)] = derived
    for row in _read_csv(_data("sites.csv"), "sites.csv"):
        cat.sites[normalise_code(row["scheme"], row["code"])] = Site(
            (row["site_scheme"], row["site_code"], row["site_meaning"]), _code_key(row["laterality"]),
        )
    for row in _read_csv(_data("limits.csv"), "limits.csv"):
        cat.limits[row["key"]] = (float(row["min"]), float(row["max"]))
    _add_finding_values(cat)
    cat.findings = Catalog(keys=cat.keys, values=cat.values, value_sets=cat.value_sets)
    for name in RULE_FILES + FINDING_RULE_FILES:
        _add_rules(cat, _read_csv(_data(name), name), 0, name)
    if overlay is not None:
        try:
            with open(overlay, encoding="utf-8-sig") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidInput("overlay_file", f"{overlay}: {exc}") from exc
        _add_rules(cat, _read_csv(text, overlay), 1, overlay)
    return cat
