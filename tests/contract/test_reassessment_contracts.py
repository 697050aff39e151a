"""SPEC 5.2 in the contracts: ReassessmentDue, ProjectAssessed's evidence level and validity, the feed's rating."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from pydantic import ValidationError

from schuldenlab_contracts.events import CatalogueProject, ProjectAssessed, ReassessmentDue
from schuldenlab_contracts.examples import example_payload
from schuldenlab_contracts.registry import EVENT_TYPES, by_model
from schuldenlab_contracts.schemas import SCHEMA_DIR, breaking_against

BASELINE = Path(__file__).resolve().parents[2] / "contracts" / "schemas" / "baseline" / "v1"
DUE = "nl.schuldenlab.project.reassessment-due.v1"


def test_reassessment_due_travels_as_the_spec_fixes_it():
    spec = by_model(ReassessmentDue)
    assert (spec.topic, spec.ce_type, spec.key_field, spec.source, spec.compacted) == (
        "assessment.reassessment-due.v1", DUE, "project_id", "assessment", False)


def test_the_published_schema_of_reassessment_due_accepts_its_example_and_refuses_another_reason():
    schema = json.loads((SCHEMA_DIR / f"{DUE}.json").read_text())
    example = example_payload(DUE).model_dump(mode="json")
    jsonschema.validate(example, schema)
    assert set(schema["required"]) >= {"project_id", "assessment_id", "revision", "valid_until", "reason",
                                       "opened_at"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**example, "reason": "boredom"}, schema)
    with pytest.raises(ValidationError):
        ReassessmentDue.model_validate({**example, "reason": "boredom"})


def test_the_new_fields_are_optional_so_v1_stays_compatible_with_its_baseline():
    assert breaking_against(BASELINE) == []
    old = example_payload("nl.schuldenlab.project.assessed.v1").model_dump(mode="json")
    del old["evidence_level"], old["valid_until"]
    assert ProjectAssessed.model_validate(old).evidence_level is None
    record = example_payload("nl.schuldenlab.catalogue.project.v1").model_dump(mode="json")
    assert record["rating"]["status"] == "current"
    del record["rating"]
    assert CatalogueProject.model_validate(record).rating is None


def test_the_published_schemas_carry_the_new_fields():
    assessed = json.loads((SCHEMA_DIR / "nl.schuldenlab.project.assessed.v1.json").read_text())
    assert {"evidence_level", "valid_until"} <= set(assessed["properties"])
    assert not {"evidence_level", "valid_until"} & set(assessed.get("required", []))
    feed = json.loads((SCHEMA_DIR / "nl.schuldenlab.catalogue.project.v1.json").read_text())
    assert "rating" in feed["properties"] and "rating" not in feed.get("required", [])


def test_integrators_can_subscribe_to_reassessment_due():
    from notifications.entrypoints.messages import HANDLERS

    assert DUE in EVENT_TYPES and DUE in HANDLERS  # notifications accepts and fans out every registered type
