"""Extension hooks: a hospital's own Python functions, in a module named in ``[hooks] module``, no fork.

The module defines any of these functions (all optional; a missing one means the module's own behaviour):

``build_push_payload(exam: dict, payload: dict) -> dict | None``
    Called before each exam push with the exam (RAI_V_EXAM columns) and the body the module built. Return
    the body to send (amended or new), or None to send the module's body unchanged.
``pick_exam(obj: dict, candidates: list[dict]) -> str | None``
    Called for a stored object the rules could not link (no StudyInstanceUID or accession match), with
    its header fields and the exams of the same patient ID. Return an exam key or None. The choice still
    passes the patient check: an exam of another patient is refused and the object stays unlinked.
``render_findings(items: dict[str, dict], text: str) -> str | None``
    Called with the measurements (key -> value, unit, names) and the module's findings paragraph; return
    the paragraph to write, or None to keep the module's.
``may_write_report(exam_key: str, items: dict[str, dict]) -> bool``
    Asked before the report of an exam is written. Only ``True`` allows it; anything else, an error or
    no answer in time holds the report for review (PENDING, the reason recorded). Fail safe.
``after_apply(exam_key: str, sop_instance_uid: str, state: str, detail: str) -> None``
    Called after an SR was applied or held (after the commit). Its result is ignored.

Contract of every call: it runs on a helper thread with ``[hooks] timeout``; an exception is contained
and logged; a call past its timeout is abandoned (its thread is left to finish, its answer ignored) and
counted; after ``[hooks] max_failures`` failures in a row (errors or timeouts) the hook is disabled and an
alert is logged (action ``hook_disabled``). A failure never changes what the module does, except as each
hook says above (``may_write_report`` fails to "no"). Hooks are called from several threads at once.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ris_ai_module.config.schema import HooksConfig
from ris_ai_module.errors import ConfigError

log = logging.getLogger(__name__)

HOOK_NAMES = ("build_push_payload", "pick_exam", "render_findings", "may_write_report", "after_apply")

_NOTHING = object()


@dataclass
class HookStats:
    calls: int = 0
    failures: int = 0
    timeouts: int = 0
    consecutive: int = 0
    disabled: bool = False
    last_error: str | None = None


@dataclass
class Hooks:
    """The loaded hook functions with their counters; ``NO_HOOKS`` when none are configured."""

    functions: dict[str, Callable[..., Any]] = field(default_factory=dict)
    timeout: float = 2.0
    max_failures: int = 5
    module_name: str = ""
    stats: dict[str, HookStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        for name in self.functions:
            self.stats.setdefault(name, HookStats())

    @classmethod
    def from_config(cls, cfg: HooksConfig) -> Hooks:
        """Import ``cfg.module`` by name; an unknown module or a hook that is not callable stops start-up."""
        if not cfg.module:
            return cls()
        try:
            module = importlib.import_module(cfg.module)
        except ImportError as exc:
            raise ConfigError("hooks.module", f"cannot import {cfg.module!r}: {exc}") from None
        functions = {}
        for name in HOOK_NAMES:
            fn = getattr(module, name, None)
            if fn is None:
                continue
            if not callable(fn):
                raise ConfigError("hooks.module", f"{cfg.module}.{name} is not a function")
            functions[name] = fn
        log.info("hooks loaded from %s: %s", cfg.module, ", ".join(functions) or "none",
                 extra={"action": "hooks_loaded"})
        return cls(functions, float(cfg.timeout), cfg.max_failures, cfg.module)

    def has(self, name: str) -> bool:
        return name in self.functions and not self.stats[name].disabled

    def call(self, name: str, *args: Any) -> Any:
        """The hook's answer, or ``_NOTHING`` when it is absent, disabled, failed or timed out."""
        if not self.has(name):
            return _NOTHING
        st = self.stats[name]
        with self._lock:
            st.calls += 1
        box: dict[str, Any] = {}
        done = threading.Event()

        def _run() -> None:
            try:
                box["answer"] = self.functions[name](*args)
            except BaseException as exc:  # noqa: BLE001 - a hospital's code: contained, reported below
                box["error"] = exc
            finally:
                done.set()

        # A daemon thread per call: an abandoned (hanging) call can never keep the process from exiting.
        threading.Thread(target=_run, name=f"rai-hook-{name}", daemon=True).start()
        if not done.wait(self.timeout):
            self._failed(name, f"no answer within {self.timeout:g}s (abandoned)", timeout=True)
            return _NOTHING
        if "error" in box:
            exc = box["error"]
            log.error("hook %s.%s raised", self.module_name, name, exc_info=exc,
                      extra={"action": "hook_error", "hook": name})
            self._failed(name, f"{type(exc).__name__}: {exc}"[:300])
            return _NOTHING
        with self._lock:
            st.consecutive = 0
        return box.get("answer")

    def _failed(self, name: str, why: str, timeout: bool = False) -> None:
        with self._lock:
            st = self.stats[name]
            st.failures += 1
            st.timeouts += int(timeout)
            st.consecutive += 1
            st.last_error = why
            disable = not st.disabled and st.consecutive >= self.max_failures
            if disable:
                st.disabled = True
        log.warning("hook %s.%s failed: %s", self.module_name, name, why,
                    extra={"action": "hook_timeout" if timeout else "hook_failed", "hook": name})
        if disable:
            log.error("ALERT: hook %s.%s disabled after %d failures in a row (last: %s); the module's own "
                      "behaviour applies until restart", self.module_name, name, self.max_failures, why,
                      extra={"action": "hook_disabled", "hook": name})

    # --------------------------------------------------------------------------- the five hooks, typed
    def amend_payload(self, exam: dict[str, Any], payload: dict[str, Any]) -> dict[str, Any]:
        answer = self.call("build_push_payload", dict(exam), dict(payload))
        if isinstance(answer, dict):
            return answer
        if answer not in (_NOTHING, None):
            self._failed("build_push_payload", f"returned {type(answer).__name__}, expected a dict or None")
        return payload

    def pick_exam(self, obj: dict[str, Any], candidates: list[dict[str, Any]]) -> str | None:
        answer = self.call("pick_exam", dict(obj), [dict(c) for c in candidates])
        return answer if isinstance(answer, str) and answer else None

    def render_findings(self, items: dict[str, dict[str, Any]], text: str) -> str:
        answer = self.call("render_findings", items, text)
        return answer if isinstance(answer, str) else text

    def may_write_report(self, exam_key: str, items: dict[str, dict[str, Any]]) -> str | None:
        """None when the report may be written; else why not (fail safe: no answer is "no")."""
        if "may_write_report" not in self.functions:
            return None
        if self.stats["may_write_report"].disabled:
            return "held: the may_write_report hook is disabled after repeated failures"
        answer = self.call("may_write_report", exam_key, items)
        if answer is True:
            return None
        if answer is _NOTHING:
            return f"held: the may_write_report hook gave no answer ({self.stats['may_write_report'].last_error})"
        return "held for review by the may_write_report hook"

    def after_apply(self, exam_key: str, sop_uid: str, state: str, detail: str) -> None:
        self.call("after_apply", exam_key, sop_uid, state, detail)



NO_HOOKS = Hooks()
