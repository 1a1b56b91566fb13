"""A hospital group's AI hosts and routing rules in the TOML file: what loads, and what is refused by key."""

from __future__ import annotations

import pytest
import tomllib

from ris_ai_module.errors import ConfigError
from ris_ai_module.push.routing import route
from ris_ai_module.settings import config_from_dict

GROUP = """
[database]
url = "sqlite:///ris.db"
[push]
url = "http://127.0.0.1:8090/api/exams"
default_hosts = ["default"]
[[push.hosts]]
name = "breast-ai"
url = "https://127.0.0.2:8443/exams"
dicom_peers = ["BREAST_AI"]
field_names = { patientName = "name" }
[push.hosts.auth]
type = "bearer"
token = "t0k"
[[push.hosts]]
name = "west-ai"
url = "http://127.0.0.3:8090/exams"
[[push.routes]]
name = "breast"
hosts = ["breast-ai"]
[[push.routes.when]]
column = "EXAM_ITEMS"
contains = ["乳腺"]
[[push.routes]]
name = "west campus echo"
hosts = ["west-ai", "default"]
[[push.routes.when]]
column = "modality"
equals = ["US"]
[[push.routes.when]]
column = "EXAM_DESC"
regex = "西院"
"""


def _load(text: str):
    return config_from_dict(tomllib.loads(text))


def test_a_group_configuration_loads_and_routes_as_written() -> None:
    cfg = _load(GROUP)
    assert cfg.push.host_names() == ["default", "breast-ai", "west-ai"]
    breast = cfg.push.host("breast-ai")
    assert breast.auth.token == "t0k" and breast.field_names["patientName"] == "name"
    assert cfg.push.host("default") is cfg.push
    exam = {"modality": "US", "exam_items": "乳腺彩超", "exam_desc": "西院"}
    assert route(exam, cfg.push.routes, cfg.push.default_hosts).hosts == ("breast-ai",)
    exam["exam_items"] = "心脏彩超"
    decided = route(exam, cfg.push.routes, cfg.push.default_hosts)
    assert decided.hosts == ("west-ai", "default") and decided.reason == "west campus echo"
    exam["exam_desc"] = "东院"
    assert route(exam, cfg.push.routes, cfg.push.default_hosts).hosts == ("default",)


@pytest.mark.parametrize(("change", "key", "words"), [
    (('hosts = ["breast-ai"]', 'hosts = ["breast"]'), "push.routes[0].hosts[0]", "unknown host 'breast'"),
    (('column = "EXAM_ITEMS"', 'column = "WARD"'), "push.routes[0].when[0].column", "unknown RAI_V_EXAM column"),
    (('regex = "西院"', 'regex = "(西院"'), "push.routes[1].when[1].regex", "not a regular expression"),
    (('name = "west-ai"', 'name = "breast-ai"'), "push.hosts[1].name", "its own name"),
    (('name = "west-ai"', 'name = "default"'), "push.hosts[1].name", "its own name"),
    (('url = "https://127.0.0.2:8443/exams"', 'url = "ftp://x"'), "push.hosts[0].url", "http:// or https://"),
    (('token = "t0k"', 'token = ""'), "push.hosts[0].auth.token", "required when push.hosts[0].auth.type"),
    (('default_hosts = ["default"]', 'default_hosts = ["east-ai"]'), "push.default_hosts[0]", "unknown host"),
    (('contains = ["乳腺"]', 'prefiks = ["乳腺"]'), "push.routes[0].when[0].prefiks", "unknown key"),
])
def test_a_wrong_rule_or_host_is_refused_naming_its_key(change: tuple[str, str], key: str, words: str) -> None:
    text = GROUP.replace(*change)
    assert text != GROUP
    with pytest.raises(ConfigError) as err:
        _load(text)
    assert err.value.key == key and words in str(err.value), str(err.value)


def test_a_host_no_rule_uses_needs_no_url_but_a_used_one_does() -> None:
    spare = GROUP.replace('url = "http://127.0.0.3:8090/exams"\n', "")
    with pytest.raises(ConfigError) as err:
        _load(spare)
    assert err.value.key == "push.hosts[1].url"
    unused = spare.replace('hosts = ["west-ai", "default"]', 'hosts = ["default"]')
    assert _load(unused).push.host("west-ai").url == ""
