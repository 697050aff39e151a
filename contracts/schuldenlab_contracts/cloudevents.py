"""CloudEvents 1.0 envelope, its Kafka binary mode and webhook JSON (SPEC §3), checked when read."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from .registry import EventSpec, UnknownEventType, by_model, by_type

__all__ = [
    "CloudEvent",
    "ContractViolation",
    "KafkaRecord",
    "data_text",
    "from_kafka_record",
    "from_structured_json",
    "kafka_headers",
    "new_event",
    "parse_payload",
    "to_kafka_record",
    "to_structured_json",
    "tombstone",
    "trace_context",
]

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
# The CloudEvents attributes every event must carry, in the order they are written; in binary mode
# each travels as the Kafka header "ce_" + its name, in structured mode as a member of the JSON body.
REQUIRED_ATTRIBUTES = ("specversion", "id", "source", "type", "time", "subject")
REQUIRED_HEADERS = tuple(f"ce_{name}" for name in REQUIRED_ATTRIBUTES)
# The CloudEvents distributed-tracing extension: the W3C trace context of the work that produced the event, as
# `ce_traceparent` / `ce_tracestate` headers in binary mode and `traceparent` / `tracestate` members in JSON.
TRACE_ATTRIBUTES = ("traceparent", "tracestate")
# W3C Trace Context, version 00 (a later version may add fields after these, which a reader ignores).
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_TRACESTATE_MAX = 512  # W3C: a vendor may drop a longer one; we never pass on more


class ContractViolation(ValueError):
    """A record or payload does not satisfy its contract; `field` names where, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class CloudEvent:
    """One CloudEvent; `data` None is a tombstone (the aggregate left a compacted topic)."""

    id: str
    source: str
    type: str
    subject: str
    time: datetime
    data: dict[str, Any] | None
    # Optional, and never a reason to refuse an event: a malformed one is left out (W3C: start a new trace).
    traceparent: str | None = None
    tracestate: str | None = None

    specversion: ClassVar[str] = SPECVERSION
    datacontenttype: ClassVar[str] = CONTENT_TYPE

    def __post_init__(self) -> None:
        # A naive time cannot be written as RFC 3339 UTC without guessing the zone.
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError("CloudEvent.time must be timezone-aware")

    @property
    def is_tombstone(self) -> bool:
        return self.data is None

    def trace_attributes(self) -> dict[str, str]:
        """The tracing extension's attributes that are set, by name."""
        return {name: value for name in TRACE_ATTRIBUTES if (value := getattr(self, name)) is not None}


def trace_context(traceparent: str | None, tracestate: str | None) -> tuple[str | None, str | None]:
    """The two attributes as a reader keeps them: a valid traceparent (its tracestate with it), else neither."""
    match = _TRACEPARENT.fullmatch(traceparent or "")
    if (match is None or match[1] == "ff" or (match[1] == "00" and match[5]) or set(match[2]) == {"0"}
            or set(match[3]) == {"0"}):
        return None, None
    state = tracestate if tracestate and len(tracestate) <= _TRACESTATE_MAX and tracestate.isprintable() else None
    return traceparent, state


@dataclass(frozen=True)
class KafkaRecord:
    """A Kafka record as producers send it and consumers receive it."""

    topic: str
    key: bytes
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]


def _event_id(id: str | uuid.UUID | None) -> str:
    if id is None:
        return str(uuid.uuid4())
    # ce_id is a UUID by contract; normalising here keeps re-publications byte-identical.
    try:
        return str(id if isinstance(id, uuid.UUID) else uuid.UUID(id))
    except ValueError:
        raise ValueError(f"event id must be a UUID, got {id!r}") from None


def _event_time(time: datetime | None) -> datetime:
    return datetime.now(UTC) if time is None else time


def new_event(
    payload: BaseModel, *, id: str | uuid.UUID | None = None, time: datetime | None = None
) -> CloudEvent:
    """Wrap a contract payload in a CloudEvent; pass `id` to re-publish an event unchanged."""
    spec = by_model(type(payload))
    return CloudEvent(
        id=_event_id(id),
        source=spec.ce_source,
        type=spec.ce_type,
        subject=str(getattr(payload, spec.key_field)),
        time=_event_time(time),
        data=payload.model_dump(mode="json"),
    )


def tombstone(
    spec: EventSpec,
    subject: str,
    *,
    id: str | uuid.UUID | None = None,
    time: datetime | None = None,
) -> CloudEvent:
    """A null-data event that removes `subject` from a compacted topic."""
    if not spec.compacted:
        # On a non-compacted topic a null value deletes nothing; it would only confuse consumers.
        raise ValueError(f"{spec.topic} is not compacted; tombstones belong on compacted topics")
    if not subject.strip():
        raise ValueError("tombstone subject must not be blank")
    return CloudEvent(
        id=_event_id(id),
        source=spec.ce_source,
        type=spec.ce_type,
        subject=subject,
        time=_event_time(time),
        data=None,
    )


def _rfc3339_utc(time: datetime) -> str:
    return time.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def data_text(event: CloudEvent) -> str | None:
    """The event's data as the compact JSON text its Kafka record carries; None for a tombstone."""
    return None if event.data is None else _compact_json(event.data).decode("utf-8")


def kafka_headers(
    id: str,
    source: str,
    type: str,
    time: datetime,
    subject: str,
    traceparent: str | None = None,
    tracestate: str | None = None,
) -> tuple[tuple[str, bytes], ...]:
    """The binary-mode record's headers for these attributes: to_kafka_record's, and the outbox relay's, which
    has them as plain values and so need not build a CloudEvent per row."""
    headers = (
        ("ce_specversion", SPECVERSION.encode()),
        ("ce_id", id.encode()),
        ("ce_source", source.encode()),
        ("ce_type", type.encode()),
        ("ce_time", _rfc3339_utc(time).encode()),
        ("ce_subject", subject.encode()),
        ("content-type", CONTENT_TYPE.encode()),
    )
    # The tracing extension's attributes that are set, in TRACE_ATTRIBUTES' order (CloudEvent.trace_attributes).
    if traceparent is not None:
        headers += (("ce_traceparent", traceparent.encode()),)
    if tracestate is not None:
        headers += (("ce_tracestate", tracestate.encode()),)
    return headers


def to_kafka_record(event: CloudEvent) -> KafkaRecord:
    """The binary-mode record: value is the JSON data, CloudEvents attributes go in headers."""
    spec = by_type(event.type)
    return KafkaRecord(
        topic=spec.topic,
        key=event.subject.encode("utf-8"),
        value=None if event.data is None else _compact_json(event.data),
        headers=kafka_headers(event.id, event.source, event.type, event.time, event.subject,
                              event.traceparent, event.tracestate),
    )


def _header_text(name: str, raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise ContractViolation(name, "header value is not valid UTF-8") from None


def _header_map(
    headers: Sequence[tuple[str, bytes | str | None]] | Mapping[str, bytes | str | None],
) -> dict[str, str]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    found: dict[str, str] = {}
    for name, raw in pairs:
        text = _header_text(name, raw)
        # Kafka allows repeated header names; two different values for one attribute are ambiguous.
        if name in found and found[name] != text:
            raise ContractViolation(name, "header appears more than once with different values")
        found[name] = text
    return found


def _parse_time(text: str, field: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ContractViolation(field, f"not an RFC 3339 timestamp: {text!r}") from None
    if parsed.tzinfo is None:
        raise ContractViolation(field, f"timestamp has no UTC offset: {text!r}")
    return parsed.astimezone(UTC)


def _checked_envelope(
    attrs: Mapping[str, str], *, prefix: str, what: str, topic: str | None = None
) -> EventSpec:
    """The envelope checks both content modes share; an attribute is named `prefix` + its name.

    `topic` is the record's topic in binary mode; structured mode has none to check.
    """
    for name in REQUIRED_ATTRIBUTES:
        field = prefix + name
        if field not in attrs:
            raise ContractViolation(field, f"required {what} is missing")
        if not attrs[field].strip():
            raise ContractViolation(field, f"required {what} is blank")

    specversion = attrs[prefix + "specversion"]
    if specversion != SPECVERSION:
        raise ContractViolation(
            prefix + "specversion", f"expected {SPECVERSION!r}, got {specversion!r}"
        )
    try:
        uuid.UUID(attrs[prefix + "id"])
    except ValueError:
        raise ContractViolation(prefix + "id", f"not a UUID: {attrs[prefix + 'id']!r}") from None

    ce_type = attrs[prefix + "type"]
    try:
        spec = by_type(ce_type)
    except UnknownEventType as exc:
        raise ContractViolation(prefix + "type", str(exc)) from None
    if topic is not None and spec.topic != topic:
        raise ContractViolation(
            prefix + "type", f"{ce_type!r} belongs on topic {spec.topic!r}, not on {topic!r}"
        )
    # The producer is part of the envelope (SPEC §3: ce_source is the producing service), so it is
    # checked here, beside the type-on-its-topic check, rather than in the platform's runtime: every
    # reader of these contracts, an integrator's as much as a service's, then refuses an event that
    # claims another origin, and the rule lives where the registry that names each producer lives.
    # The header is no credential (whoever may write a topic may write any ce_source); the broker's
    # ACLs decide who writes. This is the second line: it catches a hand-made or misrouted record.
    source = attrs[prefix + "source"]
    if source != spec.ce_source:
        raise ContractViolation(
            prefix + "source",
            f"expected {spec.ce_source!r} (the producer of {ce_type!r}), got {source!r}",
        )
    return spec


def _check_media_type(field: str, content_type: str | None) -> None:
    # Parameters such as "; charset=utf-8" are allowed; the media type itself must be JSON.
    if content_type is not None and content_type.split(";")[0].strip().lower() != CONTENT_TYPE:
        raise ContractViolation(field, f"expected {CONTENT_TYPE!r}, got {content_type!r}")


def from_kafka_record(
    *,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]] | Mapping[str, bytes | str],
) -> CloudEvent:
    """Read a binary-mode record back into a CloudEvent; ContractViolation if it breaks the contract.

    The payload itself is not validated here; call parse_payload for that.
    """
    attrs = _header_map(headers)
    spec = _checked_envelope(attrs, prefix="ce_", what="header", topic=topic)
    _check_media_type("content-type", attrs.get("content-type"))

    subject = attrs["ce_subject"]
    if key is None:
        raise ContractViolation("key", "record key is missing; it must be the aggregate id")
    if _header_text("key", key) != subject:
        raise ContractViolation("key", f"record key {key!r} differs from ce_subject {subject!r}")

    traceparent, tracestate = trace_context(attrs.get("ce_traceparent"), attrs.get("ce_tracestate"))
    return CloudEvent(
        id=attrs["ce_id"],
        source=attrs["ce_source"],
        type=spec.ce_type,
        subject=subject,
        time=_parse_time(attrs["ce_time"], "ce_time"),
        data=_parse_value(spec, value),
        traceparent=traceparent,
        tracestate=tracestate,
    )


def from_structured_json(body: bytes | str) -> CloudEvent:
    """Read a webhook body (CloudEvents structured JSON) into a CloudEvent; ContractViolation if not.

    The envelope is checked as from_kafka_record checks a record, each attribute named as the body
    names it (`id`, `type`, `source`, ...); `data` must be a JSON object, or null (a tombstone) on a
    compacted type. Attributes this version does not know (CloudEvents extensions) are ignored.
    The payload itself is not validated here; call parse_payload for that.
    """
    try:
        document = json.loads(body)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both derive from it
        raise ContractViolation("body", f"not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise ContractViolation("body", f"expected a JSON object, got {type(document).__name__}")
    attrs: dict[str, str] = {}
    for name in (*REQUIRED_ATTRIBUTES, "datacontenttype"):
        value = document.get(name)
        if value is None:
            continue  # absent, or null: the required ones are reported as missing just below
        if not isinstance(value, str):
            raise ContractViolation(name, f"expected a string, got {type(value).__name__}")
        attrs[name] = value
    spec = _checked_envelope(attrs, prefix="", what="attribute")
    _check_media_type("datacontenttype", attrs.get("datacontenttype"))
    if "data_base64" in document:
        raise ContractViolation(
            "data_base64", "binary data is not part of the contract; the payload is JSON in data"
        )
    trace = [document.get(name) for name in TRACE_ATTRIBUTES]
    traceparent, tracestate = trace_context(*(value if isinstance(value, str) else None for value in trace))
    return CloudEvent(
        id=attrs["id"],
        source=attrs["source"],
        type=spec.ce_type,
        subject=attrs["subject"],
        time=_parse_time(attrs["time"], "time"),
        # CloudEvents lets an event without data leave the member out; both mean a tombstone here.
        data=_checked_data(spec, document.get("data"), "data"),
        traceparent=traceparent,
        tracestate=tracestate,
    )


def _parse_value(spec: EventSpec, value: bytes | None) -> dict[str, Any] | None:
    if value is None:
        return _checked_data(spec, None, "value")
    try:
        data = json.loads(value)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both derive from it
        raise ContractViolation("value", f"not valid JSON: {exc}") from None
    return _checked_data(spec, data, "value")


def _checked_data(spec: EventSpec, data: Any, field: str) -> dict[str, Any] | None:
    if data is None:
        if spec.compacted:
            return None
        raise ContractViolation(field, f"null {field} (tombstone) on non-compacted {spec.topic}")
    if not isinstance(data, dict):
        raise ContractViolation(field, f"expected a JSON object, got {type(data).__name__}")
    return data


def _loc(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(payload)"


def parse_payload(event: CloudEvent) -> BaseModel:
    """Validate the event's data against its contract model, ignoring fields this version lacks.

    Tolerant reader: a newer producer may add fields (at any depth); they are dropped, not refused.
    """
    try:
        spec = by_type(event.type)
    except UnknownEventType as exc:
        raise ContractViolation("ce_type", str(exc)) from None
    if event.data is None:
        raise ContractViolation("data", "tombstone has no payload; check event.is_tombstone first")
    try:
        # The per-call override reaches nested models too, which a relaxed subclass would not:
        # the nested models keep their own extra="forbid" config.
        payload = spec.model.model_validate(event.data, extra="ignore")
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ContractViolation(_loc(first["loc"]), f"{first['msg']}{more}") from None
    key = str(getattr(payload, spec.key_field))
    if key != event.subject:
        raise ContractViolation(
            spec.key_field,
            f"payload {spec.key_field} {key!r} differs from ce_subject {event.subject!r}",
        )
    return payload


def to_structured_json(event: CloudEvent) -> bytes:
    """The event in CloudEvents structured JSON mode (application/cloudevents+json), for webhooks."""
    return _compact_json(
        {
            "specversion": event.specversion,
            "id": event.id,
            "source": event.source,
            "type": event.type,
            "subject": event.subject,
            "time": _rfc3339_utc(event.time),
            "datacontenttype": event.datacontenttype,
            **event.trace_attributes(),
            "data": event.data,
        }
    )
