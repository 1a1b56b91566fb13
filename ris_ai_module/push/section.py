"""``[push]``: the AI host(s) exams are pushed to, and ``[[push.routes]]``: which exam goes to which.

One AI host is the ``[push]`` section itself (named ``default``). A hospital group adds more with
``[[push.hosts]]`` (each its own URL, credentials, payload mapping, and the AE titles of
``[[dicom.peers]]`` it sends results from) and routes exams to them with ordered rules over RAI_V_EXAM
columns (the matching itself is ``push/routing.py``). Every name is checked at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ris_ai_module.config.types import Duration, FilePath, RetryConfig, empty_mapping
from ris_ai_module.errors import ConfigError

#: The name rules use for the host of the ``[push]`` section itself.
DEFAULT_HOST = "default"


@dataclass(frozen=True)
class AuthConfig:
    type: Literal["none", "bearer", "basic", "header"] = "none"
    token: str = ""
    username: str = ""
    password: str = ""
    header_name: str = ""
    header_value: str = ""


@dataclass(frozen=True)
class HostSettings:
    """What one AI host's exam API needs: address, TLS, credentials, payload mapping. (Retries are the
    EXAM_PUSH kind's policy, ``[push.retry]``, the same for every host.)"""

    url: str = ""
    method: Literal["POST", "PUT"] = "POST"
    connect_timeout: Duration = Duration(5)
    read_timeout: Duration = Duration(30)
    verify_tls: bool = True
    ca_file: FilePath = FilePath("")
    client_cert: FilePath = FilePath("")
    client_key: FilePath = FilePath("")
    auth: AuthConfig = field(default_factory=AuthConfig)
    headers: Mapping[str, str] = field(default_factory=empty_mapping)
    field_names: Mapping[str, str] = field(default_factory=empty_mapping)
    constant_fields: Mapping[str, str] = field(default_factory=empty_mapping)
    omit_fields: tuple[str, ...] = ()
    keep_response_bytes: int = 4000

    def validate_host(self, where: str, required: bool) -> None:
        """Checks of one host's keys; ``where`` is its dotted prefix (``push`` or ``push.hosts[1]``)."""
        if self.url and not self.url.startswith(("http://", "https://")):
            raise ConfigError(f"{where}.url", f"expected an http:// or https:// URL, got {self.url!r}")
        if required and not self.url:
            raise ConfigError(f"{where}.url", "required while worker.enabled is true (exams are pushed there)")
        if self.auth.type == "bearer" and not self.auth.token:
            raise ConfigError(f"{where}.auth.token", f"required when {where}.auth.type is \"bearer\"")
        if self.auth.type == "basic" and not self.auth.username:
            raise ConfigError(f"{where}.auth.username", f"required when {where}.auth.type is \"basic\"")
        if self.auth.type == "header" and not self.auth.header_name:
            raise ConfigError(f"{where}.auth.header_name", f"required when {where}.auth.type is \"header\"")
        if bool(self.client_cert) != bool(self.client_key):
            raise ConfigError(f"{where}.client_key", f"{where}.client_cert and {where}.client_key go together")


@dataclass(frozen=True)
class AiHostConfig(HostSettings):
    """One more AI host of a hospital group (``[[push.hosts]]``)."""

    name: str = ""
    #: AE titles of ``[[dicom.peers]]`` this host sends its images and SR from (shown per host).
    dicom_peers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouteCondition:
    """One test of a RAI_V_EXAM column; several forms given are alternatives (any may match)."""

    column: str
    equals: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    prefix: tuple[str, ...] = ()
    regex: str = ""
    case_sensitive: bool = False

    def forms(self) -> int:
        return len(self.equals) + len(self.contains) + len(self.prefix) + (1 if self.regex else 0)


@dataclass(frozen=True)
class RouteRule:
    """``hosts`` receive every exam meeting all of ``when`` (none: every exam); ``name`` is for the trace."""

    hosts: tuple[str, ...]
    when: tuple[RouteCondition, ...] = ()
    name: str = ""


@dataclass(frozen=True)
class PushConfig(HostSettings):
    """The AI host's exam API (host ``default``), more hosts of a group, and the routing between them."""

    retry: RetryConfig = field(default_factory=RetryConfig)
    hosts: tuple[AiHostConfig, ...] = ()
    routes: tuple[RouteRule, ...] = ()
    #: Hosts of an exam that no rule matches; an empty list means such exams are not pushed.
    default_hosts: tuple[str, ...] = (DEFAULT_HOST,)

    def host_names(self) -> list[str]:
        return [DEFAULT_HOST, *(h.name for h in self.hosts)]

    def host(self, name: str) -> HostSettings:
        """The settings of a host by name (``default`` is this section)."""
        if name == DEFAULT_HOST:
            return self
        for h in self.hosts:
            if h.name == name:
                return h
        raise KeyError(name)

    def used_hosts(self) -> list[str]:
        """Hosts some rule or the default can send to: the ones that must be reachable."""
        used = dict.fromkeys(self.default_hosts)
        for rule in self.routes:
            used.update(dict.fromkeys(rule.hosts))
        return [n for n in self.host_names() if n in used]

    def validate_push(self, worker_enabled: bool, view_columns: Sequence[str]) -> None:
        names = [h.name for h in self.hosts]
        for i, h in enumerate(self.hosts):
            if not h.name or h.name == DEFAULT_HOST or h.name in names[:i]:
                raise ConfigError(f"push.hosts[{i}].name",
                                  f"each host needs its own name other than {DEFAULT_HOST!r}, got {h.name!r}")
        if self.retry.multiplier < 1:
            raise ConfigError("push.retry.multiplier", f"expected a number >= 1, got {self.retry.multiplier}")
        if self.retry.max_attempts < 1:
            raise ConfigError("push.retry.max_attempts", "expected at least 1")
        used = self.used_hosts()
        self.validate_host("push", required=worker_enabled and DEFAULT_HOST in used)
        for i, h in enumerate(self.hosts):
            h.validate_host(f"push.hosts[{i}]", required=worker_enabled and h.name in used)
        from_problems = route_problems(self, view_columns)
        if from_problems:
            key, reason = from_problems[0]
            raise ConfigError(key, reason)


def route_problems(push: PushConfig, columns: Sequence[str]) -> list[tuple[str, str]]:
    """Every (dotted key, reason) wrong in the routing: unknown host or column, empty rule, bad regex."""
    import re

    known_hosts = set(push.host_names())
    known_columns = {c.lower() for c in columns}
    problems: list[tuple[str, str]] = []
    for i, rule in enumerate(push.routes):
        where = f"push.routes[{i}]"
        if not rule.hosts:
            problems.append((f"{where}.hosts", "a rule must name at least one host"))
        for j, host in enumerate(rule.hosts):
            if host not in known_hosts:
                problems.append((f"{where}.hosts[{j}]",
                                 f"unknown host {host!r} (known: {', '.join(sorted(known_hosts))})"))
        for j, cond in enumerate(rule.when):
            key = f"{where}.when[{j}]"
            if cond.column.lower() not in known_columns:
                problems.append((f"{key}.column", f"unknown RAI_V_EXAM column {cond.column!r} "
                                                  f"(known: {', '.join(sorted(c.upper() for c in known_columns))})"))
            if cond.forms() == 0:
                problems.append((key, "give at least one of equals, contains, prefix, regex"))
            if cond.regex:
                try:
                    re.compile(cond.regex)
                except re.error as exc:
                    problems.append((f"{key}.regex", f"not a regular expression: {exc}"))
    for j, host in enumerate(push.default_hosts):
        if host not in known_hosts:
            problems.append((f"push.default_hosts[{j}]", f"unknown host {host!r}"))
    return problems
