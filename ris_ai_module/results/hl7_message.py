"""The HL7 v2.5 ORU^R01 of one exam's result, and the reading of the ACK — built and parsed with hl7apy.

Segments: MSH; PID (PID-3 patient ID, PID-5 the name as configured, PID-7 birth date, PID-8 sex); PV1 with the
campus as the assigned location's facility when the RIS names one; OBR (OBR-3 filler order number and OBR-18
the accession number, OBR-20 the StudyInstanceUID, OBR-25 the result status); one OBX per current value:

* OBX-2 ``NM`` for a number (``CWE`` for a coded finding, ``ST`` for a text one);
* OBX-3 the LOINC/SNOMED code where the SR or the catalog has one (``18043-0^LV ejection fraction^LN``), the
  module's key and Chinese name as the alternate identifier (``^LVEF^左室射血分数^99RAI``); without a code the key
  is the identifier;
* OBX-4 the report key when it carries context (``CCA_PSV_L``); OBX-5 the value in the UCUM unit of OBX-6;
* OBX-7 / OBX-8 the reference range and the flag (L, H, N) where ``[hl7.reference_ranges]`` has one;
* OBX-11 ``P`` while the report is a draft, ``C`` for a corrected set, ``F`` once signed;
* OBX-18 the source device.

The findings text is the last OBX, type ``FT`` (``18782-3^Radiology Study observation^LN``), one repetition of
OBX-5 per line: hl7apy escapes the delimiters of each line, and a repetition per line keeps the line breaks
without a formatting escape the library would re-escape.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from hl7apy.core import Message
from hl7apy.parser import parse_message
from hl7apy.v2_5 import FT, ST

from ris_ai_module.results.hl7_section import Hl7Config, parse_range
from ris_ai_module.results.resultset import CORRECTED, SIGNED, ResultItem, ResultSet

VERSION = "2.5"
#: MSH-18 (HL7 table 0211) per configured charset.
CHARSETS = {"utf-8": "UNICODE UTF-8", "gb18030": "GB 18030-2000"}
#: OBX-11 / OBR-25 per result status.
RESULT_STATUS = {SIGNED: "F", CORRECTED: "C"}
FINDINGS_CODE = ("18782-3", "Radiology Study observation", "LN")
LOCAL_SYSTEM = "99RAI"
_SEX = {"M": "M", "F": "F", "男": "M", "女": "F", "O": "O", "U": "U", "MALE": "M", "FEMALE": "F"}


def result_status(rs: ResultSet) -> str:
    return RESULT_STATUS.get(rs.status, "P")


def _st(value: object) -> str:
    """Text for any leaf of the message, its delimiters escaped by hl7apy (escaping twice changes nothing)."""
    return ST(str(value)).to_er7()


def _ts(value: datetime | date | None) -> str:
    if value is None:
        return ""
    return value.strftime("%Y%m%d%H%M%S") if isinstance(value, datetime) else value.strftime("%Y%m%d")


def number(value: float) -> str:
    """An NM value: no exponent, no trailing ``.0`` noise beyond what the value has (47.0 -> 47, 0.85 -> 0.85)."""
    text = format(Decimal(repr(float(value))), "f")  # the float's shortest repr, never an exponent
    return text.rstrip("0").rstrip(".") if "." in text else text


def flag(item: ResultItem, ranges: dict[str, str]) -> tuple[str, str]:
    """(OBX-7 range, OBX-8 flag) from ``[hl7.reference_ranges]`` by report key, then base key."""
    text = ranges.get(item.key) or ranges.get(item.base_key)
    if text is None or item.value is None:
        return "", ""
    bounds = parse_range(str(text))
    if bounds is None:
        return "", ""
    low, high = bounds
    if low is not None and item.value < low:
        return str(text), "L"
    if high is not None and item.value > high:
        return str(text), "H"
    return str(text), "N"


def build_oru(rs: ResultSet, cfg: Hl7Config, control_id: str, now: datetime) -> Message:
    """The ORU^R01 message of ``rs`` (hl7apy Message; ``to_er7()`` gives its text)."""
    status = result_status(rs)
    m = Message("ORU_R01", version=VERSION)
    msh = m.msh
    msh.msh_3.hd_1 = _st(cfg.sending_application)
    if cfg.sending_facility:
        msh.msh_4.hd_1 = _st(cfg.sending_facility)
    if cfg.receiving_application:
        msh.msh_5.hd_1 = _st(cfg.receiving_application)
    if cfg.receiving_facility:
        msh.msh_6.hd_1 = _st(cfg.receiving_facility)
    msh.msh_7 = _ts(now)
    msh.msh_9 = "ORU^R01^ORU_R01"
    msh.msh_10 = _st(control_id)
    msh.msh_11 = cfg.processing_id
    msh.msh_15 = "AL"
    msh.msh_16 = "NE"
    msh.msh_18 = CHARSETS[cfg.charset]

    result = m.add_group("ORU_R01_PATIENT_RESULT")
    patient = result.add_group("ORU_R01_PATIENT")
    pid = patient.pid
    e = rs.exam
    pid.pid_1 = "1"
    pid.pid_3.cx_1 = _st(e.patient_id)
    if cfg.patient_id_authority:
        pid.pid_3.cx_4.hd_1 = _st(cfg.patient_id_authority)
    pid.pid_3.cx_5 = "PI"
    pid.pid_5.xpn_1.fn_1 = _st(e.patient_name)
    if cfg.patient_name == "chinese_pinyin" and e.patient_name:
        latin = pid.add_field("PID_5")
        latin.xpn_1.fn_1 = _st(pinyin_of(e.patient_name))
        latin.xpn_7 = "L"
    if e.birth_date:
        pid.pid_7 = _ts(e.birth_date)
    pid.pid_8 = _SEX.get(e.sex.strip().upper(), "U") if e.sex else "U"
    if e.campus:
        visit = patient.add_group("ORU_R01_VISIT")
        visit.pv1.pv1_1 = "1"
        visit.pv1.pv1_2 = "U"
        visit.pv1.pv1_3.pl_4.hd_1 = _st(e.campus)

    order = result.add_group("ORU_R01_ORDER_OBSERVATION")
    obr = order.obr
    obr.obr_1 = "1"
    obr.obr_3.ei_1 = _st(e.accession_no or e.exam_key)
    obr.obr_4.ce_1 = _st(e.modality or "US")
    obr.obr_4.ce_2 = _st(e.exam_desc or "Ultrasound")
    if e.exam_date:
        obr.obr_7 = _ts(e.exam_date)
    obr.obr_18 = _st(e.accession_no)
    obr.obr_20 = _st(e.study_uid)
    obr.obr_22 = _ts(rs.updated_at or now)
    obr.obr_25 = status

    ranges = dict(cfg.reference_ranges)
    n = 0
    for item in rs.items:
        n += 1
        _obx(order.add_group("ORU_R01_OBSERVATION").obx, n, item, status, ranges)
    if rs.findings_text.strip():
        n += 1
        obx = order.add_group("ORU_R01_OBSERVATION").obx
        obx.obx_1 = str(n)
        obx.obx_2 = "FT"
        obx.obx_3.ce_1, obx.obx_3.ce_2, obx.obx_3.ce_3 = (_st(x) for x in FINDINGS_CODE)
        lines = rs.findings_text.splitlines() or [""]
        obx.obx_5 = FT(lines[0]).to_er7()
        for line in lines[1:]:
            obx.add_field("OBX_5").value = FT(line).to_er7()
        obx.obx_11 = status
    return m


def _obx(obx: object, n: int, item: ResultItem, status: str, ranges: dict[str, str]) -> None:
    o: object = obx
    o.obx_1 = str(n)  # type: ignore[attr-defined]
    code = o.obx_3  # type: ignore[attr-defined]
    if item.code is not None:
        code.ce_1, code.ce_2, code.ce_3 = _st(item.code.code), _st(item.code.meaning or item.name_en), _st(item.code.scheme)
        code.ce_4, code.ce_5, code.ce_6 = _st(item.base_key), _st(item.name_zh), _st(LOCAL_SYSTEM)
    else:
        code.ce_1, code.ce_2, code.ce_3 = _st(item.base_key), _st(item.name_zh), _st(LOCAL_SYSTEM)
    if item.key != item.base_key:
        o.obx_4 = _st(item.key)  # type: ignore[attr-defined]
    if item.value_type == "NUM" and item.value is not None:
        o.obx_2 = "NM"  # type: ignore[attr-defined]
        o.obx_5 = number(item.value)  # type: ignore[attr-defined]
        unit = o.obx_6  # type: ignore[attr-defined]
        unit.ce_1, unit.ce_2, unit.ce_3 = _st(item.unit), _st(item.unit), _st("UCUM")
        rng, abnormal = flag(item, ranges)
        if rng:
            o.obx_7 = _st(rng)  # type: ignore[attr-defined]
            o.obx_8 = abnormal  # type: ignore[attr-defined]
    elif item.value_code is not None:
        o.obx_2 = "CWE"  # type: ignore[attr-defined]
        c = item.value_code
        o.obx_5 = "^".join(ST(x).to_er7() for x in (c.code, item.display or c.meaning, c.scheme))  # type: ignore[attr-defined]
    else:
        o.obx_2 = "ST"  # type: ignore[attr-defined]
        o.obx_5 = ST(item.display).to_er7()  # type: ignore[attr-defined]
    o.obx_11 = status  # type: ignore[attr-defined]
    if item.device:
        o.obx_18.ei_1 = _st(item.device)  # type: ignore[attr-defined]


def pinyin_of(name: str) -> str:
    """``张三`` -> ``ZHANG SAN`` (the first reading of each character; Latin letters kept)."""
    from pypinyin import Style, lazy_pinyin

    return " ".join(lazy_pinyin(name, style=Style.NORMAL, errors="default")).upper()


def encode(message: Message, charset: str) -> bytes:
    """The message's ER7 text in the configured charset (segments ended by CR)."""
    return message.to_er7().encode(charset)


@dataclass(frozen=True)
class Ack:
    """MSA-1 (AA/AE/AR, or CA/CE/CR), MSA-2 the control ID acknowledged, MSA-3 / ERR the text."""

    code: str
    control_id: str
    text: str

    @property
    def accepted(self) -> bool:
        return self.code in ("AA", "CA")


def parse_ack(text: str) -> Ack:
    """Read an ACK (ValueError when it is not one: no MSA segment)."""
    from hl7apy.exceptions import HL7apyException

    try:
        msg = parse_message(text.replace("\n", "\r").strip("\r"), find_groups=False)
    except HL7apyException as exc:
        raise ValueError(f"not an HL7 message: {exc}") from exc
    msa = msg.msa if msg.children.get("MSA") else None
    if msa is None:
        raise ValueError("the answer has no MSA segment")
    detail = msa.msa_3.to_er7() if msa.msa_3 else ""
    if not detail and msg.children.get("ERR"):
        detail = msg.err.to_er7()
    return Ack(msa.msa_1.to_er7(), msa.msa_2.to_er7(), detail)
