"""The rules of Idempotency-Key handling without I/O: what a key is, whose it is, what is kept and how it is
sealed, its TTL setting, and its header in every service's OpenAPI document."""

from __future__ import annotations

import time

import jwt
import pytest

from schuldenlab.services import load_definition
from servicekit.auth import ISSUER, issue_token
from servicekit.config import ConfigError, Settings
from servicekit.idempotency import (
    DEFAULT_TTL,
    caller_scope,
    fingerprint,
    kept,
    key_secret,
    key_ttl,
    parse_key,
    seal,
    unseal,
)
from servicekit.service import create_app

SIGNING_KEY = "unit-test-signing-key-0123456789-0123456789"


def test_a_key_is_1_to_255_visible_ascii_characters_and_the_quoted_form_is_the_same_key():
    assert parse_key("8e03978e-40d5-43e8-bc93-6894a57f9324") == "8e03978e-40d5-43e8-bc93-6894a57f9324"
    assert parse_key('"8e03978e-40d5-43e8-bc93-6894a57f9324"') == "8e03978e-40d5-43e8-bc93-6894a57f9324"
    assert parse_key("k" * 255) == "k" * 255
    assert parse_key('"') == '"' and parse_key('"a\\"') == '"a\\"'  # not a quoted string: taken as it is
    for bad in ("", "two words", "k" * 256, "sleutel-é", "tab\there"):
        with pytest.raises(ValueError, match="1 to 255 visible ASCII"):
            parse_key(bad)


def bearer(token: str) -> str:
    return f"Bearer {token}"


def test_keys_belong_to_a_tokens_subject_and_roles_and_a_renewed_token_keeps_them():
    kim = caller_scope(bearer(issue_token(SIGNING_KEY, role="lab", subject="kim")), SIGNING_KEY)
    renewed = caller_scope(bearer(issue_token(SIGNING_KEY, role="lab", subject="kim", ttl_seconds=60)), SIGNING_KEY)
    assert kim == renewed and b"kim" in kim
    others = {caller_scope(bearer(issue_token(SIGNING_KEY, role="lab", subject="bram")), SIGNING_KEY),
              caller_scope(bearer(issue_token(SIGNING_KEY, role="operator", subject="kim")), SIGNING_KEY),
              caller_scope(None, SIGNING_KEY)}
    assert kim not in others and len(others) == 3


def test_a_token_the_routes_would_refuse_gives_the_anonymous_scope():
    now = int(time.time())
    expired = jwt.encode({"iss": ISSUER, "sub": "kim", "roles": ["lab"], "iat": now - 60, "exp": now - 30},
                         SIGNING_KEY, algorithm="HS256")
    no_role = jwt.encode({"iss": ISSUER, "sub": "kim", "roles": ["superuser"], "exp": now + 60}, SIGNING_KEY,
                         algorithm="HS256")
    forged = issue_token("another-key-entirely-0123456789-0123456789", role="operator", subject="kim")
    for authorization in (bearer(expired), bearer(no_role), bearer(forged), "Basic a2ltOnB3", "Bearer ", ""):
        assert caller_scope(authorization, SIGNING_KEY) == b""


def test_the_same_key_of_two_callers_derives_two_unrelated_secrets():
    assert key_secret(b"", "k") != key_secret(b'["kim", ["lab"]]', "k") != key_secret(b'["kim", ["lab"]]', "k2")


def test_the_fingerprint_covers_method_path_query_and_the_raw_body():
    secret = key_secret(b"", "k")
    base = fingerprint(secret, "POST", "/v1/labs", b"", b'{"name":"a"}')
    assert base == fingerprint(secret, "POST", "/v1/labs", b"", b'{"name":"a"}')
    assert len({base, fingerprint(secret, "POST", "/v1/labs/x", b"", b'{"name":"a"}'),
                fingerprint(secret, "POST", "/v1/labs", b"a=1", b'{"name":"a"}'),
                fingerprint(secret, "POST", "/v1/labs", b"", b'{"name": "a"}'),
                fingerprint(key_secret(b"", "k2"), "POST", "/v1/labs", b"", b'{"name":"a"}')}) == 5


def test_a_kept_answer_is_sealed_opens_only_with_its_key_and_shows_any_change():
    secret = key_secret(b"", "k")
    answer = b'{"id": "1", "secret": "whsec_c2VjcmV0IHNob3duIG9uY2U="}' * 10
    sealed = seal(secret, answer)
    assert b"whsec_" not in sealed and sealed != seal(secret, answer)  # a fresh nonce each time
    assert unseal(secret, sealed) == answer and unseal(secret, seal(secret, b"")) == b""
    with pytest.raises(ValueError):
        unseal(key_secret(b"", "k2"), sealed)
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(ValueError):
        unseal(secret, tampered)
    with pytest.raises(ValueError, match="format"):  # kept by the version before AES-GCM
        unseal(secret, b"\x9c" + sealed[1:])


@pytest.mark.parametrize("status, is_kept", [
    (200, True), (201, True), (202, True), (400, True), (410, True), (422, True),
    (401, False), (403, False), (404, False), (408, False), (409, False), (425, False), (429, False),
    (500, False), (502, False), (503, False), (504, False),
])
def test_successes_and_answers_about_the_request_are_kept_but_not_now_or_not_you_and_5xx_are_not(status,
                                                                                                 is_kept):
    assert kept(status) is is_kept


def test_keys_are_kept_a_day_unless_configured_and_a_service_may_keep_its_own_for_longer():
    assert key_ttl(Settings.from_env({}), "catalogue") == DEFAULT_TTL == 86400
    settings = Settings.from_env({"SCHULDENLAB_IDEMPOTENCY_KEY_TTL": "3600",
                                  "SCHULDENLAB_PARTNERING_IDEMPOTENCY_KEY_TTL": "172800"})
    assert key_ttl(settings, "catalogue") == 3600 and key_ttl(settings, "partnering") == 172800


@pytest.mark.parametrize("name, value", [
    ("SCHULDENLAB_IDEMPOTENCY_KEY_TTL", "0"), ("SCHULDENLAB_IDEMPOTENCY_KEY_TTL", "1.5"),
    ("SCHULDENLAB_IDEMPOTENCY_KEY_TTL", "-60"), ("SCHULDENLAB_IDEMPOTENCY_KEY_TTL", "a day"),
    ("SCHULDENLAB_IDEMPOTENCY_KEY_TTL", "9" * 5000), ("SCHULDENLAB_CATALOGUE_IDEMPOTENCY_KEY_TTL", "31536001"),
])
def test_a_bad_ttl_stops_the_service_naming_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        key_ttl(Settings.from_env({name: value}), "catalogue")


@pytest.mark.parametrize("service", ["catalogue", "assessment", "partnering", "notifications"])
def test_every_post_of_every_service_declares_the_optional_header_and_its_409_and_nothing_else_does(service):
    settings = Settings.from_env({"SCHULDENLAB_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none",
                                  "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9",
                                  "SCHULDENLAB_JWT_SECRET": SIGNING_KEY})
    document = create_app(load_definition(service), settings).openapi()
    posts = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            declared = [p for p in operation.get("parameters", []) if p["name"].lower() == "idempotency-key"]
            if method != "post":
                assert declared == [], (method, path)
                continue
            posts += 1
            assert len(declared) == 1 and declared[0]["in"] == "header" and declared[0]["required"] is False
            assert declared[0]["schema"]["maxLength"] == 255
            conflict = operation["responses"]["409"]
            assert "Idempotency-Key is still being answered" in conflict["description"], path
            assert "application/problem+json" in conflict["content"], path
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    assert "Idempotent-Replayed" in response["headers"], (path, status)
    assert posts >= 1
