"""WebService (SOAP 1.1) facade for integration platforms (集成平台/ESB): ``POST /soap``, WSDL at ``/soap?wsdl``.

The same operations as the JSON API, answered by the same code: exam look-up (``GET /api/exams``), an
exam's measurements and findings text (the result set the outbound deliveries send), the manual SR upload
(``POST /api/sr``: the same ingest as a C-STORE) and push status (the exam's EXAM_PUSH tasks). Built on
spyne. Authenticated like the API (Basic or Bearer, before the envelope is parsed: a refused login is a
SOAP Fault with HTTP 401); reads are audited like the API's, the upload like its upload. A bad argument
is a ``Client.InvalidInput`` Fault whose text and detail name the field. The WSDL holds no data and is
served without credentials, like ``/openapi.json``.
"""

from __future__ import annotations

import io
import logging
from typing import TYPE_CHECKING, Any

import bottle
from spyne import Application, ByteArray, ComplexModel, Fault, Integer, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

from ris_ai_module.db.engine import read_only
from ris_ai_module.errors import InvalidInput, NotFound
from ris_ai_module.web import params
from ris_ai_module.web.campus_scope import may_see, upload_campuses
from ris_ai_module.web.errors import HttpError

if TYPE_CHECKING:
    from ris_ai_module.web.context import RouteContext as WebContext

log = logging.getLogger(__name__)

NAMESPACE = "urn:ris-ai-module:soap:1"
#: Where the route leaves (web context, user) for the operations.
ENV_KEY = "rai.soap"


class Exam(ComplexModel):
    __namespace__ = NAMESPACE
    exam_key = Unicode
    patient_id = Unicode
    patient_name = Unicode
    sex = Unicode
    accession_no = Unicode
    exam_date = Unicode
    exam_items = Unicode
    exam_desc = Unicode
    modality = Unicode
    exam_status = Unicode
    push_status = Unicode
    report_state = Unicode


class ExamList(ComplexModel):
    __namespace__ = NAMESPACE
    total = Integer
    exams = Exam.customize(max_occurs="unbounded")


class Measurement(ComplexModel):
    __namespace__ = NAMESPACE
    key = Unicode
    name_zh = Unicode
    name_en = Unicode
    value = Unicode
    unit = Unicode
    display = Unicode
    code_scheme = Unicode
    code = Unicode
    sop_instance_uid = Unicode


class ExamResult(ComplexModel):
    __namespace__ = NAMESPACE
    exam_key = Unicode
    status = Unicode
    report_state = Unicode
    deliverable = Unicode
    findings_text = Unicode
    measurements = Measurement.customize(max_occurs="unbounded")


class UploadResult(ComplexModel):
    __namespace__ = NAMESPACE
    sop_instance_uid = Unicode
    duplicate = Unicode
    exam_key = Unicode
    link_method = Unicode
    task_id = Integer
    review_reason = Unicode


class PushTask(ComplexModel):
    __namespace__ = NAMESPACE
    task_id = Integer
    status = Unicode
    attempts = Integer
    last_error = Unicode
    updated_at = Unicode


class PushStatus(ComplexModel):
    __namespace__ = NAMESPACE
    exam_key = Unicode
    tasks = PushTask.customize(max_occurs="unbounded")


def _soap(ctx: Any) -> tuple[WebContext, Any]:
    web, user = ctx.transport.req_env[ENV_KEY]
    return web, user


def _guard(call: Any) -> Any:
    """Our errors as SOAP Faults that name the field; anything else a generic Fault (traceback to the log)."""
    try:
        return call()
    except Fault:
        raise
    except InvalidInput as exc:
        raise Fault("Client.InvalidInput", f"{exc.field}: {exc.reason}", detail={"field": exc.field}) from None
    except NotFound as exc:
        raise Fault("Client.NotFound", str(exc)) from None
    except HttpError as exc:
        raise Fault("Client.Refused" if exc.status < 500 else "Server", exc.message,
                    detail={"field": exc.field} if exc.field else None) from None
    except Exception:
        log.exception("SOAP call failed")
        raise Fault("Server", "internal error (see the module's log)") from None


class RisAiService(ServiceBase):
    @rpc(Unicode, Unicode, Unicode, Unicode, Unicode, Integer, Integer, Unicode, _returns=ExamList)
    def FindExams(ctx, name, patient_id, accession, date_from, date_to, limit, offset, campus):  # noqa: N802,N805
        """Exam look-up, as GET /api/exams (name: Chinese, pinyin or initials)."""
        from ris_ai_module.web.routes_exams import run_search

        web, user = _soap(ctx)
        raw = {"name": name, "patient_id": patient_id, "accession": accession, "from": date_from, "to": date_to,
               "limit": None if limit is None else str(limit),
               "offset": None if offset is None else str(offset), "campus": campus}
        answer = _guard(lambda: run_search(web, user, raw, via="SOAP"))
        return ExamList(total=answer["total"], exams=[_exam(e) for e in answer["exams"]])

    @rpc(Unicode, _returns=ExamResult)
    def GetExamResult(ctx, exam_key):  # noqa: N802,N805
        """The exam's current measurements and findings text (the result set the deliveries send)."""
        web, user = _soap(ctx)
        return _guard(lambda: _result(web, user, exam_key))

    @rpc(ByteArray, Unicode, _returns=UploadResult)
    def UploadSr(ctx, content, exam_key):  # noqa: N802,N805
        """The manual SR upload (base64 DICOM file), as POST /api/sr; needs the operator role."""
        web, _user = _soap(ctx)
        return _guard(lambda: _upload(web, content, exam_key))

    @rpc(Unicode, _returns=PushStatus)
    def GetPushStatus(ctx, exam_key):  # noqa: N802,N805
        """The exam's push tasks to the AI host(s), newest last, with attempts and the last error."""
        web, user = _soap(ctx)
        return _guard(lambda: _push_status(web, user, exam_key))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _exam(e: dict[str, Any]) -> Exam:
    return Exam(**{k: _text(e.get(k)) for k in Exam._type_info})


def _key(exam_key: str | None) -> str:
    key = params.text(exam_key, "exam_key")
    if not key:
        raise InvalidInput("exam_key", "required")
    return key


def _result(web: WebContext, user: Any, exam_key: str | None) -> ExamResult:
    from ris_ai_module.db.ris import get_exam
    from ris_ai_module.results.resultset import read_result_set

    key = _key(exam_key)
    with read_only(web.ctx.engine) as conn:
        if get_exam(conn, key) is None or not may_see(conn, web.ctx.config, user, key):
            web.audit_read(user.name, "exam_view", key, "SOAP: not found")  # type: ignore[attr-defined]
            raise NotFound(f"exam {key} is not in RAI_V_EXAM")
        rs = read_result_set(conn, web.ctx.config, key)
    web.audit_read(user.name, "exam_view", key, "SOAP: result")  # type: ignore[attr-defined]
    items = [Measurement(key=i.key, name_zh=i.name_zh, name_en=i.name_en, value=_text(i.value), unit=i.unit,
                         display=i.display, code_scheme=i.code.scheme if i.code else None,
                         code=i.code.code if i.code else None, sop_instance_uid=i.sop_instance_uid) for i in rs.items]
    return ExamResult(exam_key=key, status=rs.status, report_state=rs.report_state, deliverable=rs.deliverable,
                      findings_text=rs.findings_text, measurements=items)


def _push_status(web: WebContext, user: Any, exam_key: str | None) -> PushStatus:
    from sqlalchemy import func, select

    from ris_ai_module.db.ris import get_exam
    from ris_ai_module.db.tables import task, task_attempt
    from ris_ai_module.tasks.model import TaskKind

    key = _key(exam_key)
    with read_only(web.ctx.engine) as conn:
        if get_exam(conn, key) is None or not may_see(conn, web.ctx.config, user, key):
            raise NotFound(f"exam {key} is not in RAI_V_EXAM")
        rows = conn.execute(select(task).where(task.c.exam_key == key, task.c.kind == TaskKind.EXAM_PUSH.value)
                            .order_by(task.c.task_id)).all()
        counts = dict(conn.execute(select(task_attempt.c.task_id, func.count()).where(
            task_attempt.c.task_id.in_([r.task_id for r in rows])).group_by(task_attempt.c.task_id)).all()) if rows else {}
    web.audit_read(user.name, "exam_view", key, "SOAP: push status")  # type: ignore[attr-defined]
    m = [r._mapping for r in rows]
    return PushStatus(exam_key=key, tasks=[PushTask(
        task_id=r["task_id"], status=r["status"], attempts=int(counts.get(r["task_id"], 0)),
        last_error=r.get("last_error"), updated_at=_text(r.get("updated_at"))) for r in m])


def _upload(web: WebContext, content: Any, exam_key: str | None) -> UploadResult:
    from ris_ai_module.db.ris import get_exam
    from ris_ai_module.dicom.ingest import Received, ingest
    from ris_ai_module.web.sr_upload import stage_sr

    user = web.user("operator")
    data = b"".join(content) if isinstance(content, (list, tuple)) else (content or b"")
    limit = int(web.ctx.config.http.max_upload)
    if not data:
        raise InvalidInput("content", "required: the SR file, base64")
    if len(data) > limit:
        raise InvalidInput("content", f"{len(data)} bytes is more than http.max_upload ({limit} bytes)")
    key = params.text(exam_key, "exam_key") or None
    with web.audited(user.name, "sr_upload", None) as entry:
        if key:
            with read_only(web.ctx.engine) as conn:
                if get_exam(conn, key) is None or not may_see(conn, web.ctx.config, user, key):
                    raise NotFound(f"exam {key} is not in RAI_V_EXAM")
        area, temp = stage_sr(web.ctx.config, io.BytesIO(data), len(data), "content")
        outcome = ingest(web.ctx, area, Received(temp=temp, source="IMPORT", sender_ae=f"SOAP:{user.name}"[:16],
                                                 sender_address=bottle.request.remote_addr, exam_key=key,
                                                 campuses=upload_campuses(web.ctx.config, user)))
        entry.target, entry.detail = outcome.sop_instance_uid, f"SOAP: {outcome.comment or outcome.link_method}"
        if outcome.other_campus:  # linked by its UIDs to another campus's exam, or to none: nothing stored
            from ris_ai_module.report.preview import OTHER_CAMPUS

            raise NotFound(OTHER_CAMPUS)
        if not outcome.ok:
            raise InvalidInput("content", f"not stored (0x{outcome.status:04X}): {outcome.comment}")
    web.ctx.wake.set()
    return UploadResult(sop_instance_uid=outcome.sop_instance_uid, duplicate="true" if outcome.duplicate else "false",
                        exam_key=outcome.exam_key, link_method=outcome.link_method, task_id=outcome.task_id,
                        review_reason=outcome.review_reason)


def wsgi_application() -> WsgiApplication:
    return WsgiApplication(Application(
        [RisAiService], tns=NAMESPACE, name="RisAiModule", in_protocol=Soap11(validator="soft"),
        out_protocol=Soap11()))
