"""A lab's phase coverage (domain only): current implementations cover phases; gaps get ranked suggestions."""

from __future__ import annotations

import uuid
from datetime import date

from partnering.domain.coverage import PHASES, lab_coverage
from partnering.domain.implementation import FundingKind, start_implementation
from partnering.domain.model import CatalogueEntry, withdrawn
from tests.unit.partnering.test_partnering_implementation_rules import MUNICIPALITY, NOW, formed_lab

LAB = formed_lab()


def entry(name: str, *phases: str, level: str | None = "practice_based", status: str = "proven") -> CatalogueEntry:
    return CatalogueEntry(project_id=uuid.uuid4(), name=name, status=status, revision=1, as_of=NOW, phases=phases,
                          evidence_level=level)


def adopt(project: CatalogueEntry):
    return start_implementation(LAB, project, project_id=project.project_id, already_implementing=False, at=NOW,
                                by="kim")


def by_phase(coverage):
    return {p.phase: p for p in coverage.phases}


def test_the_seven_phases_in_order_all_gaps_without_implementations():
    coverage = lab_coverage(LAB.id, [], [], {})
    assert [p.phase for p in coverage.phases] == list(PHASES) == [
        "awareness", "intake", "referral", "stabilisation", "planning", "debt_reduction", "aftercare"]
    assert coverage.gaps == list(PHASES)


def test_current_implementations_cover_their_projects_phases_and_suggestions_fill_the_gaps():
    jpf = entry("Jongeren Perspectief Fonds", "debt_reduction", "aftercare")
    route = entry("Nederlandse Schuldhulproute", "awareness", "referral")
    coverage = lab_coverage(LAB.id, [adopt(jpf)], [jpf, route], {})
    phases = by_phase(coverage)
    assert phases["debt_reduction"].covered and phases["aftercare"].covered
    assert [i.project_id for i in phases["aftercare"].implementations] == [jpf.project_id]
    assert phases["aftercare"].suggestions == ()  # no suggestions where nothing is missing
    assert coverage.gaps == ["awareness", "intake", "referral", "stabilisation", "planning"]
    assert [s.name for s in phases["awareness"].suggestions] == ["Nederlandse Schuldhulproute"]
    assert phases["intake"].suggestions == ()  # a gap nothing in the catalogue fills


def test_suggestions_rank_by_evidence_level_then_sites_and_unrated_projects_last():
    unrated = entry("A unrated", "planning", level=None)
    practice_many = entry("B practice, many sites", "planning", level="practice_based")
    practice_few = entry("C practice, few sites", "planning", level="practice_based")
    evaluated = entry("D evaluated", "planning", level="evaluated")
    effective = entry("E effective", "planning", level="effective")
    sites = {unrated.project_id: 9, practice_many.project_id: 5, practice_few.project_id: 1,
             evaluated.project_id: 0, effective.project_id: 0}
    coverage = lab_coverage(LAB.id, [], [unrated, practice_few, evaluated, practice_many, effective], sites)
    ranked = by_phase(coverage)["planning"].suggestions
    assert [s.name for s in ranked] == ["E effective", "D evaluated", "B practice, many sites",
                                        "C practice, few sites", "A unrated"]
    assert [s.sites for s in ranked] == [0, 0, 5, 1, 9]


def test_stopped_and_handed_over_implementations_cover_nothing_and_adopted_projects_are_not_suggested():
    stopped = entry("Doorbraakmethode", "stabilisation", "planning")
    handed = entry("Collectief Schuldregelen", "planning", "debt_reduction")
    paused = entry("Nederlandse Schuldhulproute", "awareness", "referral")
    other = entry("Another planning project", "planning")
    s = adopt(stopped)
    s.stop(reason="No partner would pay", by="kim", at=NOW)
    h = adopt(handed)
    h.record_funding(source=MUNICIPALITY, kind=FundingKind.BASE, amount_eur="10.00", by="kim", at=NOW)
    h.start_running(NOW, by="kim")
    h.record_impact(period_start=date(2025, 1, 1), period_end=date(2025, 1, 31), households_reached=1,
                    households_debt_free=0, notes="", by="kim", at=NOW)
    h.hand_over(to=["Gemeente Schiedam"], regular_operations="Regular", by="kim", at=NOW)
    p = adopt(paused)
    p.pause(reason="Waiting for the budget", by="kim", at=NOW)
    coverage = lab_coverage(LAB.id, [s, h, p], [stopped, handed, paused, other], {})
    phases = by_phase(coverage)
    assert phases["awareness"].covered  # paused is still the lab's current work
    assert not phases["stabilisation"].covered and not phases["planning"].covered
    assert not phases["debt_reduction"].covered
    assert [x.name for x in phases["planning"].suggestions] == ["Another planning project"]
    assert phases["stabilisation"].suggestions == ()


def test_withdrawn_projects_are_not_suggested_but_a_withdrawn_one_under_way_still_covers():
    under_way = entry("Jongeren Perspectief Fonds", "aftercare")
    gone = entry("Left the catalogue", "intake")
    implementation = adopt(under_way)
    catalogue = [withdrawn(under_way.project_id, as_of=NOW, current=under_way),
                 withdrawn(gone.project_id, as_of=NOW, current=gone)]
    phases = by_phase(lab_coverage(LAB.id, [implementation], catalogue, {}))
    assert phases["aftercare"].covered
    assert phases["intake"].suggestions == ()
