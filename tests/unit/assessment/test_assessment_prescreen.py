"""The automatic pre-screen on the known proven projects of DOMAIN.md and on weak dossiers."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assessment.domain.dossier import Partner
from assessment.domain.prescreen import Outcome, prescreen
from schuldenlab.demo_data import KNOWN_PROJECTS
from tests.unit.assessment.assessment_fakes import dossier_from, known, weak_dossier


@pytest.mark.parametrize("submission", KNOWN_PROJECTS, ids=lambda p: p["name"])
def test_known_proven_projects_meet_every_criterion_in_the_prescreen(submission):
    screen = prescreen(dossier_from(submission))
    assert (screen.workable.outcome, screen.reusable.outcome, screen.available.outcome) == (Outcome.MET,) * 3
    assert all(screen.workable.reasons) and screen.reusable.reasons and screen.available.reasons


def test_a_weak_dossier_fails_workable_reusable_and_available_with_readable_reasons():
    screen = prescreen(weak_dossier())
    assert screen.workable.outcome is Outcome.NOT_MET
    assert "does not run in production yet" in screen.workable.reasons
    assert "no clients served yet" in screen.workable.reasons
    assert any("only 1 party" in r for r in screen.workable.reasons)
    assert any("results are not described" in r for r in screen.workable.reasons)
    assert screen.reusable.outcome is Outcome.NOT_MET
    assert "no private partner involved" in screen.reusable.reasons
    assert screen.available.outcome is Outcome.NOT_MET
    assert screen.available.reasons == ("not available to others yet",)


def test_workable_is_unclear_when_results_and_continuity_are_not_described():
    screen = prescreen(known("Doorbraakmethode", results="n/a", continuity_model="tbd", evidence_urls=()))
    assert screen.workable.outcome is Outcome.UNCLEAR
    assert "results are not described" in screen.workable.reasons
    assert any("continuity model" in r for r in screen.workable.reasons)
    assert any("evidence" in r for r in screen.workable.reasons)


def test_reusable_needs_both_public_and_private_partners():
    only_public = known("Collectief Schuldregelen",
                        partners=(Partner("Gemeente Leiden", "public"), Partner("NVVK", "societal")))
    screen = prescreen(only_public)
    assert screen.reusable.outcome is Outcome.NOT_MET
    assert screen.reusable.reasons[0] == "no private partner involved"


def test_a_problem_described_as_local_makes_reusable_unclear():
    local_words = known("Nederlandse Schuldhulproute",
                        problem="In our municipality people with arrears find help late.")
    named_town = known("Nederlandse Schuldhulproute", problem="People in Utrecht with arrears find help late.")
    for dossier in (local_words, named_town):
        screen = prescreen(dossier)
        assert screen.reusable.outcome is Outcome.UNCLEAR
        assert any("local" in r or "Utrecht" in r for r in screen.reusable.reasons)


def test_available_with_small_effort_counts_as_met():
    screen = prescreen(known("Doorbraakmethode"))
    assert screen.available.outcome is Outcome.MET
    assert screen.available.reasons == ("can be made available with small effort",)


def test_a_hard_failure_outweighs_doubts_in_the_same_criterion():
    screen = prescreen(replace(known("Doorbraakmethode"), in_production=False, results="?"))
    assert screen.workable.outcome is Outcome.NOT_MET
    assert "results are not described" in screen.workable.reasons


def test_a_problem_naming_a_municipality_that_starts_with_an_apostrophe_makes_reusable_unclear():
    # \b cannot match before "'s-Hertogenbosch" after a space; the place must still be recognised.
    dossier = known("Nederlandse Schuldhulproute", municipality="'s-Hertogenbosch",
                    problem="People in 's-Hertogenbosch with arrears find help late.")
    screen = prescreen(dossier)
    assert screen.reusable.outcome is Outcome.UNCLEAR
    assert "the problem is described in terms of 's-Hertogenbosch only" in screen.reusable.reasons
    elsewhere = known("Nederlandse Schuldhulproute", municipality="'s-Hertogenbosch",
                      problem="People with arrears find help late, in every municipality.")
    assert prescreen(elsewhere).reusable.outcome is Outcome.MET
