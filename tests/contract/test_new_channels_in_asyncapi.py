"""The channels SPEC 5.2 and 5.3 added are in the AsyncAPI documents the services serve: sent by their producer,
received by each service that consumes them, with the new payload fields and the event's own topic and ce_type."""

from __future__ import annotations

import pytest

from tests.support.documents import resolve, served

# Topic -> (ce_type, producer, consumers, fields of the payload the SPEC names)
NEW_CHANNELS = {
    "assessment.reassessment-due.v1": (
        "nl.schuldenlab.project.reassessment-due.v1", "assessment", {"catalogue", "notifications"},
        {"project_id", "assessment_id", "revision", "valid_until", "reason", "opened_at"}),
    "partnering.implementation-stage-changed.v1": (
        "nl.schuldenlab.project.implementation-stage-changed.v1", "partnering", {"catalogue", "notifications"},
        {"lab_id", "implementation_id", "project_id", "stage", "status", "reason", "changed_at"}),
    "partnering.impact-recorded.v1": (
        "nl.schuldenlab.project.impact-recorded.v1", "partnering", {"catalogue", "notifications"},
        {"lab_id", "implementation_id", "project_id", "municipalities", "period_start", "period_end",
         "households_stabilised", "median_days_to_stabilisation", "repeat_cases", "cost_eur", "benefit_eur",
         "recorded_at"}),
}
# Fields the additions gave to existing payloads, in the documents of the services that send or read them.
NEW_FIELDS = {"ProjectAssessed": {"evidence_level", "valid_until"},
              "CatalogueProject": {"rating", "adoption", "outcomes"}}


@pytest.fixture(scope="module")
async def documents(tmp_path_factory) -> dict[str, dict]:
    """Per service its AsyncAPI document."""
    found = {}
    for service, [response] in (await served(tmp_path_factory, "/asyncapi.json")).items():
        assert response.status_code == 200, response.text
        found[service] = response.json()
    return found


def _operations(document: dict) -> dict[str, set[str]]:
    """Per channel address, the actions (send, receive) the document declares on it."""
    found: dict[str, set[str]] = {}
    for operation in document["operations"].values():
        address = resolve(document, operation["channel"]["$ref"])["address"]
        found.setdefault(address, set()).add(operation["action"])
    return found


def _payload_of(document: dict, address: str) -> dict:
    [channel] = [c for c in document["channels"].values() if c["address"] == address]
    [entry] = channel["messages"].values()
    message = resolve(document, entry["$ref"]) if "$ref" in entry else entry
    payload = message["payload"]
    return resolve(document, payload.get("oneOf", [payload])[0]["$ref"])


@pytest.mark.parametrize("topic", sorted(NEW_CHANNELS))
def test_each_new_channel_is_sent_by_its_producer_and_received_by_its_consumers(documents, topic):
    ce_type, producer, consumers, fields = NEW_CHANNELS[topic]
    for service, document in documents.items():
        actions = _operations(document).get(topic, set())
        expected = {"send"} if service == producer else {"receive"} if service in consumers else set()
        assert actions == expected, f"{service}: {topic} is declared {actions or 'nowhere'}, expected {expected}"
        if actions:
            payload = _payload_of(document, topic)
            assert payload["x-ce-type"] == ce_type and payload["x-kafka-topic"] == topic
            assert fields <= set(payload["properties"]), fields - set(payload["properties"])


@pytest.mark.parametrize("model", sorted(NEW_FIELDS))
def test_the_new_optional_fields_of_existing_events_are_in_every_document_that_carries_them(documents, model):
    carried = 0
    for document in documents.values():
        schema = document["components"]["schemas"].get(model)
        if schema is None:
            continue
        carried += 1
        assert NEW_FIELDS[model] <= set(schema["properties"])
        assert not NEW_FIELDS[model] & set(schema.get("required", []))  # optional: v1 stays compatible
    assert carried >= 2  # its producer and at least one consumer
