"""Bearer tokens, roles and the problem-details error format, on a small app without I/O."""

from __future__ import annotations

import time

import jwt
import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from servicekit.auth import issue_token, require_role
from servicekit.problems import install_problem_handlers

KEY = "unit-test-key-0123456789-0123456789-0123"


class NotReady(Exception):
    def __init__(self, conditions: list[str]) -> None:
        super().__init__("The lab cannot be formed yet")
        self.conditions = conditions


class Body(BaseModel):
    name: str = Field(min_length=1)
    households: int = Field(ge=0)


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    app.state.signing_key = KEY
    install_problem_handlers(app, {NotReady: 409})

    @app.post("/decide", dependencies=[Depends(require_role("board"))])
    def decide(body: Body) -> dict:
        return {"ok": True}

    @app.post("/conflict")
    def conflict() -> dict:
        raise NotReady(["no municipality has joined", "no kwartiermaker appointed"])

    return TestClient(app)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_without_a_token_the_answer_is_401_as_a_problem(client):
    response = client.post("/decide", json={"name": "x", "households": 1})
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 401 and "bearer token" in response.json()["detail"]


def test_a_token_signed_with_another_key_is_401(client):
    token = issue_token("another-key-that-is-long-enough-for-hs256", role="board")
    assert client.post("/decide", json={}, headers=bearer(token)).status_code == 401


def test_an_expired_token_is_401_saying_so(client):
    token = jwt.encode({"iss": "schuldenlab", "sub": "x", "roles": ["board"], "exp": int(time.time()) - 10},
                       KEY, algorithm="HS256")
    response = client.post("/decide", json={}, headers=bearer(token))
    assert response.status_code == 401 and "expired" in response.json()["detail"]


def test_the_wrong_role_is_403_naming_the_roles_needed(client):
    response = client.post("/decide", json={"name": "x", "households": 1},
                           headers=bearer(issue_token(KEY, role="lab")))
    assert response.status_code == 403 and "board" in response.json()["detail"]


@pytest.mark.parametrize("role", ["board", "operator"])
def test_the_role_or_operator_is_admitted(client, role):
    response = client.post("/decide", json={"name": "x", "households": 1}, headers=bearer(issue_token(KEY, role=role)))
    assert response.status_code == 200


def test_invalid_input_is_422_naming_each_field_and_reason(client):
    response = client.post("/decide", json={"name": "", "households": -1},
                           headers=bearer(issue_token(KEY, role="board")))
    body = response.json()
    assert response.status_code == 422
    assert {e["field"] for e in body["errors"]} == {"name", "households"}
    assert all(e["reason"] for e in body["errors"])


def test_a_domain_conflict_is_409_listing_every_unmet_condition(client):
    body = client.post("/conflict").json()
    assert body["status"] == 409
    assert body["conditions"] == ["no municipality has joined", "no kwartiermaker appointed"]


def test_an_unknown_role_cannot_be_issued():
    with pytest.raises(ValueError, match="unknown role"):
        issue_token(KEY, role="king")
