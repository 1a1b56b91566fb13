"""Read an SR, walk its content tree, identify every NUM with the catalog and pick the reported values.

Pure: bytes (or a pydicom Dataset) in, :class:`ParsedSR` out. Malformed content never raises; each
problem becomes a warning and the valid items are still read. Only input that is not DICOM at all
raises :class:`~ris_ai_module.errors.InvalidInput`.
"""

from __future__ import annotations

import os
from typing import Any

from ris_ai_module.errors import InvalidInput
from ris_ai_module.sr import coded_findings, raw
from ris_ai_module.sr.catalog import Catalog, Derived, load_catalog
from ris_ai_module.sr.images import image_references
from ris_ai_module.sr.items import (
    CODE_MEANING,
    CODE_VALUE,
    CODING_SCHEME,
    CONCEPT_CODE_SEQ,
    CONCEPT_NAME_SEQ,
    CONTENT_SEQ,
    CONTENT_TEMPLATE_SEQ,
    LONG_CODE_VALUE,
    REFERENCED_CONTENT_ITEM,
    RELATIONSHIP_TYPE,
    SPECIFIC_CHARACTER_SET,
    TEMPLATE_IDENTIFIER,
    VALUE_TYPE,
    CodedValue,
    ContentItem,
    TextDecoder,
    ascii_text,
    coded,
    first_item,
)
from ris_ai_module.sr.model import Measurement, Modifier, ParsedSR
from ris_ai_module.sr.select import select_and_dedupe
from ris_ai_module.sr.units import convert, lookup

#: Deeper content is not walked (one warning). Real reports nest fewer than 20 levels.
MAX_DEPTH = 1000
#: How many warnings of one kind are listed before they are summarised.
MAX_WARNINGS_PER_KIND = 20

SR_SOP_CLASS_PREFIX = "1.2.840.10008.5.1.4.1.1.88."
_HEADER = {
    "sop_class_uid": 0x00080016,
    "sop_instance_uid": 0x00080018,
    "accession_number": 0x00080050,
    "manufacturer": 0x00080070,
    "model": 0x00081090,
    "patient_id": 0x00100020,
    "study_instance_uid": 0x0020000D,
}
PATIENT_NAME = 0x00100010
_UNIT_SCHEMES = ("UCUM",)
_EMPTY_CONCEPT = CodedValue("", "", "")


def parse_sr_file(path: str | os.PathLike, overlay_file: str | os.PathLike | None = None) -> ParsedSR:
    """Parse one SR file. Raises InvalidInput("file", reason) only if it cannot be read as DICOM."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise InvalidInput("file", f"{os.fspath(path)}: {exc.strerror or exc}") from exc
    return parse_sr_bytes(data, overlay_file)


def parse_sr_dataset(ds: Any, overlay_file: str | os.PathLike | None = None) -> ParsedSR:
    """Parse a pydicom Dataset (e.g. one just received by the SCP), via its explicit VR LE encoding."""
    from pydicom.filebase import DicomBytesIO
    from pydicom.filewriter import write_dataset

    out = DicomBytesIO()
    out.is_little_endian = True
    out.is_implicit_VR = False
    try:
        write_dataset(out, ds)
    except RecursionError:
        result = ParsedSR(warnings=["dataset is nested too deeply for pydicom to encode; nothing read"])
        return result
    except Exception as exc:  # noqa: BLE001 - a dataset pydicom cannot encode is malformed input
        raise InvalidInput("dataset", f"cannot be encoded: {exc}") from exc
    root, problem = raw.parse_dataset_tolerant(out.getvalue())
    return _parse_root(root, [problem] if problem else [], overlay_file)


def parse_sr_bytes(data: bytes, overlay_file: str | os.PathLike | None = None) -> ParsedSR:
    """Parse the bytes of a DICOM file (Part 10 or a bare dataset)."""
    warnings: list[str] = []
    try:
        root, problem = raw.parse_file_tolerant(data)
        if problem:
            warnings.append(problem)
    except raw.ParseError as exc:
        try:
            root = raw.reencode_with_pydicom(data)
        except Exception as exc2:  # noqa: BLE001 - anything pydicom cannot read is "not DICOM"
            raise InvalidInput("file", f"not a DICOM file ({exc}; pydicom: {exc2})") from exc2
        warnings.append(f"read through pydicom: {exc}")
    return _parse_root(root, warnings, overlay_file)


def _parse_root(root: raw.Node, warnings: list[str], overlay_file: str | os.PathLike | None) -> ParsedSR:
    catalog = load_catalog(overlay_file)
    decoder = TextDecoder(root.get(SPECIFIC_CHARACTER_SET))
    result = ParsedSR(warnings=warnings)
    for attr, tag in _HEADER.items():
        setattr(result, attr, decoder.text(root.get(tag)) if attr in ("manufacturer", "model") else ascii_text(root.get(tag)))
    result.patient_id = decoder.text(root.get(_HEADER["patient_id"]))
    result.accession_number = decoder.text(root.get(_HEADER["accession_number"]))
    result.patient_name = decoder.text(root.get(PATIENT_NAME), pn=True)
    if decoder.problem:
        warnings.append(decoder.problem)
    root_item = ContentItem(root, decoder)
    result.document_title = root_item.name
    result.document_template = _template(root, result, catalog)
    is_sr = result.sop_class_uid.startswith(SR_SOP_CLASS_PREFIX)
    if not is_sr and CONTENT_SEQ not in root:
        warnings.append(f"not a structured report (SOP Class UID {result.sop_class_uid or 'missing'}); no content")
        return result
    if not is_sr:
        warnings.append(f"SOP Class UID {result.sop_class_uid or 'missing'} is not an SR class; content read anyway")
    if root_item.value_type_text != "CONTAINER":
        warnings.append(f"root Value Type is {root_item.value_type_text or 'missing'}, expected CONTAINER")
    if not root_item.children:
        warnings.append("SR has no content items")
        return result
    walker = _Walker(catalog, decoder, result)
    walker.walk(root)
    result.measurements = select_and_dedupe(walker.measurements, result.warnings)
    coded_findings.select_findings(result.measurements, result.warnings)
    if decoder.guessed:
        warnings.append(f"text with non-ASCII characters but no Specific Character Set (0008,0005): read as "
                        f"{decoder.guessed}; coded and text findings in it are held for review")
    names = {m.path: m.name_zh or m.name_en for m in walker.measurements}
    result.images = image_references(root, decoder, names)
    return result


def _template(root: raw.Node, result: ParsedSR, catalog: Catalog) -> str:
    tmpl = first_item(root, CONTENT_TEMPLATE_SEQ)
    if tmpl is not None and ascii_text(tmpl.get(TEMPLATE_IDENTIFIER)):
        return ascii_text(tmpl.get(TEMPLATE_IDENTIFIER))
    hit = catalog.documents.get(f"sop:{result.sop_class_uid}")
    if hit is None and result.document_title is not None:
        hit = catalog.documents.get("{}:{}".format(*result.document_title.key))
    return hit[0] if hit else ""


class _Walker:
    """Iterative depth-first walk; modifiers inherit container -> sub-container -> NUM (item wins)."""

    def __init__(self, catalog: Catalog, decoder: TextDecoder, result: ParsedSR) -> None:
        self.catalog = catalog
        self.decoder = decoder
        self.result = result
        self.manufacturer = result.manufacturer
        self.model = result.model
        self.measurements: list[Measurement] = []
        self.references: list[tuple[str, str, list[int]]] = []  # (path of the reference, owner path, target)
        self.paths: set[str] = set()
        self._warned: dict[str, int] = {}
        self._biometry_groups: set[str] = set()  # paths of TID 5008 Biometry Group containers
        self._bases: dict[str, dict[str, Measurement]] = {}  # Biometry Group path -> key -> its first measurement
        self._last_by_key: dict[tuple[str, str | None], str] = {}  # (container, key) -> last path

    def warn(self, kind: str, message: str) -> None:
        n = self._warned.get(kind, 0) + 1
        self._warned[kind] = n
        if n <= MAX_WARNINGS_PER_KIND:
            self.result.warnings.append(message)

    def walk(self, root: raw.Node) -> None:
        # stack entries: (node, path, depth, inherited modifiers)
        stack: list[tuple[raw.Node, str, int, dict[str, Modifier]]] = [(root, "1", 0, {})]
        too_deep = False
        while stack:
            node, path, depth, inherited = stack.pop()
            self.paths.add(path)
            children = node.get(CONTENT_SEQ)
            if not isinstance(children, list):
                children = []
            vtype = ascii_text(node.get(VALUE_TYPE))
            if depth >= MAX_DEPTH:
                if children and not too_deep:
                    too_deep = True
                    self.result.warnings.append(
                        f"content deeper than {MAX_DEPTH} levels is not read (below {path[:40]}…)"
                    )
                continue
            if vtype == "CONTAINER" and depth:
                inherited = self._container_site(node, path, inherited)
            context, rest = self._modifiers(children, path, inherited)
            context, rest = self._acquisition(rest, path, context, vtype == "NUM")
            if vtype == "NUM":
                measured = self._measurement(node, path, context)
                rest = self._properties(rest, path, context, measured)
                # Children of a NUM (e.g. INFERRED FROM values) keep its identity context, not its status.
                context = {k: v for k, v in context.items() if k not in ("derivation", "selection_status")}
            elif vtype in coded_findings.FINDING_TYPES:
                self._finding(node, path, context)
            for index, child in reversed(rest):
                stack.append((child, f"{path}.{index}", depth + 1, context))
        self.result.content_items = len(self.paths) - 1  # every item below the root, modifiers included
        for kind, n in self._warned.items():
            if n > MAX_WARNINGS_PER_KIND:
                self.result.warnings.append(f"{n - MAX_WARNINGS_PER_KIND} more warnings of kind {kind!r} not listed")
        self._check_references()

    def _container_site(self, node: raw.Node, path: str, inherited: dict[str, Modifier]) -> dict[str, Modifier]:
        """A container named by its anatomy (TID 5104/5025/5026 ``$AnatomyGroup``, TID 5016 ``$GroupName``)
        is the vessel or organ of its items.

        The container's concept name then stands as its Finding Site (replacing the section's region);
        a Finding Site item inside the container still wins, as modifiers do.
        """
        name = coded(first_item(node, CONCEPT_NAME_SEQ), self.decoder)
        if name is None:
            return inherited
        if name.key == _BIOMETRY_GROUP:
            self._biometry_groups.add(path)
        known = self.catalog.values.get(name.key)
        if (known is None or known[2] not in _ANATOMY_GROUPS) and name.key not in self.catalog.sites:
            return inherited
        context = dict(inherited)
        context.pop(_CONFLICT + "finding_site", None)
        context["finding_site"] = self._site_modifier(Modifier(role="finding_site", path=path, code=name))
        return context

    def _acquisition(
        self, rest: list[tuple[int, raw.Node]], path: str, context: dict[str, Modifier], under_num: bool
    ) -> tuple[dict[str, Modifier], list[tuple[int, raw.Node]]]:
        """NUMs related by HAS ACQ CONTEXT are context of what they qualify, never measurements (item 5).

        Under a container they qualify every measurement below it (kept as ``acquisition:<name>``
        modifiers); under a NUM they are handled with its other properties.
        """
        if under_num:
            return context, rest
        if not any(child.get(VALUE_TYPE, b"")[:3] == b"NUM" and child.get(RELATIONSHIP_TYPE, b"")[:6] == b"HAS AC"
                   for _index, child in rest):
            return context, rest  # the usual case: nothing to take out (checked on raw bytes: this is hot)
        kept = []
        for index, child in rest:
            if ascii_text(child.get(VALUE_TYPE)) == "NUM" and ascii_text(child.get(RELATIONSHIP_TYPE)) == _ACQ:
                mod = self._modifier("acquisition", child, f"{path}.{index}")
                name = coded(first_item(child, CONCEPT_NAME_SEQ), self.decoder)
                context = dict(context)  # never the dict inherited by the siblings
                context[f"acquisition:{name.meaning if name else index}"] = mod
                self.paths.add(f"{path}.{index}")
            else:
                kept.append((index, child))
        return context, kept

    def _properties(
        self, rest: list[tuple[int, raw.Node]], path: str, context: dict[str, Modifier], measured: Measurement
    ) -> list[tuple[int, raw.Node]]:
        """NUM children of a NUM: a derived value (z-score, percentile, normal range …) becomes its own
        measurement tied to this one (item 4); an acquisition parameter or property (Doppler angle,
        sample volume, frame rate, heart rate at acquisition) is kept as its context (item 5). Only
        INFERRED FROM children (the values it was computed from) are measurements in their own right.
        """
        kept = []
        for index, child in rest:
            if ascii_text(child.get(VALUE_TYPE)) != "NUM":
                kept.append((index, child))
                continue
            child_path = f"{path}.{index}"
            name = coded(first_item(child, CONCEPT_NAME_SEQ), self.decoder)
            derived = self.catalog.derived_by_code.get(name.key) if name is not None else None
            if derived is not None:
                self.paths.add(child_path)
                made = self._measurement(child, child_path, context, base=measured, derived=derived)
                if derived.kind == "z_score":  # also kept where issue 3 put it
                    measured.modifiers["z_score"] = {"value": made.value, "unit": made.raw_unit}
            elif ascii_text(child.get(RELATIONSHIP_TYPE)) != _INFERRED:
                self.paths.add(child_path)
                mod = self._modifier("acquisition", child, child_path)
                entry = {"concept": name.to_dict() if name else None, "value": mod.number, "unit": mod.unit}
                measured.modifiers.setdefault("acquisition", []).append(entry)
            else:
                kept.append((index, child))
        return kept

    def _modifiers(
        self, children: list, path: str, inherited: dict[str, Modifier]
    ) -> tuple[dict[str, Modifier], list[tuple[int, raw.Node]]]:
        """Split children into modifier items (by concept code, any relationship) and the rest."""
        context = inherited
        rest: list[tuple[int, raw.Node]] = []
        role_of = self.catalog.role_of
        local: dict[str, Modifier] = {}  # the modifiers this item states itself
        for index, child in enumerate(children, 1):
            if not isinstance(child, dict):
                continue
            name_item = first_item(child, CONCEPT_NAME_SEQ)
            if name_item is None:
                if REFERENCED_CONTENT_ITEM in child:
                    self.references.append((f"{path}.{index}", path, ContentItem(child, self.decoder).references or []))
                    self.paths.add(f"{path}.{index}")
                else:
                    rest.append((index, child))
                continue
            scheme = ascii_text(name_item.get(CODING_SCHEME))
            code = ascii_text(name_item.get(CODE_VALUE)) or self.decoder.text(name_item.get(LONG_CODE_VALUE))
            meaning_raw = name_item.get(CODE_MEANING)
            meaning = self.decoder.text(meaning_raw) if meaning_raw else ""
            role = role_of(CodedValue(scheme, code, meaning).key if code else None, code, meaning)
            if role is None or ascii_text(child.get(VALUE_TYPE)) == "CONTAINER":
                rest.append((index, child))
                continue
            if context is inherited:
                context = dict(inherited)
            self._set(context, local, self._modifier(role.role, child, f"{path}.{index}"))
            self.paths.add(f"{path}.{index}")
            nested = child.get(CONTENT_SEQ)
            if isinstance(nested, list):  # TID 300: Laterality / Topographical modifier under the Finding Site
                self._nested_modifiers(nested, f"{path}.{index}", context, local)
        return context, rest

    def _set(self, context: dict[str, Modifier], local: dict[str, Modifier], mod: Modifier) -> None:
        """State one modifier of an item. The item's own value replaces the inherited one; the same identity
        modifier stated twice with different values (TID 300: VM 1) makes the item's meaning uncertain."""
        role = mod.role
        before = local.get(role)
        context.pop(_CONFLICT + role, None)  # an inherited conflict is replaced by the item's own value
        if before is not None and role in self.catalog.identity_roles and before.identity != mod.identity:
            reason = f"two different {role.replace('_', ' ')} modifiers ({before.display!r} and {mod.display!r})"
            context[_CONFLICT + role] = Modifier(role=_CONFLICT + role, path=mod.path, text=reason, display=reason)
            self.warn("modifier", f"{mod.path}: {reason}; what is measured is not certain, kept, not reported")
        local[role] = mod
        context[role] = mod

    def _nested_modifiers(self, nested: list, path: str, context: dict[str, Modifier],
                          local: dict[str, Modifier]) -> None:
        for index, grandchild in enumerate(nested, 1):
            name = coded(first_item(grandchild, CONCEPT_NAME_SEQ), self.decoder) if isinstance(grandchild, dict) else None
            role = self.catalog.role_of(name.key, name.code, name.meaning) if name is not None else None
            if role is not None:
                self._set(context, local, self._modifier(role.role, grandchild, f"{path}.{index}"))

    def _modifier(self, role: str, node: raw.Node, path: str) -> Modifier:
        item = ContentItem(node, self.decoder)
        vtype = item.value_type_text
        mod = Modifier(role=role, path=path)
        if vtype == "CODE" or CONCEPT_CODE_SEQ in node:
            mod.code = item.code_value
            if mod.code is not None:
                known = self.catalog.values.get(mod.code.key)
                mod.display = known[0] if known else mod.code.meaning or mod.code.code
                if role == "finding_site":
                    mod = self._site_modifier(mod)
        elif vtype == "NUM":
            num = item.numeric
            mod.number = num.number
            mod.unit = num.unit.code if num.unit else None
            mod.display = f"{num.number:g}" if num.number is not None else num.raw or ""  # "1.0" shows as "1"
        if mod.code is None and mod.number is None:
            mod.text = item.text_value
            mod.display = mod.text or ""
            if mod.text is None and mod.unit is None:
                self.warn("modifier", f"{path}: {role} modifier has no value")
        return mod

    def _site_modifier(self, mod: Modifier) -> Modifier:
        """A site that carries its side (sites.csv) becomes the unlateralised site + an implied Laterality."""
        assert mod.code is not None
        if not mod.display:
            known = self.catalog.values.get(mod.code.key)
            mod.display = known[0] if known else mod.code.meaning or mod.code.code
        site = self.catalog.sites.get(mod.code.key)
        if site is None:
            return mod
        base = CodedValue(*site.site)
        side = CodedValue(site.laterality[0], site.laterality[1], "")
        known, side_name = self.catalog.values.get(base.key), self.catalog.values.get(side.key)
        implied = Modifier(role="laterality", path=mod.path, code=side, display=side_name[0] if side_name else side.code)
        return Modifier(role=mod.role, path=mod.path, code=base, display=known[0] if known else base.meaning,
                        sent=mod.code, implied=implied)

    def _side(self, path: str, context: dict[str, Modifier]) -> tuple[dict[str, Modifier], str | None]:
        """Apply the side a site carries; a contradicting explicit Laterality holds the value (item 8)."""
        site = context.get("finding_site")
        implied = site.implied if site is not None else None
        if implied is None:
            return context, None
        stated = context.get("laterality")
        if stated is None:
            return {**context, "laterality": implied}, None
        if stated.code_key == implied.code_key:
            return context, None
        sent = site.sent.meaning if site is not None and site.sent is not None else ""
        reason = f"finding site {sent!r} is {implied.display} but Laterality says {stated.display}"
        self.warn("laterality", f"{path}: {reason}; kept, not reported")
        return context, reason

    def _measurement(
        self, node: raw.Node, path: str, context: dict[str, Modifier], base: Measurement | None = None,
        derived: Derived | None = None,
    ) -> Measurement:
        """One NUM -> one Measurement; ``base``/``derived`` when it is a derived value of ``base`` (item 4)."""
        item = ContentItem(node, self.decoder)
        concept = item.name
        if concept is None:
            self.warn("concept", f"{path}: NUM has no concept name")
            concept = _EMPTY_CONCEPT
        num = item.numeric
        if num.problem:
            kept = "; kept, not reported" if num.uncertain else ""
            self.warn("value", f"{path}: {num.problem}{kept} ({concept.meaning or concept.code})")
        number = num.number
        if num.qualifier is not None:  # CID 42 (Not a number, Measurement failure …): no usable number
            self.warn("value", f"{path}: value qualified as {num.qualifier.meaning or num.qualifier.code!r}; "
                               f"kept, never reported ({concept.meaning or concept.code})")
            number = None
        raw_unit = num.unit.code if num.unit is not None else None
        unit_ok = num.unit is not None and num.unit.scheme.upper() in _UNIT_SCHEMES
        if num.unit is not None and not unit_ok:
            self.warn("unit", f"{path}: unit {raw_unit!r} has coding scheme {num.unit.scheme!r}, not UCUM; not converted")
        catalog = self.catalog
        context, hold = self._side(path, context)
        hold = hold or _conflict(context)
        if num.uncertain and not hold:
            hold = num.problem
        parent = path.rpartition(".")[0]
        if derived is None:
            derived, base = self._derived_sibling(concept, raw_unit if unit_ok else None, parent)
        value: float | None = None
        if derived is not None:
            key, name_en, name_zh, unit = self._derived_key(concept, context, derived, base)
        else:
            rule = catalog.match(
                concept.key, concept.code, concept.meaning, context, raw_unit if unit_ok else None,
                self.manufacturer, self.model,
            )
            if rule is not None:
                info = catalog.keys[rule.key]
                key, name_en, name_zh, unit = rule.key, info.name_en, info.name_zh, info.unit
            else:
                key, name_en, name_zh = None, concept.meaning, ""
                unit = raw_unit if unit_ok and lookup(raw_unit) else None
        if number is not None and unit_ok:
            if derived is not None and derived.kind == "percentile" and (raw_unit or "").startswith("{"):
                value, problem = number, None  # "{percentile}": the number is the rank itself
            else:
                value, problem = convert(number, raw_unit, unit) if unit else (None, f"unit {raw_unit!r} is not a known UCUM unit")
            if problem:
                self.warn("unit", f"{path}: {problem}; raw value kept ({concept.meaning or concept.code})")
            if derived is not None and derived.kind == "percentile" and value is not None and not 0 <= value <= 100:
                hold = f"percentile {value:g} is outside 0-100"
                self.warn("value", f"{path}: {hold}; kept, not reported")
            dimension = lookup(unit).dimension if unit and lookup(unit) else ""  # type: ignore[union-attr]
            if value is not None and value < 0 and not hold and key is not None and dimension in _NON_NEGATIVE:
                hold = f"a {dimension} cannot be negative ({num.raw} {raw_unit})"
                self.warn("value", f"{path}: {hold}; kept, not reported")
            limits = catalog.limits.get(key or "")
            if limits is not None and value is not None and not hold and not limits[0] <= value <= limits[1]:
                hold = (f"{value:g} {unit} (sent as {num.raw} {raw_unit}) is outside what {key} can be "
                        f"({limits[0]:g}-{limits[1]:g} {unit}); a unit error is likely")
                self.warn("value", f"{path}: {hold}; kept, not reported")
        modifiers: dict[str, Any] = {role: mod.to_dict() for role, mod in context.items()}
        if num.qualifier is not None:
            modifiers["qualifier"] = num.qualifier.to_dict()
        ranked = base if base is not None else None
        measured = Measurement(
            key=key, name_en=name_en, name_zh=name_zh, value=value, unit=unit, raw_value=num.raw,
            raw_unit=raw_unit, concept=concept, context=_context(context, catalog), modifiers=modifiers, path=path,
            hold=hold, derived_from=None if derived is None else base.path if base is not None
            else self._last_by_key.get((parent, _base_key(key, derived)), ""),
            group=_group(key, concept, context, catalog),
            selection_rank=ranked.selection_rank if ranked is not None else _selection_rank(context),
            is_mean=ranked.is_mean if ranked is not None else _is_mean(context),
        )
        self.measurements.append(measured)
        if derived is None:
            self._last_by_key[(parent, key)] = path
            if key is not None and parent in self._biometry_groups:
                self._bases.setdefault(parent, {}).setdefault(key, measured)
        return measured

    def _derived_sibling(
        self, concept: CodedValue, unit: str | None, parent: str
    ) -> tuple[Derived | None, Measurement | None]:
        """A NUM that is a derived value of a sibling: in ``{z-score}`` (any container), or a z-score,
        percentile or GA next to the biometry of a TID 5008 Biometry Group."""
        catalog = self.catalog
        derived = catalog.derived_by_code.get(concept.key)
        if derived is None:
            by_unit = catalog.derived_by_unit.get(unit) if unit is not None else None
            return (by_unit, None) if by_unit is not None else (None, None)
        bases = self._bases.get(parent, {})
        # One biometry type per group (PS3.17 I.6); a group mixing several cannot say whose GA or rank it is.
        base = next(iter(bases.values())) if len(bases) == 1 else None
        if base is None and derived.kind == "ga":
            return None, None  # a GA of its own (fetus summary, or not attributable): the GA key
        return derived, base

    def _derived_key(
        self, concept: CodedValue, context: dict[str, Modifier], derived: Derived, base: Measurement | None
    ) -> tuple[str | None, str, str, str | None]:
        """Key, names and unit of a derived value: ``<key of its measurement><suffix>`` (IVSd_Z, BPD_GA)."""
        catalog = self.catalog
        if base is not None:
            base_key, base_en, base_zh, base_unit = base.key, base.name_en, base.name_zh, base.unit
        else:  # same concept as the measurement, e.g. LVIDd in {z-score}: its key ignoring the unit
            rule = catalog.match(concept.key, concept.code, concept.meaning, context, None, self.manufacturer,
                                 self.model)
            info = catalog.keys.get(rule.key) if rule is not None else None
            base_key = rule.key if rule is not None else None
            base_en, base_zh = (info.name_en, info.name_zh) if info else (concept.meaning, "")
            base_unit = info.unit if info else None
        unit = base_unit if derived.unit == "=" else derived.unit
        if base_key is None:
            return None, f"{base_en} {derived.name_en}".strip(), "", unit
        key = base_key + derived.suffix
        info = catalog.keys.get(key)
        if info is not None:
            return key, info.name_en, info.name_zh, info.unit
        return key, f"{base_en} {derived.name_en}", f"{base_zh}{derived.name_zh}", unit

    def _finding(self, node: raw.Node, path: str, context: dict[str, Modifier]) -> None:
        """A CODE/TEXT item: a finding (mapped or kept unmapped) or context to leave alone (sr/coded_findings.py)."""
        catalog = self.catalog
        context, hold = self._side(path, context)  # a lateralised site gives the side; a contradiction holds
        found = coded_findings.finding(
            node, path, context, catalog, self.decoder, self.manufacturer, self.model, self.warn,
            lambda ctx: _context(ctx, catalog), lambda key, concept, ctx: _group(key, concept, ctx, catalog),
            lambda ctx: _SELECTION_RANK.get(ctx["selection_status"].code_key, 0) if "selection_status" in ctx else 0,
        )
        if found is not None:
            found.hold = hold or _conflict(context) or self._undeclared_text(found)
            self.measurements.append(found)

    def _undeclared_text(self, found: Measurement) -> str | None:
        """A finding whose words came from an undeclared character set is not certain to read right."""
        if not self.decoder.undeclared:
            return None
        if found.code_value is not None and found.value_zh != found.code_value.meaning:
            return None  # a known code: the report writes the catalog's words, not the meaning as sent
        words = found.text_value or (found.code_value.meaning if found.code_value is not None else "")
        if words.isascii():
            return None
        return "non-ASCII text but no Specific Character Set (0008,0005): the characters may be read wrongly"

    def _check_references(self) -> None:
        """By-reference relationships are resolved once: dangling targets and loops become warnings."""
        by_path = {ref: target for ref, _owner, target in self.references}
        owners = {m.path: m for m in self.measurements}
        for ref_path, owner, target in self.references:
            target_path = ".".join(map(str, target))
            if not target or target_path not in self.paths:
                self.warn("reference", f"{ref_path}: by-reference target {target_path or '(empty)'} does not exist")
                continue
            seen = {ref_path}
            current = target_path
            while current in by_path and current not in seen:
                seen.add(current)
                current = ".".join(map(str, by_path[current]))
            if current in seen or owner == target_path or owner.startswith(target_path + "."):
                self.warn("reference", f"{ref_path}: by-reference relationship loops back to {target_path}; not followed")
            if owner in owners:
                owners[owner].modifiers.setdefault("references", []).append(target_path)


_MEAN = ("SCT", "373098007")
#: Selection Status values (CID 224 and CID 12301 "Measurement Selection Reason", TID 5301 row 2):
#: User chosen > Mean value chosen = Maximum = Minimum > Most recent.
_SELECTION_RANK = {
    ("DCM", "121410"): 3, ("DCM", "121412"): 2, ("SCT", "56851009"): 2, ("SCT", "255605001"): 2,
    ("DCM", "121411"): 1,
}
_ACQ = "HAS ACQ CONTEXT"
_INFERRED = "INFERRED FROM"
_BIOMETRY_GROUP = ("DCM", "125005")
#: values.csv kinds a container may be named by (TID 5104/5025/5026 $AnatomyGroup, TID 5016 $GroupName).
_ANATOMY_GROUPS = ("vessel", "organ")


_CONFLICT = "conflict:"
#: Dimensions (units.csv) whose quantities are magnitudes: a negative dimension, area, volume, mass or
#: duration is a sign error, never reported (velocities and strain may be negative: their sign is direction).
_NON_NEGATIVE = frozenset({"length", "area", "volume", "mass", "time", "mass/area", "volume/area"})


def _conflict(context: dict[str, Modifier]) -> str | None:
    """Why the item's context is uncertain (a modifier stated twice with different values), or None."""
    for role, mod in context.items():
        if role.startswith(_CONFLICT):
            return mod.text
    return None


def _base_key(key: str | None, derived: Derived) -> str | None:
    """The measurement's key of a derived key (LVIDd_Z -> LVIDd)."""
    return key[: -len(derived.suffix)] if key and derived.suffix and key.endswith(derived.suffix) else None


def _selection_rank(context: dict[str, Modifier]) -> int:
    status = context.get("selection_status")
    return _SELECTION_RANK.get(status.code_key, 0) if status is not None and status.code_key else 0


def _is_mean(context: dict[str, Modifier]) -> bool:
    derivation = context.get("derivation")
    return derivation is not None and derivation.code_key == _MEAN


def _context(context: dict[str, Modifier], catalog: Catalog) -> dict[str, str]:
    out: dict[str, str] = {}
    for role, mod in context.items():
        out[role] = mod.display
        if role == "finding_site" and mod.code is not None:
            known = catalog.values.get(mod.code.key)
            if known and known[2] == "vessel":
                out["vessel"] = known[0]
    return out


def _group(key: str | None, concept: CodedValue, context: dict[str, Modifier], catalog: Catalog) -> tuple:
    roles = catalog.identity_roles
    ident = tuple(sorted((r, m.identity) for r, m in context.items() if r in roles))
    return (key or concept.key, ident)

