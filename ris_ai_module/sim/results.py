"""What the simulated AI produces for one exam: which kind of exam it is, its values, the SR and the SC pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from ris_ai_module.sim import values as v
from ris_ai_module.sim.sc_image import PanelRow, build_sc
from ris_ai_module.sim.sr_documents import ExamIdentity, build_sr

#: Words in the exam items / description that tell the kind of exam (Chinese RIS wording first).
KIND_WORDS = (
    (v.OB, ("产科", "胎儿", "孕", "obstetric", "fetal", "ob ")),
    (v.CAROTID, ("颈动脉", "颈部血管", "血管", "carotid", "vascular")),
    (v.THYROID, ("甲状腺", "thyroid")),
    (v.ECHO, ("心脏", "心动", "超声心动", "echo", "cardiac", "heart")),
)

TITLES = {
    v.ECHO: ("超声心动图测量", "Adult echo"), v.OB: ("产科超声测量", "OB biometry"),
    v.CAROTID: ("颈动脉超声测量", "Carotid Doppler"), v.THYROID: ("甲状腺超声测量", "Thyroid"),
}


def kind_of(exam_items: str, description: str = "", default: str = v.ECHO) -> str:
    """The exam kind from its RIS wording; ``default`` when nothing matches."""
    words = f"{exam_items} {description}".lower()
    for kind, hints in KIND_WORDS:
        if any(h in words for h in hints):
            return kind
    return default


@dataclass
class ExamResult:
    kind: str
    values: object
    sr: Dataset
    images: list[Dataset] = field(default_factory=list)

    @property
    def objects(self) -> list[Dataset]:
        """In sending order: images first, then the SR (as AI hosts do)."""
        return [*self.images, self.sr]


def make_values(kind: str, seed: int | str, study_uid: str, fetuses: int = 1) -> object:
    r = v.rng_for(seed, study_uid)
    if kind == v.ECHO:
        return v.echo_values(r)
    if kind == v.OB:
        return v.ob_values(r, fetuses)
    if kind == v.CAROTID:
        return v.carotid_values(r)
    if kind == v.THYROID:
        return v.thyroid_values(r)
    raise ValueError(f"unknown exam kind {kind!r} (one of {', '.join(v.KINDS)})")


def _n(x: float, decimals: int = 1) -> str:
    return f"{x:.{decimals}f}"


def panel_rows(kind: str, values: object) -> list[list[PanelRow]]:
    """The measurement panel, split into pages of at most 20 rows."""
    rows: list[PanelRow] = []
    if isinstance(values, v.EchoValues):
        e = values
        rows = [
            PanelRow("左室舒张末期内径", "LVIDd", _n(e.lvidd * 10), "mm"),
            PanelRow("左室收缩末期内径", "LVIDs", _n(e.lvids * 10), "mm"),
            PanelRow("室间隔厚度", "IVSd", _n(e.ivsd * 10), "mm"),
            PanelRow("左室后壁厚度", "LVPWd", _n(e.lvpwd * 10), "mm"),
            PanelRow("左房前后径", "LAD", _n(e.lad * 10), "mm"),
            PanelRow("主动脉根部内径", "AoR", _n(e.aor * 10), "mm"),
            PanelRow("射血分数(双平面)", "LVEF biplane", _n(e.ef_biplane), "%"),
            PanelRow("射血分数(Teichholz)", "LVEF Teichholz", _n(e.ef_teich), "%"),
            PanelRow("缩短分数", "FS", _n(e.fs), "%"),
            PanelRow("二尖瓣E峰", "MV E", _n(e.mv_e, 0), "cm/s"),
            PanelRow("二尖瓣A峰", "MV A", _n(e.mv_a, 0), "cm/s"),
            PanelRow("E/A", "E/A", _n(e.mv_ea, 2), ""),
            PanelRow("间隔e′", "e' septal", _n(e.e_sept), "cm/s"),
            PanelRow("侧壁e′", "e' lateral", _n(e.e_lat), "cm/s"),
            PanelRow("平均E/e′", "E/e' average", _n(e.ee_avg), ""),
            PanelRow("主动脉瓣峰值流速", "AV Vmax", _n(e.av_vmax, 0), "cm/s"),
            PanelRow("肺动脉瓣峰值流速", "PV Vmax", _n(e.pv_vmax, 0), "cm/s"),
            PanelRow("三尖瓣反流峰值流速", "TR Vmax", _n(e.tr_vmax, 0), "cm/s"),
            PanelRow("肺动脉收缩压(估测)", "RVSP", _n(e.rvsp), "mmHg"),
            PanelRow("三尖瓣环收缩期位移", "TAPSE", _n(e.tapse * 10), "mm"),
            PanelRow("三尖瓣环s′", "RV s'", _n(e.tv_s_prime), "cm/s"),
        ]
    elif kind == v.OB:
        for f in values:  # type: ignore[attr-defined]
            tag = f"胎儿{f.fetus_id} " if len(values) > 1 else ""  # type: ignore[arg-type]
            tag_en = f"Fetus {f.fetus_id} " if len(values) > 1 else ""  # type: ignore[arg-type]
            rows += [
                PanelRow(f"{tag}双顶径", f"{tag_en}BPD", _n(f.bpd), "mm"),
                PanelRow(f"{tag}头围", f"{tag_en}HC", _n(f.hc), "mm"),
                PanelRow(f"{tag}腹围", f"{tag_en}AC", _n(f.ac), "mm"),
                PanelRow(f"{tag}股骨长", f"{tag_en}FL", _n(f.fl), "mm"),
                PanelRow(f"{tag}估计胎儿体重", f"{tag_en}EFW", _n(f.efw, 0), "g"),
                PanelRow(f"{tag}胎心率", f"{tag_en}FHR", str(f.fhr), "bpm"),
                PanelRow(f"{tag}脐动脉S/D", f"{tag_en}UA S/D", _n(f.ua_sd, 2), ""),
            ]
    elif kind == v.CAROTID:
        for s in values:  # type: ignore[attr-defined]
            zh, en = ("右", "R") if s.side == "R" else ("左", "L")
            rows += [
                PanelRow(f"{zh}颈总动脉PSV", f"{en} CCA PSV", _n(s.cca.psv, 0), "cm/s"),
                PanelRow(f"{zh}颈总动脉EDV", f"{en} CCA EDV", _n(s.cca.edv, 0), "cm/s"),
                PanelRow(f"{zh}颈内动脉PSV", f"{en} ICA PSV", _n(s.ica.psv, 0), "cm/s"),
                PanelRow(f"{zh}颈内动脉EDV", f"{en} ICA EDV", _n(s.ica.edv, 0), "cm/s"),
                PanelRow(f"{zh}颈内/颈总", f"{en} ICA/CCA", _n(s.ica_cca, 2), ""),
            ]
    elif isinstance(values, v.ThyroidValues):
        for side, (length, width, depth) in values.lobes.items():
            zh = "右" if side == "R" else "左"
            rows.append(PanelRow(f"甲状腺{zh}叶", f"{side} lobe", f"{length}×{width}×{depth}", "mm"))
        rows.append(PanelRow("峡部厚度", "Isthmus", _n(values.isthmus), "mm"))
        for n in values.nodules:
            zh = "右" if n.side == "R" else "左"
            rows.append(PanelRow(f"结节{n.lesion_id}（{zh}叶）C-TIRADS {n.category}",
                                 f"Nodule {n.lesion_id} ({n.side}) C-TIRADS {n.category}",
                                 f"{n.length}×{n.width}×{n.depth}", "mm"))
    return [rows[i:i + 20] for i in range(0, max(len(rows), 1), 20)]


def produce(exam: ExamIdentity, kind: str, seed: int | str, ae_title: str, fetuses: int = 1,
            when: datetime | None = None) -> ExamResult:
    """Values, SC pages and SR of one exam (deterministic values for a given seed and StudyInstanceUID)."""
    when = when or datetime.now()
    values = make_values(kind, seed, exam.study_uid, fetuses)
    sr = build_sr(exam, kind, values, ae_title, when)
    title_zh, title_en = TITLES[kind]
    pages = panel_rows(kind, values)
    series = generate_uid(prefix=None)
    images = [build_sc(exam, title_zh, title_en, rows, series, i, len(pages), when) for i, rows in enumerate(pages, 1)]
    return ExamResult(kind, values, sr, images)
