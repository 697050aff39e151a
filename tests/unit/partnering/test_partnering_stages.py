"""An implementation's stages, pausing and stopping (SPEC 5.3), domain only: order, notes, reasons, closing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from partnering.domain.errors import InvalidInput, PartneringConflict
from partnering.domain.implementation import FundingKind, ImplementationStatus, Stage
from tests.unit.partnering.test_partnering_implementation_rules import (
    MUNICIPALITY,
    NOW,
    implementation,
    measure,
    running,
)

LATER = NOW + timedelta(days=30)


def walk(i, *stages: Stage) -> None:
    for stage in stages:
        i.set_stage(stage, note=None, by="kim", at=LATER)


def test_an_adopted_project_starts_in_exploration_and_moves_forward_one_stage_at_a_time():
    i = implementation()
    assert i.stage is Stage.EXPLORATION and i.changes == []
    change = i.set_stage(Stage.INSTALLATION, note=None, by="kim", at=LATER)
    assert i.stage is Stage.INSTALLATION
    assert (change.stage, change.status, change.reason, change.changed_by) == (
        Stage.INSTALLATION, ImplementationStatus.PREPARING, None, "kim")
    walk(i, Stage.INITIAL_IMPLEMENTATION, Stage.FULL_IMPLEMENTATION)
    assert [c.stage for c in i.changes] == [Stage.INSTALLATION, Stage.INITIAL_IMPLEMENTATION,
                                            Stage.FULL_IMPLEMENTATION]


def test_skipping_a_stage_forward_is_a_conflict_naming_the_next_stage():
    i = implementation()
    with pytest.raises(PartneringConflict) as caught:
        i.set_stage(Stage.INITIAL_IMPLEMENTATION, note="we are quick", by="kim", at=LATER)
    assert "the next stage is installation" in caught.value.conditions[0]
    assert i.stage is Stage.EXPLORATION and i.changes == []


def test_the_same_stage_again_is_a_conflict_and_changes_nothing():
    i = implementation()
    with pytest.raises(PartneringConflict, match="already at stage exploration"):
        i.set_stage(Stage.EXPLORATION, note=None, by="kim", at=LATER)
    assert i.changes == []


@pytest.mark.parametrize("note", [None, "", "   "])
def test_a_step_back_needs_a_note(note):
    i = implementation()
    walk(i, Stage.INSTALLATION, Stage.INITIAL_IMPLEMENTATION)
    with pytest.raises(InvalidInput) as caught:
        i.set_stage(Stage.EXPLORATION, note=note, by="kim", at=LATER)
    assert caught.value.field == "note" and i.stage is Stage.INITIAL_IMPLEMENTATION


def test_a_step_back_with_a_note_may_go_back_several_stages_and_keeps_the_note():
    i = implementation()
    walk(i, Stage.INSTALLATION, Stage.INITIAL_IMPLEMENTATION)
    change = i.set_stage(Stage.EXPLORATION, note="  The housing corporation left; we look again  ", by="kim",
                         at=LATER)
    assert i.stage is Stage.EXPLORATION and change.reason == "The housing corporation left; we look again"


def test_sustainment_comes_only_with_the_handover():
    i = running()
    walk(i, Stage.INSTALLATION, Stage.INITIAL_IMPLEMENTATION, Stage.FULL_IMPLEMENTATION)
    with pytest.raises(InvalidInput) as caught:
        i.set_stage(Stage.SUSTAINMENT, note=None, by="kim", at=LATER)
    assert caught.value.field == "stage" and i.stage is Stage.FULL_IMPLEMENTATION
    measure(i, date(2025, 1, 1), date(2025, 6, 30))
    i.hand_over(to=["Gemeente Schiedam"], regular_operations="Regular debt help", by="kim", at=LATER)
    assert i.stage is Stage.SUSTAINMENT and i.status is ImplementationStatus.HANDED_OVER
    assert (i.changes[-1].stage, i.changes[-1].status) == (Stage.SUSTAINMENT, ImplementationStatus.HANDED_OVER)


def test_a_handover_from_an_early_stage_also_means_sustainment():
    i = running()
    measure(i, date(2025, 1, 1), date(2025, 6, 30))
    i.hand_over(to=["Gemeente Schiedam"], regular_operations="Regular debt help", by="kim", at=LATER)
    assert i.stage is Stage.SUSTAINMENT


@pytest.mark.parametrize("action", ["pause", "resume", "stop"])
@pytest.mark.parametrize("reason", [None, "", " \n "])
def test_pausing_resuming_and_stopping_need_a_reason(action, reason):
    i = running()
    if action == "resume":
        i.pause(reason="Waiting for the budget", by="kim", at=LATER)
    before = (i.status, len(i.changes))
    with pytest.raises(InvalidInput) as caught:
        getattr(i, action)(reason=reason, by="kim", at=LATER)
    assert caught.value.field == "reason" and (i.status, len(i.changes)) == before


def test_a_paused_implementation_resumes_to_where_it_was():
    preparing, started = implementation(), running()
    for i, back_to in ((preparing, ImplementationStatus.PREPARING), (started, ImplementationStatus.RUNNING)):
        paused = i.pause(reason="Waiting for the budget", by="kim", at=LATER)
        assert i.status is ImplementationStatus.PAUSED and i.status_reason == "Waiting for the budget"
        assert paused.status is ImplementationStatus.PAUSED and paused.reason == "Waiting for the budget"
        resumed = i.resume(reason="Budget agreed", by="kim", at=LATER)
        assert i.status is back_to and resumed.status is back_to and i.status_reason is None


def test_pausing_twice_or_resuming_what_is_not_paused_is_a_conflict():
    i = running()
    with pytest.raises(PartneringConflict, match="not paused"):
        i.resume(reason="Nothing to resume", by="kim", at=LATER)
    i.pause(reason="Waiting for the budget", by="kim", at=LATER)
    with pytest.raises(PartneringConflict, match="already paused"):
        i.pause(reason="Again", by="kim", at=LATER)


def test_a_paused_implementation_changes_no_stage_and_is_not_handed_over_or_started():
    i = running()
    measure(i, date(2025, 1, 1), date(2025, 3, 31))
    i.pause(reason="Kwartiermaker on leave", by="kim", at=LATER)
    with pytest.raises(PartneringConflict, match="paused"):
        i.set_stage(Stage.INSTALLATION, note=None, by="kim", at=LATER)
    with pytest.raises(PartneringConflict, match="paused"):
        i.hand_over(to=["Gemeente Schiedam"], regular_operations="Regular debt help", by="kim", at=LATER)
    # The period before the pause can still be reported, and money still arrives for after it.
    measure(i, date(2025, 4, 1), date(2025, 4, 30))
    i.record_funding(source=MUNICIPALITY, kind=FundingKind.ADDITIONAL, amount_eur="10.00", by="kim", at=LATER)
    preparing = implementation()
    preparing.record_funding(source=MUNICIPALITY, kind=FundingKind.BASE, amount_eur="10.00", by="kim", at=LATER)
    preparing.pause(reason="Waiting", by="kim", at=LATER)
    with pytest.raises(PartneringConflict, match="paused"):
        preparing.start_running(LATER, by="kim")


def test_a_stopped_implementation_is_closed_with_its_reason():
    i = running()
    walk(i, Stage.INSTALLATION)
    changes_before = len(i.changes)  # set running, then installation
    change = i.stop(reason="No partner would carry the costs after the pilot", by="kim", at=LATER)
    assert i.status is ImplementationStatus.STOPPED and i.is_closed and i.stage is Stage.INSTALLATION
    assert change.reason == i.status_reason == "No partner would carry the costs after the pilot"
    refusals = [
        lambda: i.set_stage(Stage.INITIAL_IMPLEMENTATION, note=None, by="kim", at=LATER),
        lambda: i.record_funding(source=MUNICIPALITY, kind=FundingKind.BASE, amount_eur="1.00", by="kim", at=LATER),
        lambda: measure(i, date(2025, 1, 1), date(2025, 1, 31)),
        lambda: i.pause(reason="r", by="kim", at=LATER),
        lambda: i.resume(reason="r", by="kim", at=LATER),
        lambda: i.stop(reason="r", by="kim", at=LATER),
        lambda: i.hand_over(to=["Gemeente Schiedam"], regular_operations="x", by="kim", at=LATER),
    ]
    for refused in refusals:
        with pytest.raises(PartneringConflict) as caught:
            refused()
        assert any("stopped" in c and "closed" in c and "No partner would carry" in c
                   for c in caught.value.conditions)
    assert len(i.changes) == changes_before + 1  # the refusals recorded nothing


def test_a_paused_implementation_can_be_stopped_but_a_handed_over_one_cannot():
    i = running()
    i.pause(reason="Waiting", by="kim", at=LATER)
    i.stop(reason="The budget was not agreed", by="kim", at=LATER)
    assert i.status is ImplementationStatus.STOPPED
    done = running()
    measure(done, date(2025, 1, 1), date(2025, 1, 31))
    done.hand_over(to=["Gemeente Schiedam"], regular_operations="Regular", by="kim", at=LATER)
    with pytest.raises(PartneringConflict, match="handed over"):
        done.stop(reason="Too late", by="kim", at=LATER)
