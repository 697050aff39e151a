"""Partnering's use cases against in-memory repositories: what is stored and which events are published."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from partnering.domain import commands
from partnering.domain.errors import InvalidInput, NotFound, PartneringConflict
from partnering.domain.implementation import ImplementationStatus
from partnering.domain.membership import Actor
from partnering.domain.model import CatalogueEntry, withdrawn
from partnering.entrypoints.schemas import FundingCreate
from partnering.service_layer import handlers
from schuldenlab_contracts.events import (
    ImplementationStarted,
    LabFormed,
    PartnerJoined,
    ProjectHandedOver,
)


class FakeCatalogue:
    def __init__(self) -> None:
        self.entries: dict[uuid.UUID, CatalogueEntry] = {}

    async def upsert(self, entry):
        if entry.supersedes(self.entries.get(entry.project_id)):
            self.entries[entry.project_id] = entry

    async def withdraw(self, project_id, as_of):
        await self.upsert(withdrawn(project_id, as_of=as_of, current=self.entries.get(project_id)))

    async def get(self, project_id):
        return self.entries.get(project_id)


class FakeLabs:
    """Hands out copies, so only what a handler saves explicitly is kept (as with the real database)."""

    def __init__(self) -> None:
        self.labs = {}
        self.lab_members = []

    async def add(self, lab):
        self.labs[lab.id] = copy.deepcopy(lab)

    async def get(self, lab_id, *, for_update=False):
        return copy.deepcopy(self.labs.get(lab_id))

    async def list(self, after=None, limit=50):
        found = sorted(self.labs.values(), key=lambda lab: (lab.created_at, lab.id))
        return [copy.deepcopy(lab) for lab in found if after is None or (lab.created_at, lab.id) > after][:limit]

    async def add_partner(self, partner):
        self.labs[partner.lab_id].partners.append(partner)

    async def save_step(self, lab_id, record):
        self.labs[lab_id].checklist[record.step] = record

    async def save_formation(self, lab):
        stored = self.labs[lab.id]
        stored.status, stored.formed_at, stored.formed_by = lab.status, lab.formed_at, lab.formed_by
        stored.founding_partner_ids = lab.founding_partner_ids

    async def members(self, lab_id):
        return [m for m in self.lab_members if m.lab_id == lab_id]

    async def add_member(self, member):
        self.lab_members.append(member)

    async def remove_member(self, lab_id, subject):
        self.lab_members = [m for m in self.lab_members if (m.lab_id, m.subject) != (lab_id, subject)]


class FakeImplementations:
    def __init__(self) -> None:
        self.items = {}

    async def add(self, implementation):
        self.items[implementation.id] = copy.deepcopy(implementation)

    async def get(self, implementation_id, *, for_update=False):
        return copy.deepcopy(self.items.get(implementation_id))

    async def for_lab(self, lab_id):
        return [copy.deepcopy(i) for i in self.items.values() if i.lab_id == lab_id]

    async def add_funding(self, implementation_id, funding):
        self.items[implementation_id].fundings.append(funding)

    async def add_impact(self, implementation_id, measurement):
        self.items[implementation_id].impacts.append(measurement)

    async def save_status(self, implementation):
        stored = self.items[implementation.id]
        stored.status, stored.running_since, stored.handover = (implementation.status, implementation.running_since,
                                                                implementation.handover)
        stored.running_by = implementation.running_by


class FakeUnitOfWork:
    def __init__(self) -> None:
        self.catalogue = FakeCatalogue()
        self.labs = FakeLabs()
        self.implementations = FakeImplementations()
        self.published = []

    async def publish(self, payload):
        self.published.append(payload)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


async def a_lab(uow, name="SchuldenlabMVS"):
    return await handlers.create_lab(commands.CreateLab(name=name, municipalities=["Maassluis", "Vlaardingen",
                                                                                    "Schiedam"],
                                                        region="Nieuwe Waterweg", by="kim"), uow)


async def join(uow, lab_id, organisation, municipality=False):
    return await handlers.join_lab(commands.JoinLab(
        lab_id=lab_id, organisation=organisation, kind="public" if municipality else "private",
        sector="government" if municipality else "energy", is_municipality=municipality,
        commitment="Joins the lab as its way to innovate", by="kim"), uow)


async def step(uow, lab_id, name):
    return await handlers.complete_setup_step(commands.CompleteSetupStep(lab_id=lab_id, step=name, note=None,
                                                                         by="kim"), uow)


async def formed_lab(uow):
    lab = await a_lab(uow)
    await join(uow, lab.id, "Gemeente Schiedam", municipality=True)
    await step(uow, lab.id, "kwartiermaker_appointed")
    await step(uow, lab.id, "declaration_of_intent")
    return await handlers.form_lab(commands.FormLab(lab_id=lab.id, by="kim"), uow)


T1 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def catalogue_record(project_id: uuid.UUID, as_of: datetime = T1) -> CatalogueEntry:
    return CatalogueEntry(project_id=project_id, name="Collectief Schuldregelen", status="proven", revision=1,
                          as_of=as_of)


def proven(uow) -> uuid.UUID:
    entry = catalogue_record(uuid.uuid4())
    uow.catalogue.entries[entry.project_id] = entry
    return entry.project_id


def funding_body(source: str, kind: str, json_amount: str) -> FundingCreate:
    """The funding request as the API parses its JSON body (amounts as JSON numbers)."""
    return FundingCreate.model_validate_json(
        f'{{"source": "{source}", "kind": "{kind}", "amount_eur": {json_amount}}}')


async def test_joining_stores_the_partner_and_publishes_partner_joined(uow):
    lab = await a_lab(uow)
    partner = await join(uow, lab.id, "Eneco")
    assert [p.id for p in uow.labs.labs[lab.id].partners] == [partner.id]
    [event] = uow.published
    assert isinstance(event, PartnerJoined) and event.partner_id == partner.id and event.lab_id == lab.id


async def test_a_duplicate_partner_publishes_nothing(uow):
    lab = await a_lab(uow)
    await join(uow, lab.id, "Eneco")
    with pytest.raises(PartneringConflict):
        await join(uow, lab.id, "ENECO")
    assert len(uow.published) == 1 and len(uow.labs.labs[lab.id].partners) == 1


async def test_an_unknown_partner_kind_is_bad_input(uow):
    lab = await a_lab(uow)
    with pytest.raises(InvalidInput) as caught:
        await handlers.join_lab(commands.JoinLab(lab_id=lab.id, organisation="X", kind="alien", sector="s",
                                                 is_municipality=False, commitment="c", by="kim"), uow)
    assert caught.value.field == "kind"


async def test_missing_labs_and_implementations_are_not_found(uow):
    with pytest.raises(NotFound):
        await handlers.get_lab(uuid.uuid4(), uow, Actor("kim", holds_lab_role=True))
    with pytest.raises(NotFound):
        await handlers.get_implementation(uuid.uuid4(), uow, Actor("kim", holds_lab_role=True))


async def test_forming_publishes_lab_formed_with_the_founding_partners(uow):
    lab = await formed_lab(uow)
    event = uow.published[-1]
    assert isinstance(event, LabFormed)
    assert event.founding_partner_ids == [p.id for p in uow.labs.labs[lab.id].partners]
    assert event.municipalities == ["Maassluis", "Vlaardingen", "Schiedam"] and event.region == "Nieuwe Waterweg"


async def test_a_refused_formation_publishes_nothing_and_stays_forming(uow):
    lab = await a_lab(uow)
    with pytest.raises(PartneringConflict) as caught:
        await handlers.form_lab(commands.FormLab(lab_id=lab.id, by="kim"), uow)
    assert len(caught.value.conditions) == 3
    assert uow.published == [] and uow.labs.labs[lab.id].status.value == "forming"


async def test_implementing_a_proven_project_publishes_implementation_started(uow):
    lab = await formed_lab(uow)
    implementation = await handlers.start_implementation(
        commands.StartImplementation(lab_id=lab.id, project_id=proven(uow), by="kim"), uow)
    event = uow.published[-1]
    assert isinstance(event, ImplementationStarted)
    assert event.implementation_id == implementation.id and event.municipalities == list(lab.municipalities)


async def test_a_withdrawn_project_cannot_be_implemented(uow):
    lab = await formed_lab(uow)
    project_id = proven(uow)
    await handlers.forget_catalogue_entry(project_id, T1 + timedelta(hours=1), uow)
    with pytest.raises(PartneringConflict) as caught:
        await handlers.start_implementation(commands.StartImplementation(lab_id=lab.id, project_id=project_id,
                                                                         by="kim"), uow)
    assert caught.value.conditions == [f"project {project_id} is not proven in the catalogue"]


async def test_a_lab_implements_a_project_once_at_a_time(uow):
    lab = await formed_lab(uow)
    project_id = proven(uow)
    cmd = commands.StartImplementation(lab_id=lab.id, project_id=project_id, by="kim")
    await handlers.start_implementation(cmd, uow)
    with pytest.raises(PartneringConflict, match="already implementing"):
        await handlers.start_implementation(cmd, uow)


async def test_the_whole_implementation_ends_in_project_handed_over_with_the_totals(uow):
    lab = await formed_lab(uow)
    i = await handlers.start_implementation(commands.StartImplementation(lab_id=lab.id, project_id=proven(uow),
                                                                         by="kim"), uow)
    # JSON numbers through the request model, as the API does: 0.1 + 0.2 must be exactly 0.30.
    for body in (funding_body("Schiedam", "base", "0.1"), funding_body("Gemeente Schiedam", "base", "0.2")):
        await handlers.record_funding(commands.RecordFunding(implementation_id=i.id, source=body.source,
                                                             kind=body.kind, amount_eur=body.amount_eur, by="kim"),
                                      uow)
    await handlers.start_running(commands.StartRunning(implementation_id=i.id, by="kim"), uow)
    for start, end, reached, free in ((date(2025, 1, 1), date(2025, 3, 31), 30, 5),
                                      (date(2025, 4, 1), date(2025, 6, 30), 12, 7)):
        await handlers.record_impact(commands.RecordImpact(
            implementation_id=i.id, period_start=start, period_end=end, households_reached=reached,
            households_debt_free=free, notes="", by="kim"), uow)
    done = await handlers.hand_over_implementation(commands.HandOverImplementation(
        implementation_id=i.id, handed_over_to=["Gemeente Schiedam"], regular_operations="Regular debt help",
        by="kim"), uow)
    stored = uow.implementations.items[i.id]
    assert stored.status is ImplementationStatus.HANDED_OVER and str(stored.funding_total()) == "0.30"
    event = uow.published[-1]
    assert isinstance(event, ProjectHandedOver) and event.implementation_id == done.id
    assert (event.impact.households_reached, event.impact.households_debt_free) == (42, 12)


async def test_funding_from_an_unknown_source_is_bad_input(uow):
    lab = await formed_lab(uow)
    i = await handlers.start_implementation(commands.StartImplementation(lab_id=lab.id, project_id=proven(uow),
                                                                         by="kim"), uow)
    with pytest.raises(InvalidInput) as caught:
        await handlers.record_funding(commands.RecordFunding(implementation_id=i.id, source="Rotterdam", kind="base",
                                                             amount_eur=Decimal(1), by="kim"), uow)
    assert caught.value.field == "source" and uow.implementations.items[i.id].fundings == []


async def test_a_stale_catalogue_record_after_the_withdrawal_does_not_make_the_project_proven_again(uow):
    lab = await formed_lab(uow)
    project_id = uuid.uuid4()
    await handlers.record_catalogue_entry(catalogue_record(project_id, T1), uow)
    await handlers.forget_catalogue_entry(project_id, T1 + timedelta(minutes=5), uow)
    await handlers.record_catalogue_entry(catalogue_record(project_id, T1), uow)  # replayed from the DLQ
    with pytest.raises(PartneringConflict) as caught:
        await handlers.start_implementation(commands.StartImplementation(lab_id=lab.id, project_id=project_id,
                                                                         by="kim"), uow)
    assert caught.value.conditions == [f"project {project_id} is not proven in the catalogue"]
    # A newer record (the catalogue proving it again) does count.
    await handlers.record_catalogue_entry(catalogue_record(project_id, T1 + timedelta(hours=1)), uow)
    await handlers.start_implementation(commands.StartImplementation(lab_id=lab.id, project_id=project_id,
                                                                     by="kim"), uow)


async def add_member(uow, lab_id, subject, by="kim"):
    return await handlers.add_lab_member(commands.AddLabMember(lab_id=lab_id, subject=subject, by=by), uow)


async def test_who_formed_the_lab_and_who_started_and_ran_the_implementation_are_kept(uow):
    lab = await formed_lab(uow)
    for colleague in ("piet", "wethouder"):
        await add_member(uow, lab.id, colleague)
    assert uow.labs.labs[lab.id].formed_by == "kim"
    i = await handlers.start_implementation(commands.StartImplementation(lab_id=lab.id, project_id=proven(uow),
                                                                         by="piet"), uow)
    await handlers.record_funding(commands.RecordFunding(implementation_id=i.id, source="Schiedam", kind="base",
                                                         amount_eur=Decimal(1), by="kim"), uow)
    await handlers.start_running(commands.StartRunning(implementation_id=i.id, by="wethouder"), uow)
    stored = uow.implementations.items[i.id]
    assert (stored.started_by, stored.running_by) == ("piet", "wethouder")


async def test_marking_a_done_step_again_keeps_the_original_record(uow):
    lab = await a_lab(uow)
    first = await step(uow, lab.id, "work_plan")
    await add_member(uow, lab.id, "piet")
    again = await handlers.complete_setup_step(commands.CompleteSetupStep(lab_id=lab.id, step="work_plan",
                                                                          note="updated", by="piet"), uow)
    assert (again.done_by, again.done_at, again.note) == ("kim", first.done_at, "updated")
    assert uow.labs.labs[lab.id].checklist[again.step] == again
