"""Which findings template(s) a document gets: by its title, template id or SOP class (issue 8 item 11).

``templates/kinds.csv`` maps a document to template names (``echo_adult``, ``echo_pediatric``, ``ob``,
``gyn``, ``vascular``, ``thyroid``, ``breast``); each name is the built-in file
``templates/<name>_findings_zh.txt`` unless ``[report.text.templates]`` names a hospital's own file
(``[report.text] template`` is the adult echo one, as before). A document no template is known for,
and reported values no template line places, are warnings: the values then still reach the text as a
plain list, never a silent gap.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from ris_ai_module.report.display import ReportItem
from ris_ai_module.report.findings import load_template, render_report
from ris_ai_module.report.section import ReportTextConfig
from ris_ai_module.sr.items import normalise_code

DEFAULT_TEMPLATES = ("echo_adult",)
#: Unplaced keys listed in a warning before the rest are counted.
MAX_LISTED = 12


@dataclass(frozen=True)
class DocumentInfo:
    """What chooses the template: ContentTemplateSequence id, root concept (scheme, code), SOP class."""

    template: str = ""
    title: tuple[str, str] | None = None
    sop_class_uid: str = ""

    @classmethod
    def of(cls, parsed: object) -> DocumentInfo:
        title = getattr(parsed, "document_title", None)
        return cls(str(getattr(parsed, "document_template", "") or ""), title.key if title is not None else None,
                   str(getattr(parsed, "sop_class_uid", "") or ""))

    def describe(self) -> str:
        title = "{}:{}".format(*self.title) if self.title else "none"
        return f"title {title}, template {self.template or 'none'}, SOP class {self.sop_class_uid or 'none'}"


@lru_cache(maxsize=1)
def _kinds() -> dict[str, tuple[str, ...]]:
    text = resources.files("ris_ai_module.report").joinpath("templates/kinds.csv").read_text(encoding="utf-8")
    out: dict[str, tuple[str, ...]] = {}
    for row in csv.DictReader(text.splitlines()):
        match = row["match"].strip()
        if match.startswith("title:"):
            scheme, _, code = match[len("title:"):].partition(":")
            match = "title:{}:{}".format(*normalise_code(scheme, code))
        out[match] = tuple(t.strip() for t in row["templates"].split("|") if t.strip())
    return out


def template_names(document: DocumentInfo | None) -> tuple[str, ...] | None:
    """The template names for a document (title first, then template id, then SOP class), or None."""
    if document is None:
        return DEFAULT_TEMPLATES
    kinds = _kinds()
    for match in (f"title:{document.title[0]}:{document.title[1]}" if document.title else "",
                  f"template:{document.template}" if document.template else "",
                  f"sop:{document.sop_class_uid}" if document.sop_class_uid else ""):
        if match and match in kinds:
            return kinds[match]
    return None


def template_text(cfg: ReportTextConfig, name: str) -> str:
    """The text of one named template: the hospital's file if configured, else the built-in one."""
    path = cfg.templates.get(name, "") or (cfg.template if name == "echo_adult" else "")
    key = f"report.text.templates.{name}" if name in cfg.templates else "report.text.template"
    return load_template(path, key, builtin=f"{name}_findings_zh.txt")


def _plain_list(items: Iterable[ReportItem]) -> str:
    parts = [f"{item.name_zh or item.name_en}{item.display}" for item in items]  # the name carries the variant
    return "，".join(parts) + "。" if parts else ""


def findings_text(cfg: ReportTextConfig, document: DocumentInfo | None,
                  items: Iterable[ReportItem]) -> tuple[str, list[str]]:
    """The findings paragraph of a document and the warnings for the report state's detail."""
    items = list(items)
    names = template_names(document)
    if not items:
        return "", []
    if names is None:
        desc = document.describe() if document else "no document information"
        return "AI测量：" + _plain_list(items), [
            f"no findings template for this document ({desc}); values written as a plain list"]
    paragraphs, placed = [], set()
    for name in names:
        text, used = render_report(template_text(cfg, name), items)
        if text:
            paragraphs.append(text)
        placed |= used
    rest = [i for i in items if i.key not in placed]
    warnings = []
    if rest:
        more = f" and {len(rest) - MAX_LISTED} more" if len(rest) > MAX_LISTED else ""
        keys = ", ".join(i.key for i in rest[:MAX_LISTED]) + more
        listed = cfg.unplaced == "list"
        warnings.append(f"findings template {'/'.join(names)} has no line for {keys}"
                        + ("; written as a plain list" if listed else "; not in the text (report.text.unplaced)"))
        if listed:
            paragraphs.append("其他：" + _plain_list(rest))
    return "\n".join(paragraphs), warnings

