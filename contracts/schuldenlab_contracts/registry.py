"""The table of v1 events (SPEC §3): which model travels on which topic under which ce_type."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from .events import (
    CatalogueProject,
    ImpactRecorded,
    ImplementationStageChanged,
    ImplementationStarted,
    LabFormed,
    PartnerJoined,
    ProjectAssessed,
    ProjectHandedOver,
    ProjectSubmitted,
    ReassessmentDue,
)

__all__ = [
    "EVENTS",
    "EVENT_TYPES",
    "EventSpec",
    "UnknownEventType",
    "by_model",
    "by_topic",
    "by_type",
]


class UnknownEventType(KeyError):
    """No event in the registry matches the given ce_type, topic or model."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        # KeyError's own __str__ shows repr(arg), which wraps the message in quotes.
        return self.message


@dataclass(frozen=True)
class EventSpec:
    """One row of the event table."""

    name: str
    topic: str
    ce_type: str
    model: type[BaseModel]
    key_field: str  # payload field whose value is the record key and ce_subject
    source: str  # producing service: catalogue, assessment or partnering
    compacted: bool = False  # a compacted topic keeps the latest record per key; null = tombstone

    @property
    def ce_source(self) -> str:
        """The CloudEvents source attribute of events of this kind."""
        return f"/schuldenlab/{self.source}"


EVENTS: tuple[EventSpec, ...] = (
    EventSpec(
        name="ProjectSubmitted",
        topic="catalogue.project-submitted.v1",
        ce_type="nl.schuldenlab.project.submitted.v1",
        model=ProjectSubmitted,
        key_field="project_id",
        source="catalogue",
    ),
    EventSpec(
        name="ProjectAssessed",
        topic="assessment.project-assessed.v1",
        ce_type="nl.schuldenlab.project.assessed.v1",
        model=ProjectAssessed,
        key_field="project_id",
        source="assessment",
    ),
    EventSpec(
        name="LabFormed",
        topic="partnering.lab-formed.v1",
        ce_type="nl.schuldenlab.lab.formed.v1",
        model=LabFormed,
        key_field="lab_id",
        source="partnering",
    ),
    EventSpec(
        name="PartnerJoined",
        topic="partnering.partner-joined.v1",
        ce_type="nl.schuldenlab.lab.partner-joined.v1",
        model=PartnerJoined,
        key_field="lab_id",
        source="partnering",
    ),
    EventSpec(
        name="ProjectHandedOver",
        topic="partnering.project-handed-over.v1",
        ce_type="nl.schuldenlab.project.handed-over.v1",
        model=ProjectHandedOver,
        key_field="lab_id",
        source="partnering",
    ),
    EventSpec(
        name="ImplementationStarted",
        topic="partnering.implementation-started.v1",
        ce_type="nl.schuldenlab.project.implementation-started.v1",
        model=ImplementationStarted,
        key_field="lab_id",
        source="partnering",
    ),
    EventSpec(
        name="CatalogueProject",
        topic="catalogue.projects.v1",
        ce_type="nl.schuldenlab.catalogue.project.v1",
        model=CatalogueProject,
        key_field="project_id",
        source="catalogue",
        compacted=True,
    ),
    # --- evidence level and rating validity (SPEC 5.2) ---
    EventSpec(
        name="ReassessmentDue",
        topic="assessment.reassessment-due.v1",
        ce_type="nl.schuldenlab.project.reassessment-due.v1",
        model=ReassessmentDue,
        key_field="project_id",
        source="assessment",
    ),
)

# --- implementation stages, stopping, and outcomes (SPEC 5.3) ---
EVENTS += (
    EventSpec(
        name="ImplementationStageChanged",
        topic="partnering.implementation-stage-changed.v1",
        ce_type="nl.schuldenlab.project.implementation-stage-changed.v1",
        model=ImplementationStageChanged,
        key_field="lab_id",
        source="partnering",
    ),
    EventSpec(
        name="ImpactRecorded",
        topic="partnering.impact-recorded.v1",
        ce_type="nl.schuldenlab.project.impact-recorded.v1",
        model=ImpactRecorded,
        key_field="lab_id",
        source="partnering",
    ),
)

EVENT_TYPES: frozenset[str] = frozenset(spec.ce_type for spec in EVENTS)

_BY_TYPE = {spec.ce_type: spec for spec in EVENTS}
_BY_TOPIC = {spec.topic: spec for spec in EVENTS}
_BY_MODEL = {spec.model: spec for spec in EVENTS}


def by_type(ce_type: str) -> EventSpec:
    """The event with this ce_type; UnknownEventType if there is none."""
    try:
        return _BY_TYPE[ce_type]
    except KeyError:
        known = ", ".join(sorted(_BY_TYPE))
        raise UnknownEventType(f"unknown ce_type {ce_type!r}; known types: {known}") from None


def by_topic(topic: str) -> EventSpec:
    """The event carried on this topic; UnknownEventType if there is none."""
    try:
        return _BY_TOPIC[topic]
    except KeyError:
        known = ", ".join(sorted(_BY_TOPIC))
        raise UnknownEventType(f"unknown topic {topic!r}; known topics: {known}") from None


def by_model(model_cls: type[BaseModel]) -> EventSpec:
    """The event whose payload is this model (or a subclass of it); UnknownEventType otherwise."""
    # Walking the MRO lets consumer-side subclasses of a contract model find their event.
    for cls in getattr(model_cls, "__mro__", ()):
        if cls in _BY_MODEL:
            return _BY_MODEL[cls]
    name = getattr(model_cls, "__qualname__", repr(model_cls))
    known = ", ".join(sorted(spec.model.__name__ for spec in EVENTS))
    raise UnknownEventType(f"{name} is not an event payload model; known models: {known}")
