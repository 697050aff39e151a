"""Tokens admit only with a platform role, matched exactly; signing keys too short to be safe stop a service."""

from __future__ import annotations

import time

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from servicekit.auth import (
    Principal,
    current_principal,
    issue_token,
    optional_principal,
    require_role,
    verify_token,
)
from servicekit.config import ConfigError, Settings
from servicekit.problems import install_problem_handlers
from servicekit.service import ServiceDefinition, create_app

KEY = "unit-test-key-0123456789-0123456789-0123"
SHORT_SECRET = "s3cret-but-only-31-bytes-long.."


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.state.signing_key = KEY
    install_problem_handlers(app)

    @app.get("/any-token")
    def any_token(who: Principal = Depends(current_principal)) -> dict:
        return {"roles": sorted(who.roles)}

    @app.get("/public")
    def public(who: Principal | None = Depends(optional_principal)) -> dict:
        return {"anonymous": who is None}

    @app.post("/lab-only", dependencies=[Depends(require_role("lab"))])
    def lab_only() -> dict:
        return {"ok": True}

    return TestClient(app)


def signed(roles: object, key: str = KEY) -> dict[str, str]:
    now = int(time.time())
    token = jwt.encode({"iss": "schuldenlab", "sub": "someone", "roles": roles, "iat": now, "exp": now + 60},
                       key, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("roles", [[], ["superuser"], ["OPERATOR"], ["Lab"], ["operator "], ["admin", "root"]])
@pytest.mark.parametrize("method, path", [("GET", "/any-token"), ("GET", "/public"), ("POST", "/lab-only")])
def test_a_signed_token_without_a_platform_role_is_refused_everywhere_reads_included(client, roles, method, path):
    response = client.request(method, path, headers=signed(roles))
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert "none of the platform's roles" in response.json()["detail"]


def test_unknown_roles_beside_a_known_one_are_dropped_not_honoured(client):
    response = client.get("/any-token", headers=signed(["integrator", "operator2", "OPERATOR"]))
    assert response.status_code == 200 and response.json() == {"roles": ["integrator"]}
    assert client.post("/lab-only", headers=signed(["integrator", "OPERATOR"])).status_code == 403


def test_a_token_with_a_platform_role_still_reads_and_no_token_stays_anonymous_where_public(client):
    assert client.get("/any-token", headers=signed(["board"])).status_code == 200
    assert client.get("/public").json() == {"anonymous": True}


def test_roles_that_are_not_a_list_of_names_make_the_token_invalid(client):
    assert client.get("/any-token", headers=signed("operator")).status_code == 401


def test_only_known_roles_reach_the_principal():
    now = int(time.time())
    token = jwt.encode({"iss": "schuldenlab", "sub": "x", "roles": ["lab", "superuser"], "exp": now + 60}, KEY,
                       algorithm="HS256")
    assert verify_token(KEY, token).roles == {"lab"}


@pytest.mark.parametrize("ttl", [0, -1])
def test_a_token_that_would_never_be_valid_is_not_issued(ttl):
    with pytest.raises(ValueError, match="positive"):
        issue_token(KEY, role="operator", ttl_seconds=ttl)


# --- the signing key ---------------------------------------------------------------------------------


def test_a_jwt_secret_shorter_than_32_bytes_is_refused_naming_the_variable_not_the_secret(tmp_path):
    settings = Settings.from_env({"SCHULDENLAB_HOME": str(tmp_path), "SCHULDENLAB_JWT_SECRET": SHORT_SECRET})
    with pytest.raises(ConfigError) as caught:
        settings.signing_key(create=True)
    message = str(caught.value)
    assert message.startswith("SCHULDENLAB_JWT_SECRET is 31 bytes") and "\n" not in message
    assert SHORT_SECRET not in message


def test_the_secret_is_measured_in_bytes_so_32_bytes_are_enough(tmp_path):
    for secret in ("x" * 32, "é" * 16):  # 16 characters, 32 bytes in UTF-8, as HS256 uses it
        settings = Settings.from_env({"SCHULDENLAB_HOME": str(tmp_path), "SCHULDENLAB_JWT_SECRET": secret})
        assert settings.signing_key() == secret


def test_a_short_key_in_the_state_directory_is_refused_naming_the_file(tmp_path):
    (tmp_path / "jwt.key").write_text("short\n")
    with pytest.raises(ConfigError, match=r"jwt\.key"):
        Settings.from_env({"SCHULDENLAB_HOME": str(tmp_path)}).signing_key()


def test_a_service_does_not_start_with_a_short_jwt_secret(tmp_path):
    settings = Settings.from_env({
        "SCHULDENLAB_HOME": str(tmp_path), "SCHULDENLAB_JWT_SECRET": SHORT_SECRET,
        "SCHULDENLAB_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
        "SCHULDENLAB_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    definition = ServiceDefinition(name="partnering", description="", migrations_package="none",
                                   uow_factory=lambda conn: None)
    with pytest.raises(ConfigError, match="SCHULDENLAB_JWT_SECRET"):
        create_app(definition, settings)


# --- the longest a token may live --------------------------------------------------------------------


def test_tokens_live_at_most_30_days_unless_configured():
    assert Settings.from_env({}).token_max_ttl == 2_592_000
    assert Settings.from_env({"SCHULDENLAB_TOKEN_MAX_TTL": "3600"}).token_max_ttl == 3600


@pytest.mark.parametrize("value", ["0", "-5", "a month"])
def test_a_maximum_token_lifetime_that_allows_no_token_is_refused_naming_the_variable(value):
    with pytest.raises(ConfigError, match="SCHULDENLAB_TOKEN_MAX_TTL"):
        Settings.from_env({"SCHULDENLAB_TOKEN_MAX_TTL": value})
