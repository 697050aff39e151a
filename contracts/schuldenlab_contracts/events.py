"""Payload models of the v1 events (SPEC §3): what producers publish and consumers read."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

__all__ = [
    "Availability",
    "CatalogueProject",
    "ContractModel",
    "Criteria",
    "CriterionVerdict",
    "EvidenceLevel",
    "ImpactRecorded",
    "ImpactTotals",
    "ImplementationStage",
    "ImplementationStageChanged",
    "ImplementationStarted",
    "ImplementationStatus",
    "LabFormed",
    "Origin",
    "PartnerJoined",
    "PartnerKind",
    "Phase",
    "PortfolioFit",
    "ProjectAssessed",
    "ProjectHandedOver",
    "ProjectPartner",
    "ProjectSubmitted",
    "Rating",
    "RatingStatus",
    "ReassessmentDue",
    "ReassessmentReason",
    "Verdict",
]


# --- shared vocabularies -------------------------------------------------------------------------


class Phase(StrEnum):
    """One of the seven phases of debt assistance the portfolio aims to cover."""

    AWARENESS = "awareness"  # early signalling and prevention ("bewustwording")
    INTAKE = "intake"  # intake and data exchange ("kennismaking")
    REFERRAL = "referral"  # information and advice ("verwijzing")
    STABILISATION = "stabilisation"  # stabilising the debt situation ("op orde komen")
    PLANNING = "planning"  # choosing a trajectory ("plan maken")
    DEBT_REDUCTION = "debt_reduction"  # the assistance trajectory ("schuld afbouwen")
    AFTERCARE = "aftercare"  # preventing relapse ("vinger aan de pols")


class PartnerKind(StrEnum):
    """What sort of organisation a partner is."""

    PUBLIC = "public"
    PRIVATE = "private"
    SOCIETAL = "societal"


class Availability(StrEnum):
    """How soon another municipality can implement a project ("beschikbaar")."""

    IMMEDIATE = "immediate"
    SMALL_EFFORT = "small_effort"
    NOT_YET = "not_yet"


class Verdict(StrEnum):
    """The portfolio board's decision on a submitted project."""

    PROVEN = "proven"
    REJECTED = "rejected"
    NEEDS_INFORMATION = "needs_information"


# --- evidence level and rating validity (SPEC 5.2) -------------------------------------------------


class EvidenceLevel(StrEnum):
    """How strong the evidence is that a project works ("bewijsniveau")."""

    PRACTICE_BASED = "practice_based"  # runs in production with positive, visible results
    EVALUATED = "evaluated"  # a process or outcome evaluation exists
    EFFECTIVE = "effective"  # a study with a comparison shows the effect


class RatingStatus(StrEnum):
    """Where a proven rating stands in its validity."""

    CURRENT = "current"
    REASSESSMENT_DUE = "reassessment_due"
    EXPIRED = "expired"


class ReassessmentReason(StrEnum):
    """Why a re-assessment round opened: the rating runs out soon, or the board asked."""

    EXPIRY = "expiry"
    REQUESTED = "requested"


# --- constrained scalar types --------------------------------------------------------------------


def _not_blank(value: str) -> str:
    # min_length=1 alone lets "   " through, which is as empty as "" to every reader.
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _http_url(value: str) -> str:
    if any(ch.isspace() for ch in value):
        raise ValueError(f"URL must not contain whitespace, got {value!r}")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"URL must start with http:// or https://, got {value!r}")
    if not parts.hostname:
        raise ValueError(f"URL must name a host, got {value!r}")
    return value


def _unique_phases(phases: list[Phase]) -> list[Phase]:
    seen: set[Phase] = set()
    for phase in phases:
        if phase in seen:
            raise ValueError(f"phase {phase.value!r} is listed more than once")
        seen.add(phase)
    return phases


# Exact euros (never a float): JSON numbers or strings in, strings out ("1250.50").
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]
# A ratio such as benefit per euro, exact to four decimals.
Ratio = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4, allow_inf_nan=False)]

# The pattern only documents the non-blank rule in the JSON Schema; _not_blank enforces it.
_NON_BLANK = Field(json_schema_extra={"pattern": r"\S"})

Label = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_not_blank), _NON_BLANK
]
Text = Annotated[
    str, StringConstraints(min_length=1, max_length=10_000), AfterValidator(_not_blank), _NON_BLANK
]
Notes = Annotated[str, StringConstraints(max_length=10_000)]
HttpUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048),
    AfterValidator(_http_url),
    Field(json_schema_extra={"format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}),
]
Revision = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]
Phases = Annotated[
    list[Phase],
    Field(min_length=1, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique_phases),
]


class ContractModel(BaseModel):
    """Base of every contract model: immutable, and closed so producers cannot leak stray fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --- sub-models ----------------------------------------------------------------------------------


class Origin(ContractModel):
    """Where a project comes from."""

    organisation: Label = Field(description="Organisation that runs or developed the project.")
    municipality: Label = Field(description="Municipality where the project runs in production.")
    lab_id: uuid.UUID | None = Field(
        default=None, description="The local debt lab that developed it, if one did."
    )


class ProjectPartner(ContractModel):
    """A party involved in running a project."""

    name: Label = Field(description="Name of the partner organisation.")
    kind: PartnerKind = Field(description="Public, private or societal partner.")


class CriterionVerdict(ContractModel):
    """Whether one criterion of the assessment framework is met, and why."""

    met: bool = Field(description="True when the criterion is met.")
    notes: Notes = Field(description="The assessors' reasoning; may be empty.")


class Criteria(ContractModel):
    """The three criteria a proven project meets ("werkbaar, herbruikbaar, beschikbaar")."""

    workable: CriterionVerdict = Field(
        description="Runs in production with real clients, visible positive results and a "
        "sustainable continuity model."
    )
    reusable: CriterionVerdict = Field(
        description="Solves a widely shared problem involving public and private partners."
    )
    available: CriterionVerdict = Field(description="Available to others now or with small effort.")


class PortfolioFit(ContractModel):
    """What a project adds to the portfolio of proven projects."""

    phases: Phases = Field(description="Phases of debt assistance the project covers.")
    adds_to_portfolio: bool = Field(
        description="True when the project adds something the portfolio lacks (not more of the same)."
    )
    similar_project_ids: list[uuid.UUID] = Field(
        description="Proven projects already in the catalogue that cover similar ground."
    )


class ImpactTotals(ContractModel):
    """Impact measured in a lab over the whole implementation."""

    households_reached: Count = Field(description="Households the project reached.")
    households_debt_free: Count = Field(description="Households that became free of debt.")
    # --- outcomes and costs (SPEC 5.3): optional, absent (null) when no measurement reported them ---
    households_stabilised: Count | None = Field(
        default=None, description="Households whose debt situation was stabilised (periods that reported it)."
    )
    repeat_cases: Count | None = Field(
        default=None, description="Households that came back with new debts (periods that reported it)."
    )
    cost_eur: Money | None = Field(
        default=None, description="What the implementation cost, over the periods that reported a cost."
    )
    benefit_eur: Money | None = Field(
        default=None, description="Estimated societal benefit, over the periods that reported one."
    )
    cost_per_household_reached_eur: Money | None = Field(
        default=None,
        description="Cost / households reached over the periods that reported a cost; null when none "
        "was reached (never infinite).",
    )
    cost_per_household_debt_free_eur: Money | None = Field(
        default=None,
        description="Cost / households debt-free over the periods that reported a cost; null when none "
        "became debt-free.",
    )
    benefit_per_euro: Ratio | None = Field(
        default=None,
        description="Benefit / cost over the periods that reported both; null when they cost nothing.",
    )

    @model_validator(mode="after")
    def _debt_free_were_reached(self) -> ImpactTotals:
        # A household can only become debt-free through the project if the project reached it.
        if self.households_debt_free > self.households_reached:
            raise ValueError(
                "households_debt_free must not exceed households_reached "
                f"({self.households_debt_free} > {self.households_reached})"
            )
        stabilised = self.households_stabilised
        if stabilised is not None and stabilised > self.households_reached:
            raise ValueError(
                "households_stabilised must not exceed households_reached "
                f"({stabilised} > {self.households_reached})"
            )
        return self


# --- the project dossier, shared by the submission and the catalogue feed ------------------------


class _ProjectDossier(ContractModel):
    """The public part of a project's dossier; the contact person is deliberately absent (GDPR)."""

    project_id: uuid.UUID = Field(description="Id of the project (the aggregate id).")
    revision: Revision = Field(
        description="1 on first submission, +1 for every resubmission of the dossier."
    )
    name: Label = Field(description="Name of the project.")
    summary: Text = Field(description="What the project does, in a few sentences.")
    problem: Text = Field(description="The problem it solves.")
    target_group: Text = Field(description="Who it is for.")
    phases: Phases = Field(description="Phases of debt assistance it covers; unique, not empty.")
    themes: list[Label] = Field(max_length=50, description="Free-form themes, e.g. 'youth'.")
    origin: Origin = Field(description="Where the project comes from.")
    partners: list[ProjectPartner] = Field(
        max_length=200, description="Parties involved in running it."
    )
    in_production: bool = Field(description="True when it runs with real clients and real data.")
    clients_served: Count = Field(description="Clients served so far.")
    results: Text = Field(description="Results achieved, as visible to others.")
    evidence_urls: list[HttpUrl] = Field(
        max_length=50, description="Public http(s) links to reports and evaluations."
    )
    continuity_model: Text = Field(
        description="How it keeps running when subsidies end (who pays, who runs it)."
    )
    availability: Availability = Field(description="How soon others can implement it.")


# --- event payloads ------------------------------------------------------------------------------


class ProjectSubmitted(_ProjectDossier):
    """A project was submitted ("aangemeld") or resubmitted to become a proven project."""

    submitted_at: AwareDatetime = Field(description="When this revision was submitted.")


class ProjectAssessed(ContractModel):
    """The portfolio board decided on one revision of a submitted project."""

    project_id: uuid.UUID = Field(description="Id of the assessed project (the aggregate id).")
    assessment_id: uuid.UUID = Field(description="Id of the assessment.")
    revision: Revision = Field(description="The revision of the dossier that was assessed.")
    verdict: Verdict = Field(description="Proven, rejected, or more information needed.")
    criteria: Criteria = Field(description="The verdict per criterion.")
    portfolio: PortfolioFit = Field(description="How the project fits the portfolio.")
    rationale: Text = Field(description="The board's reasons for the verdict.")
    decided_at: AwareDatetime = Field(description="When the board decided.")
    override_reason: Text | None = Field(
        default=None,
        description="The board's written reason for deciding 'proven' against the reviews' majority; "
        "absent when the reviews carried the verdict.",
    )
    evidence_level: EvidenceLevel | None = Field(
        default=None,
        description="For 'proven': how strong the evidence is (practice_based unless the board said more); "
        "absent for other verdicts and in events from before evidence levels.",
    )
    valid_until: AwareDatetime | None = Field(
        default=None, description="For 'proven': when the rating runs out unless a re-assessment renews it."
    )


class LabFormed(ContractModel):
    """A local debt lab ("lokaal Schuldenlab") was formed by its partners."""

    lab_id: uuid.UUID = Field(description="Id of the lab (the aggregate id).")
    name: Label = Field(description="Name of the lab, e.g. 'Schuldenlab070'.")
    municipalities: list[Label] = Field(
        min_length=1, max_length=100, description="Municipalities the lab works in; at least one."
    )
    region: Label | None = Field(default=None, description="Region, for a regional lab.")
    founding_partner_ids: list[uuid.UUID] = Field(
        min_length=1, description="Partners that formed the lab (at least one municipality)."
    )
    formed_at: AwareDatetime = Field(description="When the lab was formed.")


class PartnerJoined(ContractModel):
    """A partner joined a lab with a commitment."""

    lab_id: uuid.UUID = Field(description="Id of the lab joined (the aggregate id).")
    partner_id: uuid.UUID = Field(description="Id of the partner within the lab.")
    organisation: Label = Field(description="Name of the partner organisation.")
    kind: PartnerKind = Field(description="Public, private or societal partner.")
    sector: Label = Field(description="Sector, e.g. 'housing', 'energy', 'banking'.")
    is_municipality: bool = Field(description="True when the partner is a municipality.")
    commitment: Text = Field(description="What the partner commits to bring to the lab.")
    joined_at: AwareDatetime = Field(description="When the partner joined.")


class ImplementationStarted(ContractModel):
    """A lab adopted a proven project from the catalogue and started implementing it."""

    lab_id: uuid.UUID = Field(description="Id of the implementing lab (the aggregate id).")
    implementation_id: uuid.UUID = Field(description="Id of the implementation.")
    project_id: uuid.UUID = Field(description="Id of the catalogue project being implemented.")
    municipalities: list[Label] = Field(
        min_length=1, max_length=100, description="Municipalities where it is implemented."
    )
    started_at: AwareDatetime = Field(description="When implementation started.")


class ProjectHandedOver(ContractModel):
    """A lab handed an implemented project over to regular operations; its task there is done."""

    lab_id: uuid.UUID = Field(description="Id of the lab (the aggregate id).")
    implementation_id: uuid.UUID = Field(description="Id of the implementation that ended.")
    project_id: uuid.UUID = Field(description="Id of the catalogue project.")
    handed_over_to: list[Label] = Field(
        min_length=1, max_length=100, description="Organisations that continue it."
    )
    regular_operations: Text = Field(description="How it continues as part of their regular work.")
    impact: ImpactTotals = Field(description="Totals measured in the lab.")
    handed_over_at: AwareDatetime = Field(description="When it was handed over.")


# --- implementation stages, stopping, and outcomes (SPEC 5.3) --------------------------------------


class ImplementationStage(StrEnum):
    """How far a lab has come implementing a project (the implementation-science stages)."""

    EXPLORATION = "exploration"
    INSTALLATION = "installation"
    INITIAL_IMPLEMENTATION = "initial_implementation"
    FULL_IMPLEMENTATION = "full_implementation"
    SUSTAINMENT = "sustainment"  # after the handover to regular operations


class ImplementationStatus(StrEnum):
    """Whether an implementation is under way, paused, stopped (closed) or handed over (closed)."""

    PREPARING = "preparing"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"
    HANDED_OVER = "handed_over"


class ImplementationStageChanged(ContractModel):
    """An implementation's stage or status changed: a stage set, paused, resumed, stopped, started or handed over."""

    lab_id: uuid.UUID = Field(description="Id of the lab (the aggregate id).")
    implementation_id: uuid.UUID = Field(description="Id of the implementation.")
    project_id: uuid.UUID = Field(description="Id of the catalogue project.")
    municipalities: list[Label] = Field(
        default_factory=list, max_length=100, description="Municipalities where it is implemented."
    )
    stage: ImplementationStage = Field(description="The stage after the change.")
    status: ImplementationStatus = Field(description="The status after the change.")
    reason: Text | None = Field(
        default=None,
        description="Why: the reason of a pause, resumption or stop, or the note of a stage change "
        "(required for a step back); absent otherwise.",
    )
    changed_at: AwareDatetime = Field(description="When it changed.")


class ImpactRecorded(ContractModel):
    """A lab recorded one impact measurement of an implementation over a period (both dates included)."""

    lab_id: uuid.UUID = Field(description="Id of the lab (the aggregate id).")
    implementation_id: uuid.UUID = Field(description="Id of the implementation measured.")
    project_id: uuid.UUID = Field(description="Id of the catalogue project.")
    municipalities: list[Label] = Field(
        min_length=1, max_length=100, description="Municipalities where it is implemented."
    )
    measurement_id: uuid.UUID | None = Field(default=None, description="Id of the measurement.")
    period_start: date = Field(description="First day of the period measured.")
    period_end: date = Field(description="Last day of the period measured (included).")
    households_reached: Count = Field(description="Households reached in the period.")
    households_debt_free: Count = Field(description="Households that became debt-free in the period.")
    households_stabilised: Count | None = Field(
        default=None, description="Households whose debt situation was stabilised in the period."
    )
    median_days_to_stabilisation: Count | None = Field(
        default=None, description="Median days from intake to a stable situation, of those stabilised."
    )
    repeat_cases: Count | None = Field(
        default=None, description="Households that came back with new debts in the period."
    )
    cost_eur: Money | None = Field(default=None, description="What the period cost, in exact euros.")
    benefit_eur: Money | None = Field(
        default=None, description="Estimated societal benefit of the period, in exact euros."
    )
    recorded_at: AwareDatetime = Field(description="When the measurement was recorded.")

    @model_validator(mode="after")
    def _consistent(self) -> ImpactRecorded:
        if self.period_end < self.period_start:
            raise ValueError("period_end must not be before period_start")
        reached = self.households_reached
        for name in ("households_debt_free", "households_stabilised"):
            value = getattr(self, name)
            if value is not None and value > reached:
                raise ValueError(f"{name} must not exceed households_reached ({value} > {reached})")
        return self


class ReassessmentDue(ContractModel):
    """A proven project's rating runs out soon, or the board asked: a re-assessment round opened."""

    project_id: uuid.UUID = Field(description="Id of the project (the aggregate id).")
    assessment_id: uuid.UUID = Field(description="Id of the re-assessment round that opened.")
    revision: Revision = Field(description="The revision of the dossier the round assesses.")
    valid_until: AwareDatetime = Field(description="When the current rating runs out.")
    reason: ReassessmentReason = Field(description="'expiry' (notice before the end) or 'requested' (the board).")
    opened_at: AwareDatetime = Field(description="When the round opened.")


class Rating(ContractModel):
    """A listed project's rating: its evidence level and how long it holds."""

    evidence_level: EvidenceLevel = Field(description="How strong the evidence is that it works.")
    valid_until: AwareDatetime | None = Field(
        default=None, description="When the rating runs out; absent for ratings from before validity."
    )
    status: RatingStatus = Field(description="current, reassessment_due or expired.")


class StageCounts(ContractModel):
    """How many implementations are at each stage (stopped ones aside)."""

    exploration: Count = Field(default=0, description="Implementations exploring the project.")
    installation: Count = Field(default=0, description="Implementations preparing it.")
    initial_implementation: Count = Field(default=0, description="Implementations in their first use of it.")
    full_implementation: Count = Field(default=0, description="Implementations running it fully.")
    sustainment: Count = Field(default=0, description="Implementations handed over to regular operations.")


class StoppedImplementation(ContractModel):
    """An implementation a lab stopped: kept visible with its reason, a lesson for the next municipality."""

    implementation_id: uuid.UUID = Field(description="Id of the implementation.")
    lab_id: uuid.UUID = Field(description="The lab that stopped it.")
    municipalities: list[Label] = Field(default_factory=list, max_length=100, description="Where it was implemented.")
    stage: ImplementationStage = Field(description="The stage it had reached.")
    reason: Text | None = Field(default=None, description="Why it was stopped.")
    stopped_at: AwareDatetime | None = Field(default=None, description="When it was stopped.")


class Adoption(ContractModel):
    """Where a project is being adopted and how far (SPEC 5.3)."""

    implementations: Count = Field(description="Implementations not stopped (running, paused or handed over).")
    stages: StageCounts = Field(description="Implementations not stopped, per stage.")
    paused: Count = Field(description="Implementations paused now.")
    handed_over: Count = Field(description="Implementations handed over to regular operations.")
    stopped: list[StoppedImplementation] = Field(description="Implementations stopped, with their reasons.")
    municipalities: list[Label] = Field(
        description="Municipalities of the implementations not stopped (stopped ones name theirs)."
    )


class PooledOutcomes(ContractModel):
    """Outcomes pooled over every implementation (site) that reported a measurement (SPEC 5.3)."""

    sites_reporting: Count = Field(description="Implementations with at least one measurement.")
    households_reached: Count = Field(description="Households reached, summed over every measurement.")
    households_stabilised: Count | None = Field(
        default=None, description="Households stabilised, summed over the measurements that reported it."
    )
    households_debt_free: Count = Field(description="Households debt-free, summed over every measurement.")
    cost_per_debt_free_household_eur: Money | None = Field(
        default=None,
        description="Median over sites of each site's cost / households debt-free (periods with a cost); absent "
        "when no site has the figure (a zero denominator gives none).",
    )
    benefit_per_euro: Ratio | None = Field(
        default=None,
        description="Median over sites that gave benefits of each site's benefit / cost (periods with both); "
        "absent when none has the figure.",
    )


class CatalogueProject(_ProjectDossier):
    """The public state of one proven project in the catalogue (the compacted catalogue feed)."""

    status: Literal["proven"] = Field(
        default="proven", description="Public status; only proven projects are in the catalogue."
    )
    submitted_at: AwareDatetime | None = Field(
        default=None, description="When the published revision was submitted."
    )
    assessment_id: uuid.UUID = Field(description="The assessment that found the project proven.")
    decided_at: AwareDatetime = Field(description="When the board found it proven.")
    rationale: Text | None = Field(default=None, description="The board's reasons, if public.")
    labs_implementing: list[uuid.UUID] = Field(
        description="Labs that are implementing the project now."
    )
    handovers: Count = Field(description="Implementations handed over to regular operations.")
    municipalities: list[Label] = Field(
        description="Municipalities where it runs or is being implemented."
    )
    updated_at: AwareDatetime = Field(description="When this record last changed.")
    rating: Rating | None = Field(
        default=None, description="The rating (SPEC 5.2); absent for projects decided before evidence levels."
    )
    adoption: Adoption | None = Field(
        default=None, description="Implementations per stage, paused, stopped with reasons, handed over (SPEC 5.3)."
    )
    outcomes: PooledOutcomes | None = Field(
        default=None, description="Outcomes pooled over the sites that reported; absent before any did (SPEC 5.3)."
    )
