"""WebService (SOAP 1.1) facade for integration platforms (集成平台/ESB): ``POST /soap``, WSDL at ``/soap?wsdl``.

The same operations as the JSON API, answered by the same code (``soap_service``): exam look-up
(``GET /api/exams``), an exam's measurements and findings text (the result set the outbound deliveries
send), the manual SR upload (``POST /api/sr``: the same ingest as a C-STORE) and push status (the exam's
EXAM_PUSH tasks). Built on spyne (the ``soap`` extra: spyne publishes no wheel, so the offline kit leaves it
out; without it this route answers 501). Authenticated like the API (Basic or Bearer, before the envelope
is parsed: a refused login is a SOAP Fault with HTTP 401); reads are audited like the API's, the upload like
its upload. A bad argument is a ``Client.InvalidInput`` Fault whose text names the field. The WSDL holds no
data and is served without credentials, like ``/openapi.json``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree as etree

import bottle

from ris_ai_module.web.errors import HttpError
from ris_ai_module.web.soap_support import soap_summary, soap_unavailable

if TYPE_CHECKING:
    from ris_ai_module.web.context import RouteContext as WebContext

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
log = logging.getLogger(__name__)


def _fault(code: str, message: str) -> bytes:
    """A SOAP 1.1 Fault envelope for refusals answered before spyne reads the request (login, size)."""
    etree.register_namespace("soap", SOAP_ENV)
    env = etree.Element(f"{{{SOAP_ENV}}}Envelope")
    fault = etree.SubElement(etree.SubElement(env, f"{{{SOAP_ENV}}}Body"), f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(fault, "faultcode").text = f"soap:{code}"
    etree.SubElement(fault, "faultstring").text = message
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def install(app: bottle.Bottle, web: WebContext) -> None:
    import importlib

    why_not = soap_unavailable()  # spyne absent, or unusable on this Python (3.13: no cgi): a 501 that says why
    if why_not is None:
        soap_service = importlib.import_module("ris_ai_module.web.soap_service")
    else:
        soap_service = None  # type: ignore[assignment]
        log.warning("%s", soap_summary(), extra={"action": "soap_unavailable"})
    service = soap_service.wsgi_application() if soap_service else None

    @app.route("/soap", method=["GET", "POST"], skip=True)
    def soap() -> bytes:
        request, response = bottle.request, bottle.response
        if service is None:
            response.status = 501
            response.content_type = "text/xml; charset=utf-8"
            return _fault("Server", f"the SOAP facade is off: {why_not}")
        if request.method == "POST":
            try:
                user = web.user()
                length = request.content_length
                if length <= 0:
                    raise HttpError(400, "send a SOAP 1.1 envelope as the body (WSDL: /soap?wsdl)", "body")
                # base64 makes the file a third larger; the envelope around it is small
                if length > int(web.ctx.config.http.max_upload) * 4 // 3 + 65536:
                    raise HttpError(413, f"{length} bytes is more than http.max_upload allows", "Content-Length")
            except HttpError as exc:
                response.status = exc.status
                for name, value in exc.headers.items():
                    response.set_header(name, value)
                response.content_type = "text/xml; charset=utf-8"
                return _fault("Client", exc.message)
            request.environ[soap_service.ENV_KEY] = (web, user)
        elif "wsdl" not in request.query_string.lower():
            response.status = 405
            response.content_type = "text/plain; charset=utf-8"
            return b"POST a SOAP envelope here; the WSDL is /soap?wsdl"
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            captured["status"], captured["headers"] = status, headers

        body = b"".join(service(request.environ, start_response))
        response.status = captured.get("status", "500 Internal Server Error")
        for name, value in captured.get("headers", []):
            if name.lower() != "content-length":
                response.set_header(name, value)
        return body
