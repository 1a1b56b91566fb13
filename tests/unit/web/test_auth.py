"""Who gets in: PBKDF2 passwords, API tokens, lockout after repeated failures (等保 身份鉴别).

The failure counters live in the database (RAI_LOGIN_FAILURE); these tests use an SQLite file, the
lockout across restarts, addresses and instances is tested on every database in
tests/integration/web/test_security.py."""

from __future__ import annotations

import pytest

from ris_ai_module.errors import ConfigError
from ris_ai_module.settings import config_from_dict
from ris_ai_module.web.auth import Authenticator, hash_password, new_token, verify_password
from ris_ai_module.web.lockout import LoginFailures


def _http(**extra: object) -> dict:
    return {"database": {"url": "sqlite:///x.db"}, "push": {"url": "http://127.0.0.1:9/"}, "http": extra}


@pytest.fixture
def engine(tmp_path):  # noqa: ANN001, ANN201
    from ris_ai_module.db import migrate
    from tests.dbs import engine_for

    e = engine_for(f"sqlite:///{tmp_path / 'rai.db'}")
    migrate.upgrade(e)
    yield e
    e.dispose()


def _auth(engine=None, lockout_failures: int = 5, tokens: list | None = None) -> Authenticator:  # noqa: ANN001
    users = [{"name": "op", "password_hash": hash_password("right-pass", 1000), "role": "operator"}]
    cfg = config_from_dict(_http(enabled=True, users=users, tokens=tokens or [], lockout_failures=lockout_failures,
                                 lockout_time="10m"))
    return Authenticator(cfg.http, LoginFailures(engine, lockout_failures, 20, 600.0))


def test_password_hash_is_salted_and_verifies() -> None:
    first, second = hash_password("s3cret-pw", 1000), hash_password("s3cret-pw", 1000)
    assert first != second and first.startswith("pbkdf2_sha256$1000$")
    assert verify_password("s3cret-pw", first) and not verify_password("other", first)
    assert not verify_password("s3cret-pw", "pbkdf2_sha256$x$y$z"), "a broken hash refuses, never raises"


def test_lockout_after_n_failures_even_for_the_right_password(engine) -> None:  # noqa: ANN001
    a = _auth(engine, lockout_failures=3)
    assert a.check("op", "bad", "10.0.0.1")[1] == "bad credentials"
    assert a.check("op", "bad", "10.0.0.2")[1] == "bad credentials"
    assert a.check("op", "bad", "10.0.0.3") == (None, "locked"), "the account, whatever address tries"
    assert a.check("op", "right-pass", "10.0.0.4") == (None, "locked")


def test_success_resets_the_failure_count(engine) -> None:  # noqa: ANN001
    a = _auth(engine, lockout_failures=3)
    a.check("op", "bad", "10.0.0.1"), a.check("op", "bad", "10.0.0.1")
    assert a.check("op", "right-pass", "10.0.0.1")[0] is not None
    a.check("op", "bad", "10.0.0.1"), a.check("op", "bad", "10.0.0.1")
    assert a.check("op", "right-pass", "10.0.0.1")[0] is not None


def test_api_tokens_are_checked_by_their_hash() -> None:
    token, digest = new_token()
    a = _auth(None, tokens=[{"name": "zabbix", "token_hash": digest}])
    account = a.check_token(token)
    assert account is not None and account.name == "zabbix" and account.role == "viewer"
    assert a.check_token(token + "x") is None and a.check_token("") is None


@pytest.mark.parametrize(("http", "key"), [
    ({"enabled": True}, "http.users"),
    ({"users": [{"name": "a", "password_hash": "secret"}]}, "http.users[0].password_hash"),
    ({"tokens": [{"name": "t", "token_hash": "plain-token"}]}, "http.tokens[0].token_hash"),
    ({"tokens": [{"name": "t", "token_hash": "sha256$" + "g" * 64}]}, "http.tokens[0].token_hash"),
    ({"users": [{"name": "a", "password_hash": hash_password("x", 1000)}],
      "tokens": [{"name": "a", "token_hash": new_token()[1]}]}, "http.tokens[0].name"),
    ({"ip_allow": ["10.0.0.0/33"]}, "http.ip_allow[0]"),
    ({"tls_certificate": "cert.pem"}, "http.tls_private_key"),
])
def test_config_mistakes_name_the_key(http: dict, key: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_dict(_http(**http))
    assert err.value.key == key
