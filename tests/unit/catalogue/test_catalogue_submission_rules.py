"""Validation of a submission: every invalid dossier is refused with the field and the reason."""

from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError

from catalogue.entrypoints import cursors
from catalogue.entrypoints.schemas import ProjectSubmission
from schuldenlab.demo_data import KNOWN_PROJECTS
from servicekit.problems import validation_errors


def body(**changes) -> dict:
    data = copy.deepcopy(KNOWN_PROJECTS[0])
    data.update(changes)
    return data


def refusal(data: dict) -> list[dict[str, str]]:
    with pytest.raises(ValidationError) as refused:
        ProjectSubmission.model_validate(data)
    return validation_errors(refused.value.errors())


def test_a_known_project_is_a_valid_submission():
    for dossier in KNOWN_PROJECTS:
        ProjectSubmission.model_validate(dossier)


@pytest.mark.parametrize(("changes", "field", "reason"), [
    ({"phases": ["payday"]}, "phases.0", "awareness"),
    ({"phases": []}, "phases", "at least 1"),
    ({"phases": ["intake", "intake"]}, "phases", "more than once"),
    ({"partners": []}, "partners", "at least 1"),
    ({"partners": [{"name": "Bank", "kind": "bank"}]}, "partners.0.kind", "public"),
    ({"evidence_urls": ["ftp://example.nl/rapport.pdf"]}, "evidence_urls.0", "http://"),
    ({"evidence_urls": ["javascript:alert(1)"]}, "evidence_urls.0", "http://"),
    ({"name": "x" * 201}, "name", "at most 200"),
    ({"summary": "   "}, "summary", "blank"),
    ({"results": "r" * 10_001}, "results", "at most 10000"),
    ({"availability": "tomorrow"}, "availability", "immediate"),
    ({"clients_served": -1}, "clients_served", "greater than or equal to 0"),
    ({"contact": {"name": "Anna", "email": "not-an-address"}}, "contact.email", "e-mail"),
    ({"contact": None}, "contact", "valid dictionary"),
    ({"origin": {"organisation": "X"}}, "origin.municipality", "required"),
    ({"secret_field": 1}, "secret_field", "not permitted"),
])
def test_an_invalid_dossier_names_the_field_and_the_reason(changes, field, reason):
    errors = refusal(body(**changes))
    assert any(e["field"] == field and reason in e["reason"] for e in errors), errors


def test_a_missing_field_is_named():
    data = body()
    del data["continuity_model"]
    assert {"field": "continuity_model", "reason": "Field required"} in refusal(data)


def test_cursors_round_trip_and_refuse_forgeries_and_the_other_kind():
    assert cursors.decode(cursors.LISTING, cursors.encode(cursors.LISTING, 42)) == 42
    with pytest.raises(cursors.InvalidCursor):
        cursors.decode(cursors.LISTING, cursors.encode(cursors.CHANGES, 42))
    for forged in ("bm9wZQ", "!!!", "", cursors.encode(cursors.LISTING, -1)):
        with pytest.raises(cursors.InvalidCursor):
            cursors.decode(cursors.LISTING, forged)
