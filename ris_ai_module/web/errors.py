"""The web boundary: every failure becomes JSON ``{"error": ..., "field": ...}`` with the right status."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

import bottle
from sqlalchemy import exc as sa_exc

from ris_ai_module.errors import ConfigError, DatabaseError, InvalidInput, NotFound, RaiError

log = logging.getLogger(__name__)


#: SQLAlchemy errors that mean "the database cannot be reached or dropped the connection" (503), as opposed to
#: a statement the database refused (a bug: 500).
DB_UNAVAILABLE: tuple[type[Exception], ...] = (sa_exc.OperationalError, sa_exc.InterfaceError,
                                                sa_exc.DisconnectionError, sa_exc.TimeoutError)


class HttpError(Exception):
    def __init__(self, status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, headers or {}


def body(message: str, field: str | None = None) -> dict[str, Any]:
    return {"error": message, **({"field": field} if field else {})}


def json_boundary(callback: Callable[..., Any]) -> Callable[..., Any]:
    """Bottle plugin: translate exceptions into JSON answers; a traceback only ever reaches the log."""

    @wraps(callback)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return callback(*args, **kwargs)
        except bottle.HTTPResponse:
            raise
        except HttpError as exc:
            bottle.response.status = exc.status
            for k, v in exc.headers.items():
                bottle.response.set_header(k, v)
            return body(exc.message, exc.field)
        except InvalidInput as exc:
            bottle.response.status = 400
            return body(exc.reason, exc.field)
        except NotFound as exc:
            bottle.response.status = 404
            return body(str(exc))
        except (DatabaseError, *DB_UNAVAILABLE) as exc:
            log.warning("HTTP %s %s: database unavailable: %s", bottle.request.method, bottle.request.path,
                        str(exc).splitlines()[0][:200] if str(exc) else exc.__class__.__name__)
            bottle.response.status = 503
            bottle.response.set_header("Retry-After", "30")
            return body("database unavailable; retry later")
        except (ConfigError, RaiError) as exc:
            bottle.response.status = 409
            return body(str(exc))
        except Exception:
            log.exception("HTTP %s %s failed", bottle.request.method, bottle.request.path)
            bottle.response.status = 500
            return body("internal error (see the module log)")

    return wrapper


def install_error_pages(app: bottle.Bottle, headers: Callable[[], None]) -> None:
    """No route, wrong method, or bottle's own errors: JSON too, never bottle's HTML page (with the
    same ``headers`` as any other answer)."""

    def handler(err: bottle.HTTPError) -> str:
        headers()
        bottle.response.content_type = "application/json; charset=utf-8"
        messages = {404: "no such resource", 405: "method not allowed", 413: "request body too large"}
        return json.dumps(body(messages.get(err.status_code, err.status_line)), ensure_ascii=False)

    for code in (400, 401, 403, 404, 405, 413, 415, 500):
        app.error_handler[code] = handler
