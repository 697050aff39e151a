"""Each service's AsyncAPI document describes what its records carry, and its page stands on its own."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from html.parser import HTMLParser

import httpx
import jsonschema
import pytest

from schuldenlab.services import SERVICES, load_definition
from schuldenlab_contracts import EVENTS, by_topic
from schuldenlab_contracts.cloudevents import to_kafka_record
from schuldenlab_contracts.examples import example_event
from schuldenlab_contracts.schemas import SCHEMA_DIR, record_headers_schema
from servicekit.asyncapi import DEAD_LETTER_HEADERS
from servicekit.consumer import (
    DeadLetter,
    EventConsumer,
    Outcome,
    ReceivedRecord,
    dead_letter_topic,
    retry_topic,
    topics_for,
)
from tests.support import documents

# AsyncAPI 3.0: "keys [of the components' maps] MUST match the regular expression ^[a-zA-Z0-9\.\-_]+$".
COMPONENT_KEY = re.compile(r"^[a-zA-Z0-9.\-_]+$")


@pytest.fixture(scope="module")
async def served(tmp_path_factory) -> dict[str, tuple[dict, httpx.Response]]:
    """Per service: its AsyncAPI document and its page."""
    answers = await documents.served(tmp_path_factory, "/asyncapi.json", "/asyncapi")
    return {service: (document.json(), page) for service, [document, page] in answers.items()}


def _messages(document: dict, channel: dict) -> list[dict]:
    return [documents.resolve(document, entry["$ref"]) if "$ref" in entry else entry
            for entry in channel["messages"].values()]


def _addresses(document: dict, action: str) -> set[str]:
    return {documents.resolve(document, op["channel"]["$ref"])["address"]
            for op in document["operations"].values() if op["action"] == action}


@pytest.mark.parametrize("service", SERVICES)
def test_the_document_has_a_channel_for_every_topic_the_service_writes_and_reads(served, service):
    document, _ = served[service]
    written = {spec.topic for spec in EVENTS if spec.source == service} | {dead_letter_topic(service)}
    assert _addresses(document, "send") == written
    # Beside the topics of the events it handles, its own retry topic (the replayed dead letters).
    assert _addresses(document, "receive") == {*topics_for(load_definition(service).handlers), retry_topic(service)}
    for operation in document["operations"].values():
        if operation["action"] == "receive":
            assert operation["bindings"]["kafka"]["groupId"]["const"] == service


@pytest.mark.parametrize("service", SERVICES)
def test_every_event_message_documents_its_headers_key_payload_and_an_example_record(served, service):
    document, _ = served[service]
    for channel in document["channels"].values():
        if channel["address"] in (dead_letter_topic(service), retry_topic(service)):
            continue
        spec = by_topic(channel["address"])
        published = json.loads((SCHEMA_DIR / f"{spec.ce_type}.json").read_text(encoding="utf-8"))
        [message] = _messages(document, channel)
        assert message["name"] == spec.name and "correlationId" not in message
        headers = message["headers"]
        assert headers["required"] == record_headers_schema(spec)["required"]
        assert headers["properties"]["ce_type"]["const"] == spec.ce_type
        assert message["bindings"]["kafka"]["key"]["format"] == "uuid"
        payload_ref = message["payload"]["oneOf"][0] if spec.compacted else message["payload"]
        assert documents.resolve(document, payload_ref["$ref"])["x-ce-type"] == spec.ce_type

        example = message["examples"][0]
        record = to_kafka_record(example_event(spec.ce_type))
        assert example["headers"] == {name: value.decode() for name, value in record.headers}
        jsonschema.Draft202012Validator(headers).validate(example["headers"])
        jsonschema.Draft202012Validator(published).validate(example["payload"])
        assert record.key.decode() in example["summary"]
        if spec.compacted:
            assert message["examples"][1]["payload"] is None  # the tombstone


@pytest.mark.parametrize("service", SERVICES)
def test_component_keys_are_ones_asyncapi_allows_and_every_ref_resolves(served, service):
    document, _ = served[service]
    for kind in ("messages", "schemas"):
        assert all(COMPONENT_KEY.match(key) for key in document["components"][kind]), kind
    assert "EmptyPayload" not in document["components"]["schemas"]  # FastStream's, for the raw consumer

    def refs(node):
        if isinstance(node, dict):
            yield from ([node["$ref"]] if isinstance(node.get("$ref"), str) else [])
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    for ref in refs(document):
        documents.resolve(document, ref)  # a dangling reference raises KeyError


async def test_the_dead_letter_message_documents_exactly_the_headers_the_consumer_adds(served):
    letters: list[DeadLetter] = []

    async def sink(letter: DeadLetter) -> None:
        letters.append(letter)

    class NoPool:
        def acquire(self):
            raise AssertionError("a record that breaks its contract needs no database")

    original = (("ce_specversion", b"1.0"),)
    consumer = EventConsumer(service="assessment", pool=NoPool(), uow_factory=lambda conn: None,
                             handlers={"nl.schuldenlab.project.submitted.v1": None}, dead_letter=sink)
    record = ReceivedRecord(topic="catalogue.project-submitted.v1", partition=0, offset=1, key=b"k",
                            value=b"{}", headers=original)
    assert await consumer.handle(record) is Outcome.DEAD_LETTERED
    [letter] = letters
    assert set(letter.headers) - {name for name, _ in original} == set(DEAD_LETTER_HEADERS)

    document, _ = served["assessment"]
    [channel] = [ch for ch in document["channels"].values() if ch["address"] == "assessment.dlq.v1"]
    [message] = _messages(document, channel)
    assert set(message["headers"]["properties"]) == set(DEAD_LETTER_HEADERS)
    jsonschema.Draft202012Validator(message["headers"]).validate(letter.headers)
    jsonschema.Draft202012Validator(message["headers"]).validate(message["examples"][0]["headers"])


class _Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.style += data


@pytest.mark.parametrize("service", SERVICES)
def test_the_page_runs_no_script_and_loads_nothing_from_another_host(served, service):
    _, page = served[service]
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    elements = _Elements()
    elements.feed(page.text)
    names = {tag for tag, _ in elements.tags}
    assert not names & {"script", "link", "img", "iframe", "object", "embed", "form", "base"}
    for tag, attrs in elements.tags:
        for name, value in attrs.items():
            if name in ("href", "src", "action", "srcset", "style"):
                assert value is not None and not re.match(r"\s*(https?:)?//", value), (tag, name, value)
                assert value.startswith("#") or value == "asyncapi.json", (tag, name, value)
    assert "url(" not in elements.style and "@import" not in elements.style
    # The policy forbids everything but the page's own style, named by its hash: what loads is exactly that.
    policy = page.headers["content-security-policy"]
    style_hash = base64.b64encode(hashlib.sha256(elements.style.encode()).digest()).decode()
    assert "default-src 'none'" in policy and f"style-src 'sha256-{style_hash}'" in policy


@pytest.mark.parametrize("service", SERVICES)
def test_the_page_lists_every_channel_with_its_messages_headers_and_schemas(served, service):
    document, page = served[service]
    elements = _Elements()
    elements.feed(page.text)
    ids = {attrs.get("id") for _, attrs in elements.tags}
    for key, channel in document["channels"].items():
        assert f"channel-{key}" in ids and f"<code>{channel['address']}</code>" in page.text
        for message in _messages(document, channel):
            assert f"Message {message['name']}" in page.text
            for header in message["headers"]["properties"]:
                assert f"<code>{header}</code>" in page.text
    for name in document["components"]["schemas"]:
        assert f"schema-{name}" in ids
