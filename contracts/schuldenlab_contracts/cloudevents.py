"""CloudEvents 1.0 envelope and its Kafka binary-mode mapping (SPEC §3), checked on the way in."""

from __future__ import annotations

import json
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
    "from_kafka_record",
    "new_event",
    "parse_payload",
    "to_kafka_record",
    "to_structured_json",
    "tombstone",
]

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
# The CloudEvents attributes every record must carry, in the order they are written.
REQUIRED_HEADERS = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject")


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

    specversion: ClassVar[str] = SPECVERSION
    datacontenttype: ClassVar[str] = CONTENT_TYPE

    def __post_init__(self) -> None:
        # A naive time cannot be written as RFC 3339 UTC without guessing the zone.
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError("CloudEvent.time must be timezone-aware")

    @property
    def is_tombstone(self) -> bool:
        return self.data is None


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


def to_kafka_record(event: CloudEvent) -> KafkaRecord:
    """The binary-mode record: value is the JSON data, CloudEvents attributes go in headers."""
    spec = by_type(event.type)
    headers = (
        ("ce_specversion", SPECVERSION.encode()),
        ("ce_id", event.id.encode()),
        ("ce_source", event.source.encode()),
        ("ce_type", event.type.encode()),
        ("ce_time", _rfc3339_utc(event.time).encode()),
        ("ce_subject", event.subject.encode()),
        ("content-type", CONTENT_TYPE.encode()),
    )
    return KafkaRecord(
        topic=spec.topic,
        key=event.subject.encode("utf-8"),
        value=None if event.data is None else _compact_json(event.data),
        headers=headers,
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


def _parse_time(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ContractViolation("ce_time", f"not an RFC 3339 timestamp: {text!r}") from None
    if parsed.tzinfo is None:
        raise ContractViolation("ce_time", f"timestamp has no UTC offset: {text!r}")
    return parsed.astimezone(UTC)


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
    for name in REQUIRED_HEADERS:
        if name not in attrs:
            raise ContractViolation(name, "required header is missing")
        if not attrs[name].strip():
            raise ContractViolation(name, "required header is blank")

    if attrs["ce_specversion"] != SPECVERSION:
        raise ContractViolation(
            "ce_specversion", f"expected {SPECVERSION!r}, got {attrs['ce_specversion']!r}"
        )
    try:
        uuid.UUID(attrs["ce_id"])
    except ValueError:
        raise ContractViolation("ce_id", f"not a UUID: {attrs['ce_id']!r}") from None

    ce_type = attrs["ce_type"]
    try:
        spec = by_type(ce_type)
    except UnknownEventType as exc:
        raise ContractViolation("ce_type", str(exc)) from None
    if spec.topic != topic:
        raise ContractViolation(
            "ce_type", f"{ce_type!r} belongs on topic {spec.topic!r}, not on {topic!r}"
        )
    # The producer is part of the envelope (SPEC §3: ce_source is the producing service), so it is
    # checked here, beside the type-on-its-topic check, rather than in the platform's runtime: every
    # reader of these contracts, an integrator's as much as a service's, then refuses an event that
    # claims another origin, and the rule lives where the registry that names each producer lives.
    # The header is no credential (whoever may write a topic may write any ce_source); the broker's
    # ACLs decide who writes. This is the second line: it catches a hand-made or misrouted record.
    if attrs["ce_source"] != spec.ce_source:
        raise ContractViolation(
            "ce_source",
            f"expected {spec.ce_source!r} (the producer of {ce_type!r}), got {attrs['ce_source']!r}",
        )

    content_type = attrs.get("content-type")
    # Parameters such as "; charset=utf-8" are allowed; the media type itself must be JSON.
    if content_type is not None and content_type.split(";")[0].strip().lower() != CONTENT_TYPE:
        raise ContractViolation("content-type", f"expected {CONTENT_TYPE!r}, got {content_type!r}")

    subject = attrs["ce_subject"]
    if key is None:
        raise ContractViolation("key", "record key is missing; it must be the aggregate id")
    if _header_text("key", key) != subject:
        raise ContractViolation("key", f"record key {key!r} differs from ce_subject {subject!r}")

    return CloudEvent(
        id=attrs["ce_id"],
        source=attrs["ce_source"],
        type=ce_type,
        subject=subject,
        time=_parse_time(attrs["ce_time"]),
        data=_parse_value(spec, value),
    )


def _parse_value(spec: EventSpec, value: bytes | None) -> dict[str, Any] | None:
    if value is None:
        if spec.compacted:
            return None
        raise ContractViolation("value", f"null value (tombstone) on non-compacted {spec.topic}")
    try:
        data = json.loads(value)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError both derive from it
        raise ContractViolation("value", f"not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ContractViolation("value", f"expected a JSON object, got {type(data).__name__}")
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
            "data": event.data,
        }
    )
