"""One example of every v1 event, for the published schemas, the AsyncAPI documents and integrators.

The examples are built with the models themselves, so one that no longer satisfies its contract
fails at once instead of being published; ids and times are fixed so the documents stay stable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from pydantic import BaseModel

from .cloudevents import CloudEvent, new_event, tombstone
from .events import (
    Adoption,
    Availability,
    CatalogueProject,
    Criteria,
    CriterionVerdict,
    EvidenceLevel,
    ImpactRecorded,
    ImpactTotals,
    ImplementationStage,
    ImplementationStageChanged,
    ImplementationStarted,
    ImplementationStatus,
    LabFormed,
    Origin,
    PartnerJoined,
    PartnerKind,
    Phase,
    PooledOutcomes,
    PortfolioFit,
    ProjectAssessed,
    ProjectHandedOver,
    ProjectPartner,
    ProjectSubmitted,
    Rating,
    RatingStatus,
    ReassessmentDue,
    ReassessmentReason,
    StageCounts,
    StoppedImplementation,
    Verdict,
)
from .registry import by_type

__all__ = ["example_event", "example_payload", "example_tombstone"]

PROJECT_ID = uuid.UUID("6f1d2c3b-4a59-4e8f-9b7a-0c1d2e3f4a01")
LAB_ID = uuid.UUID("2b3c4d5e-6f70-4a81-92b3-c4d5e6f7a802")
PARTNER_ID = uuid.UUID("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c03")
ASSESSMENT_ID = uuid.UUID("4e5f6a7b-8c9d-4e0f-a1b2-c3d4e5f6a704")
IMPLEMENTATION_ID = uuid.UUID("7c8d9e0f-1a2b-4c3d-b4e5-f6a7b8c9d005")
SUBMITTED_AT = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
DECIDED_AT = datetime(2025, 3, 24, 14, 30, tzinfo=UTC)
FORMED_AT = datetime(2025, 4, 7, 10, 0, tzinfo=UTC)
STARTED_AT = datetime(2025, 5, 12, 8, 0, tzinfo=UTC)
HANDED_OVER_AT = datetime(2026, 5, 11, 15, 0, tzinfo=UTC)
EVENT_TIME = datetime(2026, 5, 11, 15, 0, 1, tzinfo=UTC)
TOMBSTONE_TIME = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
VALID_UNTIL = datetime(2028, 3, 23, 14, 30, tzinfo=UTC)  # 1095 days after DECIDED_AT
REASSESSMENT_ID = uuid.UUID("5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c06")
REASSESSMENT_OPENED_AT = datetime(2027, 12, 23, 14, 30, tzinfo=UTC)  # 90 days before VALID_UNTIL

_DOSSIER = {
    "project_id": PROJECT_ID,
    "revision": 1,
    "name": "Jongeren Perspectief Fonds",
    "summary": "The debts of young people are settled in exchange for a social internship and a plan "
    "towards school or work.",
    "problem": "Young people with debts cannot start school or work, so their debts keep growing.",
    "target_group": "Young people aged 18 to 27 with problematic debts",
    "phases": [Phase.DEBT_REDUCTION, Phase.AFTERCARE],
    "themes": ["youth", "work"],
    "origin": Origin(organisation="Gemeente Den Haag", municipality="Den Haag", lab_id=LAB_ID),
    "partners": [
        ProjectPartner(name="Gemeente Den Haag", kind=PartnerKind.PUBLIC),
        ProjectPartner(name="Haagse woningcorporaties", kind=PartnerKind.PRIVATE),
        ProjectPartner(name="Stichting Schuldhulpmaatje", kind=PartnerKind.SOCIETAL),
    ],
    "in_production": True,
    "clients_served": 53,
    "results": "All 53 young people in the pilot became debt-free.",
    "evidence_urls": ["https://www.schuldenlab.nl/projecten/jongeren-perspectief-fonds"],
    "continuity_model": "Funded by the municipality and private partners together from the savings "
    "on debt collection.",
    "availability": Availability.IMMEDIATE,
}


def _met(notes: str) -> CriterionVerdict:
    return CriterionVerdict(met=True, notes=notes)


STAGE_CHANGED_AT = datetime(2025, 9, 1, 9, 0, tzinfo=UTC)
IMPACT_RECORDED_AT = datetime(2026, 1, 8, 11, 0, tzinfo=UTC)
MEASUREMENT_ID = uuid.UUID("8d9e0f1a-2b3c-4d4e-85f6-a7b8c9d0e106")

_BUILDERS: dict[type[BaseModel], Callable[[], BaseModel]] = {
    # --- implementation stages, stopping, and outcomes (SPEC 5.3) ---
    ImplementationStageChanged: lambda: ImplementationStageChanged(
        lab_id=LAB_ID,
        implementation_id=IMPLEMENTATION_ID,
        project_id=PROJECT_ID,
        municipalities=["Vlaardingen", "Schiedam"],
        stage=ImplementationStage.INITIAL_IMPLEMENTATION,
        status=ImplementationStatus.RUNNING,
        reason="First households referred by the district teams.",
        changed_at=STAGE_CHANGED_AT,
    ),
    ImpactRecorded: lambda: ImpactRecorded(
        lab_id=LAB_ID,
        implementation_id=IMPLEMENTATION_ID,
        project_id=PROJECT_ID,
        municipalities=["Vlaardingen", "Schiedam"],
        measurement_id=MEASUREMENT_ID,
        period_start=date(2025, 7, 1),
        period_end=date(2025, 12, 31),
        households_reached=64,
        households_debt_free=22,
        households_stabilised=47,
        median_days_to_stabilisation=38,
        repeat_cases=2,
        cost_eur=Decimal("51200.00"),
        benefit_eur=Decimal("133500.00"),
        recorded_at=IMPACT_RECORDED_AT,
    ),
    ProjectSubmitted: lambda: ProjectSubmitted(**_DOSSIER, submitted_at=SUBMITTED_AT),
    ProjectAssessed: lambda: ProjectAssessed(
        project_id=PROJECT_ID,
        assessment_id=ASSESSMENT_ID,
        revision=1,
        verdict=Verdict.PROVEN,
        criteria=Criteria(
            workable=_met("Runs in Den Haag since 2016 with a sustainable funding model."),
            reusable=_met("Public and private partners; youth debt is a problem everywhere."),
            available=_met("Also running in Almere, Eindhoven and Emmen."),
        ),
        portfolio=PortfolioFit(
            phases=[Phase.DEBT_REDUCTION, Phase.AFTERCARE],
            adds_to_portfolio=True,
            similar_project_ids=[],
        ),
        rationale="Meets all three criteria and adds an approach for young people to the portfolio.",
        decided_at=DECIDED_AT,
        evidence_level=EvidenceLevel.EVALUATED,
        valid_until=VALID_UNTIL,
    ),
    LabFormed: lambda: LabFormed(
        lab_id=LAB_ID,
        name="SchuldenlabMVS",
        municipalities=["Maassluis", "Vlaardingen", "Schiedam"],
        region="Nieuwe Waterweg",
        founding_partner_ids=[PARTNER_ID],
        formed_at=FORMED_AT,
    ),
    PartnerJoined: lambda: PartnerJoined(
        lab_id=LAB_ID,
        partner_id=PARTNER_ID,
        organisation="Gemeente Vlaardingen",
        kind=PartnerKind.PUBLIC,
        sector="municipality",
        is_municipality=True,
        commitment="Appoints the kwartiermaker and connects the lab with debt assistance.",
        joined_at=FORMED_AT,
    ),
    ImplementationStarted: lambda: ImplementationStarted(
        lab_id=LAB_ID,
        implementation_id=IMPLEMENTATION_ID,
        project_id=PROJECT_ID,
        municipalities=["Vlaardingen", "Schiedam"],
        started_at=STARTED_AT,
    ),
    ProjectHandedOver: lambda: ProjectHandedOver(
        lab_id=LAB_ID,
        implementation_id=IMPLEMENTATION_ID,
        project_id=PROJECT_ID,
        handed_over_to=["Gemeente Vlaardingen", "Gemeente Schiedam"],
        regular_operations="Part of the municipalities' regular debt assistance from June 2026.",
        impact=ImpactTotals(
            households_reached=120,
            households_debt_free=41,
            households_stabilised=87,
            repeat_cases=4,
            cost_eur=Decimal("96000.00"),
            benefit_eur=Decimal("251000.00"),
            cost_per_household_reached_eur=Decimal("800.00"),
            cost_per_household_debt_free_eur=Decimal("2341.46"),
            benefit_per_euro=Decimal("2.6146"),
        ),
        handed_over_at=HANDED_OVER_AT,
    ),
    CatalogueProject: lambda: CatalogueProject(
        **_DOSSIER,
        submitted_at=SUBMITTED_AT,
        assessment_id=ASSESSMENT_ID,
        decided_at=DECIDED_AT,
        rationale="Meets all three criteria and adds an approach for young people to the portfolio.",
        labs_implementing=[LAB_ID],
        handovers=0,
        municipalities=["Den Haag", "Vlaardingen", "Schiedam"],
        updated_at=STARTED_AT,
        rating=Rating(evidence_level=EvidenceLevel.EVALUATED, valid_until=VALID_UNTIL, status=RatingStatus.CURRENT),
        adoption=Adoption(
            implementations=1, stages=StageCounts(initial_implementation=1), paused=0, handed_over=0,
            stopped=[StoppedImplementation(
                implementation_id=uuid.UUID("8d9e0f1a-2b3c-4d5e-8f70-8192a3b4c5d6"), lab_id=LAB_ID,
                municipalities=["Schiedam"], stage=ImplementationStage.INSTALLATION,
                reason="The housing partner withdrew its data.", stopped_at=STARTED_AT)],
            municipalities=["Vlaardingen"],
        ),
        outcomes=PooledOutcomes(
            sites_reporting=2, households_reached=160, households_stabilised=120, households_debt_free=72,
            cost_per_debt_free_household_eur=Decimal("2341.46"), benefit_per_euro=Decimal("2.6146"),
        ),
    ),
    # --- evidence level and rating validity (SPEC 5.2) ---
    ReassessmentDue: lambda: ReassessmentDue(
        project_id=PROJECT_ID,
        assessment_id=REASSESSMENT_ID,
        revision=1,
        valid_until=VALID_UNTIL,
        reason=ReassessmentReason.EXPIRY,
        opened_at=REASSESSMENT_OPENED_AT,
    ),
}


def example_payload(ce_type: str) -> BaseModel:
    """A valid payload of the event with this ce_type; UnknownEventType if there is none."""
    return _BUILDERS[by_type(ce_type).model]()


def _example_id(ce_type: str, kind: str) -> uuid.UUID:
    # Derived from the type, so every example has its own ce_id and keeps it from release to release.
    return uuid.uuid5(uuid.NAMESPACE_URL, f"urn:schuldenlab:example:{kind}:{ce_type}")


def example_event(ce_type: str) -> CloudEvent:
    """The example payload of this ce_type as a whole CloudEvent, with a fixed id and time."""
    payload = example_payload(ce_type)
    return new_event(payload, id=_example_id(ce_type, "event"), time=EVENT_TIME)


def example_tombstone(ce_type: str) -> CloudEvent:
    """A tombstone of this (compacted) ce_type for the example's aggregate; ValueError otherwise."""
    spec = by_type(ce_type)
    subject = str(getattr(example_payload(ce_type), spec.key_field))
    return tombstone(spec, subject, id=_example_id(ce_type, "tombstone"), time=TOMBSTONE_TIME)
