"""Portfolio coverage per phase, its gaps, and "more of the same" (similarity in phases and content)."""

from __future__ import annotations

import itertools
from dataclasses import replace

from assessment.domain.dossier import PHASES
from assessment.domain.portfolio import Portfolio, PortfolioProject, compare
from schuldenlab.demo_data import KNOWN_PROJECTS
from tests.unit.assessment.assessment_fakes import dossier_from, known

JPF = "Jongeren Perspectief Fonds"


def _proven(*names: str) -> list[PortfolioProject]:
    return [PortfolioProject.from_dossier(known(n)) for n in names]


def _youth_fund_copy() -> PortfolioProject:
    """A second youth debt fund: the same approach under another name, in the same phases."""
    return PortfolioProject.from_dossier(known(
        JPF, name="Jongerenfonds Rotterdam",
        summary="Young people aged 18-27 have their debts taken over by a fund in exchange for a plan towards "
                "school or work and a social internship.",
        problem="Young people with problematic debts cannot start school or work; their debts grow.",
        themes=("jongeren", "werk en school")))


def test_an_empty_portfolio_has_every_phase_as_a_gap():
    assert Portfolio([]).gaps() == PHASES


def test_gaps_close_as_projects_are_proven():
    portfolio = Portfolio(_proven(JPF, "Nederlandse Schuldhulproute"))
    assert portfolio.gaps() == ("intake", "stabilisation", "planning")
    portfolio = Portfolio(_proven(JPF, "Nederlandse Schuldhulproute", "Doorbraakmethode"))
    assert portfolio.gaps() == ("intake",)
    coverage = portfolio.by_phase()
    assert [p.name for p in coverage["debt_reduction"]] == [JPF]
    assert coverage["intake"] == []


def test_the_known_projects_are_not_more_of_the_same_as_each_other():
    projects = [PortfolioProject.from_dossier(dossier_from(p)) for p in KNOWN_PROJECTS]
    for a, b in itertools.combinations(projects, 2):
        assert not compare(a, b).is_more_of_the_same, (a.name, b.name)


def test_a_copy_of_a_proven_approach_in_the_same_phases_is_more_of_the_same():
    [jpf] = _proven(JPF)
    similarity = compare(_youth_fund_copy(), jpf)
    assert similarity.is_more_of_the_same
    assert similarity.shared_phases == ("debt_reduction", "aftercare")


def test_the_same_content_in_other_phases_is_not_more_of_the_same():
    [jpf] = _proven(JPF)
    elsewhere = replace(_youth_fund_copy(), phases=("awareness", "intake"))
    assert not compare(elsewhere, jpf).is_more_of_the_same


def test_other_content_in_the_same_phases_is_not_more_of_the_same():
    [collectief] = _proven("Collectief Schuldregelen")
    other = PortfolioProject.from_dossier(known("Doorbraakmethode", phases=("planning", "debt_reduction")))
    assert compare(other, collectief).phase_overlap == 1.0
    assert not compare(other, collectief).is_more_of_the_same


def test_a_project_filling_a_gap_adds_to_the_portfolio():
    portfolio = Portfolio(_proven(JPF, "Collectief Schuldregelen"))
    fit = portfolio.fit(PortfolioProject.from_dossier(known("Nederlandse Schuldhulproute")))
    assert fit.gap_phases == ("awareness", "referral")
    assert fit.adds_to_portfolio and fit.similar_project_ids == ()


def test_more_of_the_same_in_covered_phases_does_not_add_to_the_portfolio():
    portfolio = Portfolio(_proven(JPF, "Collectief Schuldregelen"))
    jpf_id = next(p.project_id for p in portfolio.projects.values() if p.name == JPF)
    fit = portfolio.fit(_youth_fund_copy())
    assert fit.gap_phases == ()
    assert fit.similar_project_ids == (jpf_id,)
    assert not fit.adds_to_portfolio


def test_more_of_the_same_still_adds_when_it_also_fills_a_gap():
    portfolio = Portfolio(_proven(JPF))
    copy_with_gap = replace(_youth_fund_copy(), phases=("planning", "debt_reduction", "aftercare"))
    fit = portfolio.fit(copy_with_gap)
    assert fit.similar_project_ids and fit.gap_phases == ("planning",)
    assert fit.adds_to_portfolio


def test_a_project_is_never_similar_to_itself():
    portfolio = Portfolio(_proven(JPF))
    [jpf] = portfolio.projects.values()
    assert portfolio.fit(jpf).similar == () and portfolio.fit(jpf).gap_phases == ("debt_reduction", "aftercare")
