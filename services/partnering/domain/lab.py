"""A local debt lab ("lokaal Schuldenlab"): its partners, its set-up checklist and its formation."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from partnering.domain.errors import InvalidInput, PartneringConflict


class SetupStep(StrEnum):
    """The ten steps of setting up a lab (DOMAIN.md), in the order they are usually taken."""

    KWARTIERMAKER_APPOINTED = "kwartiermaker_appointed"  # the local project leader ("kwartiermaker")
    WORK_PLAN = "work_plan"
    ADMINISTRATIVE_SUPPORT = "administrative_support"  # from the responsible alderman ("wethouder")
    EXECUTIVE_CONNECTIONS = "executive_connections"
    PROGRAMME_TEAM = "programme_team"
    THEMES_AND_PROJECTS = "themes_and_projects"
    PARTNER_SUPPORT = "partner_support"
    DECLARATION_OF_INTENT = "declaration_of_intent"  # signed by the partners ("intentieverklaring")
    TRIAL_PROCESS = "trial_process"
    KICK_OFF = "kick_off"


VALID_STEPS = ", ".join(s.value for s in SetupStep)


def parse_step(value: str) -> SetupStep:
    try:
        return SetupStep(value)
    except ValueError:
        raise InvalidInput("step", f"unknown set-up step {value!r}; valid steps are {VALID_STEPS}") from None


class LabStatus(StrEnum):
    FORMING = "forming"
    FORMED = "formed"


class PartnerKind(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    SOCIETAL = "societal"


def organisation_key(name: str) -> str:
    """How two spellings of one organisation compare: case and spacing do not make a new partner."""
    return " ".join(name.split()).casefold()


@dataclass(frozen=True)
class Partner:
    """An organisation that joined a lab with a commitment."""

    id: uuid.UUID
    lab_id: uuid.UUID
    organisation: str
    kind: PartnerKind
    sector: str
    is_municipality: bool
    commitment: str
    joined_at: datetime

    @property
    def key(self) -> str:
        return organisation_key(self.organisation)


@dataclass(frozen=True)
class StepRecord:
    """A set-up step marked done: by whom (the token's subject), when, and an optional note."""

    step: SetupStep
    done_by: str
    done_at: datetime
    note: str | None = None


@dataclass(frozen=True)
class FundingSource:
    """Who pays: a partner of the lab, or one of the lab's municipalities."""

    name: str
    partner_id: uuid.UUID | None
    is_municipality: bool


@dataclass
class Lab:
    id: uuid.UUID
    name: str
    municipalities: tuple[str, ...]
    region: str | None
    created_at: datetime
    status: LabStatus = LabStatus.FORMING
    formed_at: datetime | None = None
    formed_by: str | None = None
    founding_partner_ids: tuple[uuid.UUID, ...] = ()
    partners: list[Partner] = field(default_factory=list)
    checklist: dict[SetupStep, StepRecord] = field(default_factory=dict)

    @classmethod
    def create(cls, *, name: str, municipalities: list[str], region: str | None, at: datetime,
               lab_id: uuid.UUID | None = None) -> Lab:
        if not name.strip():
            raise InvalidInput("name", "must not be blank")
        if not municipalities:
            raise InvalidInput("municipalities", "a lab works in at least one municipality")
        seen: set[str] = set()
        for municipality in municipalities:
            if not municipality.strip():
                raise InvalidInput("municipalities", "a municipality name must not be blank")
            if organisation_key(municipality) in seen:
                raise InvalidInput("municipalities", f"{municipality!r} is listed more than once")
            seen.add(organisation_key(municipality))
        return cls(id=lab_id or uuid.uuid4(), name=name.strip(),
                   municipalities=tuple(m.strip() for m in municipalities),
                   region=region.strip() if region and region.strip() else None, created_at=at)

    # --- partners ---------------------------------------------------------------------------------

    def partner(self, partner_id: uuid.UUID) -> Partner | None:
        return next((p for p in self.partners if p.id == partner_id), None)

    def join(self, *, organisation: str, kind: PartnerKind, sector: str, is_municipality: bool,
             commitment: str, at: datetime, partner_id: uuid.UUID | None = None) -> Partner:
        """A partner joins with its commitment; the same organisation cannot join twice."""
        if not commitment.strip():
            # The lab exists because partners *explicitly* commit; a silent partner is no partner.
            raise InvalidInput("commitment", "a partner joins with an explicit commitment; it must not be blank")
        if is_municipality and kind is not PartnerKind.PUBLIC:
            # A municipality is a public body; a company or foundation cannot stand in for one.
            raise InvalidInput("is_municipality",
                               f"only a public organisation can be a municipality, not a {kind.value} one")
        existing = next((p for p in self.partners if p.key == organisation_key(organisation)), None)
        if existing is not None:
            raise PartneringConflict(
                f"{organisation!r} already joined lab {self.name} (partner {existing.id})",
                [f"organisation {existing.organisation!r} is already a partner of this lab"],
            )
        partner = Partner(id=partner_id or uuid.uuid4(), lab_id=self.id, organisation=" ".join(organisation.split()),
                          kind=kind, sector=sector.strip(), is_municipality=is_municipality,
                          commitment=commitment.strip(), joined_at=at)
        self.partners.append(partner)
        return partner

    def funding_source(self, source: str) -> FundingSource:
        """Resolve a funding source given as a partner id, a partner's name or one of the lab's municipalities."""
        try:
            by_id = self.partner(uuid.UUID(source))
        except ValueError:
            by_id = None
        partner = by_id or next((p for p in self.partners if p.key == organisation_key(source)), None)
        if partner is not None:
            return FundingSource(partner.organisation, partner.id, self.is_own_municipality(partner))
        municipality = self.own_municipality(source)
        if municipality is not None:
            return FundingSource(municipality, None, True)
        raise InvalidInput("source", f"{source!r} is neither a partner nor a municipality of lab {self.name}")

    def own_municipality(self, name: str) -> str | None:
        """Which of the lab's municipalities `name` is ("Schiedam" or "Gemeente Schiedam"), if any."""
        wanted = organisation_key(name).removeprefix("gemeente ")
        return next((m for m in self.municipalities if organisation_key(m).removeprefix("gemeente ") == wanted),
                    None)

    def is_own_municipality(self, partner: Partner) -> bool:
        """A municipal partner counts for the lab only when it is one of the lab's own municipalities."""
        return partner.is_municipality and self.own_municipality(partner.organisation) is not None

    # --- set-up and formation ---------------------------------------------------------------------

    def complete_step(self, step: SetupStep, *, by: str, at: datetime, note: str | None) -> StepRecord:
        """Mark a step done. Marking it again keeps who did it and when (the history); only a new note is kept."""
        note = note.strip() if note and note.strip() else None
        done = self.checklist.get(step)
        if done is not None:
            record = StepRecord(step=step, done_by=done.done_by, done_at=done.done_at,
                                note=note if note is not None else done.note)
        else:
            record = StepRecord(step=step, done_by=by, done_at=at, note=note)
        self.checklist[step] = record
        return record

    def is_done(self, step: SetupStep) -> bool:
        return step in self.checklist

    def unmet_formation_conditions(self) -> list[str]:
        unmet = []
        if self.status is LabStatus.FORMED:
            unmet.append(f"the lab is already formed (since {self.formed_at:%Y-%m-%d})")
            return unmet
        if not any(self.is_own_municipality(p) and p.commitment.strip() for p in self.partners):
            unmet.append("no municipality of the lab (" + ", ".join(self.municipalities)
                         + ") has joined the lab with an explicit commitment")
        if not self.is_done(SetupStep.KWARTIERMAKER_APPOINTED):
            unmet.append("no kwartiermaker is appointed (checklist step kwartiermaker_appointed)")
        if not self.is_done(SetupStep.DECLARATION_OF_INTENT):
            unmet.append("the declaration of intent is not signed (checklist step declaration_of_intent)")
        return unmet

    def form(self, at: datetime, *, by: str) -> None:
        """The lab is formed ("opgericht"); the partners at that moment are its founders."""
        unmet = self.unmet_formation_conditions()
        if unmet:
            raise PartneringConflict(f"lab {self.name} cannot be formed: " + "; ".join(unmet), unmet)
        self.status = LabStatus.FORMED
        self.formed_at = at
        self.formed_by = by
        self.founding_partner_ids = tuple(p.id for p in self.partners)
