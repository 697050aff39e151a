"""Lab membership: only a lab's members (and the operator) change it, as a pure rule and through the use cases."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

import pytest

from partnering.domain import commands
from partnering.domain.errors import InvalidInput, NotALabMember, NotFound, PartneringConflict
from partnering.domain.membership import (
    Actor,
    ensure_may_remove_member,
    first_members,
    may_change_lab,
    member_subject,
)
from partnering.service_layer import handlers
from tests.unit.partnering.test_partnering_handlers import (
    FakeUnitOfWork,
    a_lab,
    add_member,
    formed_lab,
    proven,
    step,
)

LAB_ID = uuid.uuid4()
KIM = Actor("kim", holds_lab_role=True)
MALLORY = Actor("mallory", holds_lab_role=True)
OPERATOR = Actor("operator", is_operator=True)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()


# --- the rule ---------------------------------------------------------------------------------------


def test_a_lab_token_may_change_only_a_lab_it_is_a_member_of():
    assert may_change_lab(KIM, {"kim", "piet"})
    assert not may_change_lab(MALLORY, {"kim", "piet"})
    assert not may_change_lab(KIM, set())


def test_the_operator_may_change_every_lab_without_being_a_member():
    assert may_change_lab(OPERATOR, set())


def test_a_token_of_another_role_that_carries_a_members_name_is_no_member():
    assert not may_change_lab(Actor("kim", holds_lab_role=False), {"kim"})


def test_a_lab_created_with_a_lab_token_has_its_creator_as_first_member_and_an_operators_lab_none():
    assert first_members(KIM) == ("kim",)
    assert first_members(OPERATOR) == ()


@pytest.mark.parametrize("subject", ["", "   ", " kim", "kim ", "kim\x00", "kim\nmallory", "k" * 201])
def test_a_member_is_named_exactly_as_a_token_would_carry_it(subject):
    with pytest.raises(InvalidInput) as caught:
        member_subject(subject)
    assert caught.value.field == "subject" and caught.value.reason


def test_a_member_cannot_remove_the_last_member_but_the_operator_can():
    with pytest.raises(PartneringConflict) as caught:
        ensure_may_remove_member(KIM, LAB_ID, "kim", {"kim"})
    assert "last member" in caught.value.conditions[0]
    ensure_may_remove_member(OPERATOR, LAB_ID, "kim", {"kim"})
    ensure_may_remove_member(KIM, LAB_ID, "kim", {"kim", "piet"})


# --- through the use cases --------------------------------------------------------------------------


async def test_creating_a_lab_with_a_lab_token_makes_the_creator_its_first_member(uow):
    lab = await a_lab(uow)
    assert [(m.subject, m.added_by) for m in await handlers.list_lab_members(lab.id, uow, KIM)] == [("kim", "kim")]


async def test_a_lab_created_by_the_operator_starts_without_members(uow):
    lab = await handlers.create_lab(commands.CreateLab(name="Schuldenlab Almelo", municipalities=["Almelo"],
                                                       region=None, by="operator", by_operator=True), uow)
    assert uow.labs.lab_members == []
    with pytest.raises(NotALabMember):
        await step(uow, lab.id, "work_plan")


async def test_a_lab_token_that_is_no_member_changes_nothing_in_the_lab_or_its_implementations(uow):
    lab = await formed_lab(uow)
    implementation = await handlers.start_implementation(
        commands.StartImplementation(lab_id=lab.id, project_id=proven(uow), by="kim"), uow)
    iid = implementation.id
    published = list(uow.published)
    mallory = {"by": "mallory"}
    changes = [
        lambda: handlers.complete_setup_step(
            commands.CompleteSetupStep(lab_id=lab.id, step="work_plan", note=None, **mallory), uow),
        lambda: handlers.join_lab(commands.JoinLab(
            lab_id=lab.id, organisation="Eneco", kind="private", sector="energy", is_municipality=False,
            commitment="c", **mallory), uow),
        lambda: handlers.form_lab(commands.FormLab(lab_id=lab.id, **mallory), uow),
        lambda: handlers.start_implementation(
            commands.StartImplementation(lab_id=lab.id, project_id=proven(uow), **mallory), uow),
        lambda: handlers.record_funding(commands.RecordFunding(
            implementation_id=iid, source="Schiedam", kind="base", amount_eur=Decimal(1), **mallory), uow),
        lambda: handlers.start_running(commands.StartRunning(implementation_id=iid, **mallory), uow),
        lambda: handlers.record_impact(commands.RecordImpact(
            implementation_id=iid, period_start=date(2025, 1, 1), period_end=date(2025, 1, 31),
            households_reached=1, households_debt_free=0, notes="", **mallory), uow),
        lambda: handlers.hand_over_implementation(commands.HandOverImplementation(
            implementation_id=iid, handed_over_to=["Gemeente Schiedam"], regular_operations="x", **mallory), uow),
        lambda: handlers.add_lab_member(commands.AddLabMember(lab_id=lab.id, subject="mallory", **mallory), uow),
        lambda: handlers.remove_lab_member(commands.RemoveLabMember(lab_id=lab.id, subject="kim", **mallory), uow),
    ]
    for change in changes:  # each built only when tried, so a failing one leaves no coroutine unawaited
        with pytest.raises(NotALabMember):
            await change()
    stored, stored_implementation = uow.labs.labs[lab.id], uow.implementations.items[iid]
    assert "work_plan" not in {s.value for s in stored.checklist} and len(stored.partners) == 1
    assert len(uow.implementations.items) == 1
    assert (stored_implementation.fundings, stored_implementation.impacts) == ([], [])
    assert stored_implementation.status.value == "preparing" and uow.published == published
    assert [m.subject for m in uow.labs.lab_members] == ["kim"]


async def test_the_operator_changes_a_lab_it_is_not_a_member_of(uow):
    lab = await a_lab(uow)
    record = await handlers.complete_setup_step(commands.CompleteSetupStep(
        lab_id=lab.id, step="work_plan", note=None, by="operator", by_operator=True), uow)
    assert record.done_by == "operator"


async def test_a_member_adds_a_colleague_who_may_then_change_the_lab_until_removed(uow):
    lab = await a_lab(uow)
    member = await add_member(uow, lab.id, "piet")
    assert (member.subject, member.added_by) == ("piet", "kim")
    await handlers.complete_setup_step(commands.CompleteSetupStep(lab_id=lab.id, step="work_plan", note=None,
                                                                  by="piet"), uow)
    await handlers.remove_lab_member(commands.RemoveLabMember(lab_id=lab.id, subject="piet", by="kim"), uow)
    with pytest.raises(NotALabMember):
        await handlers.complete_setup_step(commands.CompleteSetupStep(lab_id=lab.id, step="kick_off", note=None,
                                                                      by="piet"), uow)


async def test_adding_a_member_twice_is_a_conflict_and_removing_a_stranger_is_not_found(uow):
    lab = await a_lab(uow)
    await add_member(uow, lab.id, "piet")
    with pytest.raises(PartneringConflict, match="already a member"):
        await add_member(uow, lab.id, "piet")
    with pytest.raises(NotFound):
        await handlers.remove_lab_member(commands.RemoveLabMember(lab_id=lab.id, subject="nobody", by="kim"), uow)
    assert [m.subject for m in uow.labs.lab_members] == ["kim", "piet"]


async def test_a_bad_member_name_is_refused_before_anything_is_stored(uow):
    lab = await a_lab(uow)
    with pytest.raises(InvalidInput) as caught:
        await add_member(uow, lab.id, " piet")
    assert caught.value.field == "subject" and [m.subject for m in uow.labs.lab_members] == ["kim"]


async def test_only_members_and_the_operator_see_who_did_what_and_the_member_list(uow):
    lab = await formed_lab(uow)
    for viewer, sees in ((KIM, True), (OPERATOR, True), (MALLORY, False), (Actor("kim"), False)):
        view = await handlers.get_lab(lab.id, uow, viewer)
        assert view.shows_people is sees, viewer
    with pytest.raises(NotALabMember):
        await handlers.list_lab_members(lab.id, uow, MALLORY)
    assert len(await handlers.list_lab_members(lab.id, uow, OPERATOR)) == 1

