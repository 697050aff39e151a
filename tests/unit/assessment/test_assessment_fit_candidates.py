"""The fit from candidates only: which proven projects can be more of the same, and that they suffice."""

from __future__ import annotations

import itertools
import random
import uuid
from fractions import Fraction

from assessment.domain.dossier import PHASES
from assessment.domain.portfolio import (
    CONTENT_FLOOR,
    PHASE_THRESHOLD,
    Portfolio,
    PortfolioProject,
    alike_phase_sets,
    compare,
    fit_against,
)

WORDS = ("jongeren", "schuldeisers", "budgetcoaching", "energiearmoede", "huurachterstand", "gemeente",
         "inkomen", "werkgevers", "buurtteam", "wijkcoach", "nazorg", "preventie", "toeslagen", "studenten")


def _project(rng: random.Random) -> PortfolioProject:
    return PortfolioProject(project_id=uuid.uuid4(), name=rng.choice(WORDS),
                            phases=tuple(rng.sample(PHASES, rng.randint(1, 4))),
                            summary=" ".join(rng.choices(WORDS, k=rng.randint(0, 9))),
                            problem=" ".join(rng.choices(WORDS, k=rng.randint(0, 4))))


def _could_be_similar(candidate: PortfolioProject, proven: PortfolioProject) -> bool:
    """What the portfolio's index selects: a shared phase and a word overlap of at least CONTENT_FLOOR."""
    a, b = candidate.words(), proven.words()
    return bool(set(candidate.phases) & set(proven.phases)) and bool(a | b) and \
        Fraction(len(a & b), len(a | b)) >= CONTENT_FLOOR


def test_every_project_that_is_more_of_the_same_passes_the_candidate_bound():
    rng = random.Random(5)
    projects = [_project(rng) for _ in range(300)]
    pairs = [(a, b) for a in projects[:100] for b in projects[100:]]
    similar = [(a, b) for a, b in pairs if compare(a, b).is_more_of_the_same]
    assert similar, "the generated projects must include similar pairs"
    assert all(_could_be_similar(a, b) for a, b in similar)
    # And it selects: most pairs fail it, so the index has something to leave out.
    assert sum(_could_be_similar(a, b) for a, b in pairs) < len(pairs) / 2


def test_the_fit_from_the_candidates_alone_equals_the_fit_over_the_whole_portfolio_in_any_order():
    rng = random.Random(9)
    proven = [_project(rng) for _ in range(200)]
    whole = Portfolio(proven)
    for candidate in [_project(rng) for _ in range(50)] + proven[:5]:
        covered = {ph for p in proven if p.project_id != candidate.project_id for ph in p.phases}
        candidates = [p for p in proven if _could_be_similar(candidate, p)]
        rng.shuffle(candidates)
        assert fit_against(candidate, covered & set(candidate.phases), candidates) == whole.fit(candidate)


def test_equal_scores_and_names_are_ordered_by_project_id_whatever_order_they_come_in():
    base = PortfolioProject(project_id=uuid.uuid4(), name="Budgetcoaching", phases=("intake",),
                            summary="budgetcoaching jongeren gemeente")
    twins = [PortfolioProject(project_id=uuid.uuid4(), name="Budgetcoaching", phases=("intake",),
                              summary="budgetcoaching jongeren gemeente") for _ in range(5)]
    first = fit_against(base, {"intake"}, twins).similar_project_ids
    assert first == tuple(sorted((t.project_id for t in twins), key=str))
    assert fit_against(base, {"intake"}, list(reversed(twins))).similar_project_ids == first


def test_the_alike_phase_sets_are_exactly_those_whose_phase_overlap_is_enough():
    subsets = [frozenset(c) for n in range(len(PHASES) + 1) for c in itertools.combinations(PHASES, n)]
    for phases in [*subsets, frozenset({"intake", "not_a_phase"})]:
        candidate = PortfolioProject(project_id=uuid.uuid4(), name="x", phases=tuple(phases))
        alike = alike_phase_sets(phases)
        for other in subsets:
            proven = PortfolioProject(project_id=uuid.uuid4(), name="x", phases=tuple(other))
            assert (other in alike) == (compare(candidate, proven).phase_overlap >= PHASE_THRESHOLD), (phases, other)
    # Equal to one half is alike, below it is not: {a, b} against {a} (1/2) and {a, c} (1/3).
    assert frozenset({"intake"}) in alike_phase_sets(frozenset({"intake", "referral"}))
    assert frozenset({"intake", "planning"}) not in alike_phase_sets(frozenset({"intake", "referral"}))
