"""`schuldenlab token`: signed with the configured key, personal for reviewing roles, and of bounded lifetime."""

from __future__ import annotations

import jwt
import pytest

from schuldenlab.cli import main
from servicekit.auth import verify_token

KEY = "cli-test-key-0123456789-0123456789-0123456789"


def run(monkeypatch, capsys, *argv: str, key: str = KEY) -> tuple[int, str, str]:
    monkeypatch.setenv("SCHULDENLAB_JWT_SECRET", key)
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    out = capsys.readouterr()
    return exit_.value.code, out.out.strip(), out.err


def test_an_operator_token_needs_no_subject(monkeypatch, capsys):
    code, token, _ = run(monkeypatch, capsys, "token", "--role", "operator")
    assert code == 0 and verify_token(KEY, token).roles == {"operator"}


def test_a_token_carries_the_role_and_subject_asked_for(monkeypatch, capsys):
    code, token, _ = run(monkeypatch, capsys, "token", "--role", "lab", "--subject", "kwartiermaker-mvs")
    assert code == 0
    principal = verify_token(KEY, token)
    assert principal.roles == {"lab"} and principal.subject == "kwartiermaker-mvs"


@pytest.mark.parametrize("role", ["board", "assessor", "lab", "integrator"])
def test_every_role_but_operator_needs_a_named_holder(monkeypatch, capsys, role):
    code, token, err = run(monkeypatch, capsys, "token", "--role", role)
    assert code == 2 and token == "" and "--subject" in err


def lifetime(token: str) -> int:
    claims = jwt.decode(token, KEY, algorithms=["HS256"], issuer="schuldenlab")
    return claims["exp"] - claims["iat"]


@pytest.mark.parametrize("ttl", ["0", "-60", "2592001", "315360000"])
def test_a_lifetime_that_is_not_positive_or_beyond_30_days_is_refused_in_one_line(monkeypatch, capsys, ttl):
    code, token, err = run(monkeypatch, capsys, "token", "--role", "operator", "--ttl", ttl)
    assert code == 2 and token == ""
    assert err.count("\n") == 1 and f"--ttl {ttl}" in err and "SCHULDENLAB_TOKEN_MAX_TTL" in err


def test_a_token_may_live_exactly_the_maximum(monkeypatch, capsys):
    code, token, _ = run(monkeypatch, capsys, "token", "--role", "operator", "--ttl", "2592000")
    assert code == 0 and lifetime(token) == 2592000


def test_the_maximum_lifetime_is_configurable(monkeypatch, capsys):
    monkeypatch.setenv("SCHULDENLAB_TOKEN_MAX_TTL", "600")
    code, token, err = run(monkeypatch, capsys, "token", "--role", "operator")  # the default 3600 is too long now
    assert code == 2 and token == "" and "600" in err
    code, token, _ = run(monkeypatch, capsys, "token", "--role", "operator", "--ttl", "600")
    assert code == 0 and lifetime(token) == 600


def test_no_token_is_signed_with_a_jwt_secret_shorter_than_32_bytes(monkeypatch, capsys):
    code, token, err = run(monkeypatch, capsys, "token", "--role", "operator", key="only-20-bytes-long..")
    assert code == 2 and token == ""
    assert err.count("\n") == 1 and "SCHULDENLAB_JWT_SECRET is 20 bytes" in err and "only-20" not in err
