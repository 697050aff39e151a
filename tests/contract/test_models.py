"""The payload models and the event registry keep the promises of SPEC §3."""

import re
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from schuldenlab_contracts import (
    EVENT_TYPES,
    EVENTS,
    ImpactTotals,
    LabFormed,
    Phase,
    ProjectSubmitted,
    UnknownEventType,
    by_model,
    by_topic,
    by_type,
)
from schuldenlab_contracts.schemas import generated_schemas

from .samples import DOSSIER, WHEN

SPEC_TABLE = {
    # model name: (topic, ce_type, key field, producing service)
    "ProjectSubmitted": (
        "catalogue.project-submitted.v1",
        "nl.schuldenlab.project.submitted.v1",
        "project_id",
        "catalogue",
    ),
    "ProjectAssessed": (
        "assessment.project-assessed.v1",
        "nl.schuldenlab.project.assessed.v1",
        "project_id",
        "assessment",
    ),
    "LabFormed": (
        "partnering.lab-formed.v1",
        "nl.schuldenlab.lab.formed.v1",
        "lab_id",
        "partnering",
    ),
    "PartnerJoined": (
        "partnering.partner-joined.v1",
        "nl.schuldenlab.lab.partner-joined.v1",
        "lab_id",
        "partnering",
    ),
    "ProjectHandedOver": (
        "partnering.project-handed-over.v1",
        "nl.schuldenlab.project.handed-over.v1",
        "lab_id",
        "partnering",
    ),
    "ImplementationStarted": (
        "partnering.implementation-started.v1",
        "nl.schuldenlab.project.implementation-started.v1",
        "lab_id",
        "partnering",
    ),
    "CatalogueProject": (
        "catalogue.projects.v1",
        "nl.schuldenlab.catalogue.project.v1",
        "project_id",
        "catalogue",
    ),
}
# SPEC 5.3: implementation stages, stopping, and outcomes.
SPEC_TABLE |= {
    "ImplementationStageChanged": (
        "partnering.implementation-stage-changed.v1",
        "nl.schuldenlab.project.implementation-stage-changed.v1",
        "lab_id",
        "partnering",
    ),
    "ImpactRecorded": (
        "partnering.impact-recorded.v1",
        "nl.schuldenlab.project.impact-recorded.v1",
        "lab_id",
        "partnering",
    ),
}

# SPEC 5.2: evidence level and a rating that lasts a set time.
SPEC_TABLE |= {
    "ReassessmentDue": (
        "assessment.reassessment-due.v1",
        "nl.schuldenlab.project.reassessment-due.v1",
        "project_id",
        "assessment",
    ),
}


def test_registry_matches_the_event_table_of_the_spec():
    actual = {s.model.__name__: (s.topic, s.ce_type, s.key_field, s.source) for s in EVENTS}
    assert actual == SPEC_TABLE
    assert EVENT_TYPES == {row[1] for row in SPEC_TABLE.values()}


def test_the_contracts_readme_lists_every_event_of_the_registry():
    # The package's front door for integrators: an event missing there is one nobody subscribes to.
    readme = (Path(__file__).resolve().parents[2] / "contracts" / "README.md").read_text(encoding="utf-8")
    for spec in EVENTS:
        assert f"| `{spec.model.__name__}`" in readme and f"`{spec.topic}`" in readme and f"`{spec.ce_type}`" in readme


def test_only_the_catalogue_feed_is_compacted():
    assert [s.topic for s in EVENTS if s.compacted] == ["catalogue.projects.v1"]


def test_lookups_find_the_same_event_by_type_topic_and_model():
    for spec in EVENTS:
        assert by_type(spec.ce_type) is spec
        assert by_topic(spec.topic) is spec
        assert by_model(spec.model) is spec


@pytest.mark.parametrize(
    ("lookup", "arg", "named"),
    [
        (by_type, "nl.schuldenlab.nope.v1", "nl.schuldenlab.nope.v1"),
        (by_topic, "nope.v1", "nope.v1"),
        (by_model, ImpactTotals, "ImpactTotals"),
    ],
)
def test_unknown_lookups_raise_unknown_event_type_naming_what_was_asked(lookup, arg, named):
    with pytest.raises(UnknownEventType) as caught:
        lookup(arg)
    assert isinstance(caught.value, KeyError)
    assert named in str(caught.value)
    assert not str(caught.value).startswith("'")  # readable, not KeyError's quoted repr


def test_every_event_model_is_frozen_and_forbids_extra_fields(samples):
    for model, payload in samples.items():
        data = payload.model_dump(mode="json")
        with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
            model.model_validate({**data, "surprise": 1})
        with pytest.raises(ValidationError, match="frozen"):
            setattr(payload, next(iter(model.model_fields)), "changed")


def test_nested_models_forbid_extra_fields_when_producing():
    origin = {**DOSSIER["origin"].model_dump(), "contact_name": "Jan"}
    with pytest.raises(ValidationError) as caught:
        ProjectSubmitted(**{**DOSSIER, "origin": origin}, submitted_at=WHEN)
    assert caught.value.errors()[0]["loc"] == ("origin", "contact_name")


def _all_property_names(node) -> set[str]:
    names: set[str] = set()
    if isinstance(node, dict):
        names |= set(node.get("properties", {}))
        for value in node.values():
            names |= _all_property_names(value)
    elif isinstance(node, list):
        for value in node:
            names |= _all_property_names(value)
    return names


def test_no_event_carries_contact_details_at_any_depth():
    personal = re.compile(r"contact|e_?mail|phone|telefoon", re.IGNORECASE)
    for ce_type, schema in generated_schemas().items():
        leaked = {name for name in _all_property_names(schema) if personal.search(name)}
        assert not leaked, f"{ce_type} carries personal data fields {leaked}"


def test_a_contact_person_is_refused_on_a_submission():
    with pytest.raises(ValidationError, match="contact"):
        ProjectSubmitted(**DOSSIER, submitted_at=WHEN, contact={"name": "Jan", "email": "j@x.nl"})


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"phases": []}, "at least 1 item"),
        ({"phases": ["planning", "planning"]}, "'planning' is listed more than once"),
        ({"phases": ["cooking"]}, "Input should be 'awareness'"),
        ({"revision": 0}, "greater than or equal to 1"),
        ({"clients_served": -1}, "greater than or equal to 0"),
        ({"name": ""}, "at least 1 character"),
        ({"name": "   "}, "must not be blank"),
        ({"name": "x" * 201}, "at most 200 characters"),
        (
            {"evidence_urls": ["ftp://example.org/report.pdf"]},
            "must start with http:// or https://",
        ),
        ({"evidence_urls": ["javascript:alert(1)"]}, "must start with http:// or https://"),
        ({"evidence_urls": ["https://"]}, "must name a host"),
        ({"project_id": "not-a-uuid"}, "valid UUID"),
    ],
)
def test_submission_rejects_invalid_fields_with_a_clear_message(change, message):
    with pytest.raises(ValidationError, match=re.escape(message)):
        ProjectSubmitted(**{**DOSSIER, **change}, submitted_at=WHEN)


def test_timestamps_must_carry_a_timezone():
    with pytest.raises(ValidationError, match="timezone"):
        ProjectSubmitted(**DOSSIER, submitted_at=datetime(2025, 3, 14, 9, 30))


def test_http_and_https_evidence_urls_are_accepted():
    urls = ["http://example.org/a", "https://example.org/b?x=1", "HTTPS://Example.org/c"]
    project = ProjectSubmitted(**{**DOSSIER, "evidence_urls": urls}, submitted_at=WHEN)
    assert project.evidence_urls == urls


def test_phases_are_the_seven_codes_of_the_spec():
    assert [p.value for p in Phase] == [
        "awareness",
        "intake",
        "referral",
        "stabilisation",
        "planning",
        "debt_reduction",
        "aftercare",
    ]


def test_more_households_debt_free_than_reached_is_refused():
    with pytest.raises(ValidationError, match="must not exceed households_reached"):
        ImpactTotals(households_reached=3, households_debt_free=4)


def test_optional_fields_may_be_left_out(samples):
    data = samples[LabFormed].model_dump(mode="json")
    del data["region"]
    assert LabFormed.model_validate(data).region is None


def test_the_key_field_of_every_event_is_a_uuid(samples):
    for payload in samples.values():
        assert isinstance(getattr(payload, by_model(type(payload)).key_field), uuid.UUID)
