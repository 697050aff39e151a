"""A service's AsyncAPI 3.0 document: FastStream's, completed with what the records really carry.

FastStream 0.7 writes channels, operations and a payload schema per publisher, but its message
objects have no headers, no Kafka key binding and no examples (its own message model lists them as
to do), and a subscriber that reads the raw record is documented with an empty payload. So
FastStream generates the document and this module completes it, the one place that does, from the
contracts: for every channel that carries a v1 event, the event's published JSON Schema as payload,
the CloudEvents headers, the record key and an example record; for the dead-letter topic, what the
consumer writes there; for the retry topic, what `schuldenlab dlq replay` writes there. Channels of any
other kind are left as FastStream wrote them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI

from schuldenlab_contracts.cloudevents import (
    ContractViolation,
    KafkaRecord,
    from_kafka_record,
    parse_payload,
    to_kafka_record,
)
from schuldenlab_contracts.examples import example_event, example_tombstone
from schuldenlab_contracts.registry import EVENTS, EventSpec, UnknownEventType, by_topic
from schuldenlab_contracts.schemas import generated_schemas, record_headers_schema, record_key_schema
from servicekit.consumer import REPLAY_OF, dead_letter_topic, retry_topic

__all__ = ["DEAD_LETTER_HEADERS", "REPLAYED_HEADERS", "asyncapi_document", "complete"]

KAFKA_BINDING_VERSION = "0.4.0"  # the version FastStream writes on the channels' bindings
_SCHEMAS = "#/components/schemas/"
_MESSAGES = "#/components/messages/"
# AsyncAPI 3.0 allows only these characters in a component's key; FastStream's keys contain colons.
_NOT_IN_COMPONENT_KEY = re.compile(r"[^A-Za-z0-9._-]")

# What servicekit.consumer adds to a dead letter besides the original headers; a test holds the two
# together, so a header added there and not here fails.
DEAD_LETTER_HEADERS: dict[str, str] = {
    "dlq_error": "Why the record could not be processed: the error's type and message (at most "
    "4,000 characters).",
    "dlq_error_type": "The error's type, e.g. ContractViolation.",
    "dlq_error_field": "For a record that broke its contract: the header, key or payload field at "
    "fault. Absent for other errors.",
    "dlq_original_topic": "Topic the record was read from.",
    "dlq_original_partition": "Partition it was read from.",
    "dlq_original_offset": "Its offset there.",
    "dlq_consumer_group": "The consumer group (the service) that gave up on it.",
    "dlq_attempts": "How often the handler was tried; 0 when the record broke its contract.",
    "dlq_failed_at": "When it was dead-lettered, RFC 3339 in UTC.",
}

# What `schuldenlab dlq replay` adds to a replayed dead letter besides the original headers.
REPLAYED_HEADERS: dict[str, str] = {
    "dlq_original_topic": "Topic the record was first read from: the consumer handles the record as one "
    "of that topic (its contract, the inbox, the feed's newest state per key).",
    "dlq_original_partition": "Partition it was first read from.",
    "dlq_original_offset": "Its offset there.",
    REPLAY_OF: "The dead letter this record replays, as topic[partition]@offset; a dead letter is replayed "
    "once.",
}


def asyncapi_document(
    broker: KafkaBroker, *, service: str, title: str, version: str, description: str
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of one service's broker, as JSON-ready data."""
    generated = AsyncAPI(broker, title=title, version=version, description=description,
                         schema_version="3.0.0").to_specification().to_jsonable()
    return complete(generated, service)


def complete(document: dict[str, Any], service: str) -> dict[str, Any]:
    """Fill in, in place, what FastStream could not declare (see the module doc); returns `document`."""
    _rename_components(document)
    components = document.setdefault("components", {})
    messages = components.setdefault("messages", {})
    schemas = components.setdefault("schemas", {})
    published = generated_schemas()
    consumed = [channel["address"] for channel in _channels_of(document, "receive")
                if channel["address"] != retry_topic(service)]

    for channel in document.get("channels", {}).values():
        address = channel.get("address", "")
        if address == dead_letter_topic(service):
            completed = _dead_letter_message(service, consumed)
        elif address == retry_topic(service):
            completed = _replayed_message(service)
        else:
            try:
                spec = by_topic(address)
            except UnknownEventType:
                continue
            completed = _event_message(spec)
            schemas.update(_component_schemas(published[spec.ce_type]))
        for message in _messages_of(channel, messages):
            # FastStream points correlationId at its own header; events are correlated by ce_id.
            message.pop("correlationId", None)
            message.update(completed)

    for operation in document.get("operations", {}).values():
        if operation.get("action") == "receive":
            # Offsets are committed per consumer group, so the group is part of how a service reads.
            operation["bindings"] = {"kafka": {"groupId": {"type": "string", "const": service},
                                               "bindingVersion": KAFKA_BINDING_VERSION}}
    _drop_unreferenced_schemas(document)
    return document


def _channels_of(document: dict[str, Any], action: str) -> Iterator[dict[str, Any]]:
    channels = document.get("channels", {})
    for operation in document.get("operations", {}).values():
        name = operation.get("channel", {}).get("$ref", "").rsplit("/", 1)[-1]
        if operation.get("action") == action and name in channels:
            yield channels[name]


def _messages_of(channel: dict[str, Any], messages: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for entry in channel.get("messages", {}).values():
        name = entry.get("$ref", "").removeprefix(_MESSAGES)
        yield messages.get(name, entry)


def _event_message(spec: EventSpec) -> dict[str, Any]:
    # The relay sends events with the broker's aiokafka producer (servicekit.broker.Publishers), so they carry
    # the contract's headers only: none of FastStream's (correlation_id).
    headers = record_headers_schema(spec)
    payload: dict[str, Any] = {"$ref": _SCHEMAS + spec.name}
    examples = [_example(spec.name, "A record as its producer writes it",
                         to_kafka_record(example_event(spec.ce_type)))]
    if spec.compacted:
        payload = {"oneOf": [payload, {"type": "null", "description": "A tombstone: the aggregate the "
                                       "key names has left the topic."}]}
        examples.append(_example("tombstone", "The null value that removes its key from the topic",
                                 to_kafka_record(example_tombstone(spec.ce_type))))
    return {
        "name": spec.name,
        "title": f"{spec.name} ({spec.ce_type})",
        "summary": (spec.model.__doc__ or spec.name).strip().splitlines()[0],
        "description": "CloudEvents 1.0 in binary mode: the value is the JSON payload, the event's "
        f"attributes are ce_* headers, the key is its {spec.key_field}. Published by {spec.source}. "
        "Readers ignore payload fields they do not know (tolerant reader).",
        "contentType": "application/json",
        "headers": headers,
        "payload": payload,
        "bindings": {"kafka": {"key": record_key_schema(spec), "bindingVersion": KAFKA_BINDING_VERSION}},
        "examples": examples,
    }


def _dead_letter_message(service: str, consumed: list[str]) -> dict[str, Any]:
    headers = {
        "type": "object",
        "description": "The dlq_* headers, and every header of the original record (its ce_* "
        "headers among them), unchanged.",
        "properties": {name: {"type": "string", "description": text}
                       for name, text in DEAD_LETTER_HEADERS.items()},
        "required": [name for name in DEAD_LETTER_HEADERS if name != "dlq_error_field"],
        "additionalProperties": True,
    }
    return {
        "name": "DeadLetter",
        "title": f"A record {service} could not process",
        "summary": "The original record unchanged, with dlq_* headers saying why it was given up.",
        "description": "A record that breaks its contract comes here at once; one whose handler "
        "keeps failing, after SCHULDENLAB_CONSUMER_MAX_ATTEMPTS attempts. The consumer then moves "
        "on. The command schuldenlab dlq lists and replays dead letters.",
        "contentType": "application/octet-stream",
        "headers": headers,
        "payload": {"description": "The original record's value, byte for byte: usually the "
                    "event's JSON, null for a tombstone, anything at all when it broke its contract."},
        "bindings": {"kafka": {"key": {"type": ["string", "null"],
                                       "description": "The original record's key, unchanged."},
                               "bindingVersion": KAFKA_BINDING_VERSION}},
        "examples": [_dead_letter_example(service, consumed)],
    }


def _replayed_message(service: str) -> dict[str, Any]:
    return {
        "name": "ReplayedDeadLetter",
        "title": f"A dead letter of {service}, replayed to it alone",
        "summary": "A dead letter sent back by the operator once its cause is fixed.",
        "description": f"Written only by the operator's schuldenlab dlq replay {service} (no service may "
        f"write it) and read only by {service}: the other services never see a replayed record. The "
        "original record's key, value and headers, with the dlq_* headers below in place of the dead "
        "letter's.",
        "contentType": "application/octet-stream",
        "headers": {
            "type": "object",
            "description": "The headers below, and every header of the original record (its ce_* headers "
            "among them), unchanged.",
            "properties": {name: {"type": "string", "description": text} for name, text in REPLAYED_HEADERS.items()},
            "required": list(REPLAYED_HEADERS),
            "additionalProperties": True,
        },
        "payload": {"description": "The original record's value, byte for byte."},
        "bindings": {"kafka": {"key": {"type": ["string", "null"], "description": "The original record's key."},
                               "bindingVersion": KAFKA_BINDING_VERSION}},
    }


def _dead_letter_example(service: str, consumed: list[str]) -> dict[str, Any]:
    spec = by_topic(consumed[0]) if consumed else EVENTS[0]
    record = to_kafka_record(example_event(spec.ce_type))
    # A payload without its key field: the error text is the one the contracts really give for it.
    data = json.loads(record.value or b"{}")
    del data[spec.key_field]
    broken = KafkaRecord(record.topic, record.key, json.dumps(data).encode(), record.headers)
    try:
        parse_payload(from_kafka_record(topic=broken.topic, key=broken.key, value=broken.value,
                                        headers=broken.headers))
    except ContractViolation as exc:
        error = exc
    else:
        raise AssertionError("the dead-letter example must break its contract")
    example = _example("ContractViolation", "A record whose payload lacks its key field", broken)
    example["headers"].update({
        "dlq_error": f"ContractViolation: {error}",
        "dlq_error_type": "ContractViolation",
        "dlq_error_field": error.field,
        "dlq_original_topic": spec.topic,
        "dlq_original_partition": "0",
        "dlq_original_offset": "41",
        "dlq_consumer_group": service,
        "dlq_attempts": "0",
        "dlq_failed_at": "2026-05-11T15:00:02Z",
    })
    return example


def _example(name: str, summary: str, record: KafkaRecord) -> dict[str, Any]:
    return {
        "name": name,
        # A message example has no field for the key (nor, in the 3.0 JSON Schema, extensions).
        "summary": f"{summary}; key {record.key.decode()}",
        "headers": {header: value.decode() for header, value in record.headers},
        "payload": None if record.value is None else json.loads(record.value),
    }


def _component_schemas(published: dict[str, Any]) -> dict[str, Any]:
    """The published schema of an event as components: its $defs beside it, their refs rebased."""
    # Its $id would make every $ref below it resolve against the schema's own address, not this document.
    schema = {k: v for k, v in published.items() if k not in ("$schema", "$id", "$defs")}
    return _with_refs({published["title"]: schema, **published.get("$defs", {})},
                      lambda ref: ref.replace("#/$defs/", _SCHEMAS))


def _with_refs(node: Any, change: Callable[[str], str]) -> Any:
    """A copy of `node` with every $ref changed by `change`."""
    if isinstance(node, dict):
        return {key: (change(value) if key == "$ref" and isinstance(value, str)
                      else _with_refs(value, change)) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_refs(item, change) for item in node]
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _rename_components(document: dict[str, Any]) -> None:
    """Give messages and schemas keys AsyncAPI allows (":" becomes "."), and follow every $ref."""
    renamed: dict[str, str] = {}
    for kind in ("messages", "schemas"):
        found = document.get("components", {}).get(kind, {})
        prefix = f"#/components/{kind}/"
        for key in list(found):
            valid = _NOT_IN_COMPONENT_KEY.sub(".", key)
            if valid != key:
                found[valid] = found.pop(key)
                renamed[prefix + key] = prefix + valid
    if renamed:
        document.update(_with_refs(dict(document), lambda ref: renamed.get(ref, ref)))


def _drop_unreferenced_schemas(document: dict[str, Any]) -> None:
    """Remove the schemas nothing refers to any more (FastStream's empty payloads, for one)."""
    schemas = document["components"]["schemas"]
    outside = {k: v for k, v in document.items() if k != "components"}
    outside["messages"] = document["components"].get("messages", {})
    pending = [ref.removeprefix(_SCHEMAS) for ref in _refs(outside) if ref.startswith(_SCHEMAS)]
    kept: set[str] = set()
    while pending:
        name = pending.pop()
        if name in kept or name not in schemas:
            continue
        kept.add(name)
        pending += [ref.removeprefix(_SCHEMAS) for ref in _refs(schemas[name]) if ref.startswith(_SCHEMAS)]
    for name in set(schemas) - kept:
        del schemas[name]
