"""The portfolio of proven projects per phase, and what a project adds to it ("wat voegt het toe?")."""

from __future__ import annotations

import functools
import itertools
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction

from assessment.domain.dossier import PHASES, Dossier

# Two projects are "more of the same" when they share at least half of their phases (Jaccard) AND
# their texts share enough of their significant words (Jaccard). Either alone is too weak a signal:
# many different approaches cover debt reduction, and many texts share the vocabulary of debt.
PHASE_THRESHOLD = 0.5
CONTENT_THRESHOLD = 0.2
_MIN_WORD = 4  # shorter words are mostly function words in Dutch and English alike
_WORD = re.compile(r"[^\W\d_]+")

# A lower bound of the content overlap of any project that is more of the same. The overlap is rounded to
# three decimals before it meets CONTENT_THRESHOLD, so 0.1995 still passes; 0.199 leaves room for the
# float error of that rounding. Whoever looks for candidates (the portfolio's word index) may drop a
# project below it without changing any fit.
CONTENT_FLOOR = Fraction(199, 1000)

# Words that say nothing about what a project is: function words and the vocabulary every debt project shares.
_STOPWORDS = frozenset([
    "with", "from", "that", "this", "they", "their", "them", "have", "been", "were", "will", "into",
    "than", "then", "when", "what", "which", "while", "where", "more", "most", "such", "also",
    "only", "about", "after", "before", "over", "under", "other", "some", "each", "every", "many",
    "much", "very", "people", "persons", "person", "project", "projects", "problem", "problems",
    "debt", "debts", "debtor", "debtors", "help", "helps", "helped", "voor", "door", "naar", "over",
    "onder", "bij", "met", "zijn", "wordt", "worden", "heeft", "hebben", "niet", "maar", "ook",
    "nog", "meer", "zoals", "mensen", "schuld", "schulden", "project", "projecten", "probleem",
    "problemen", "hulp",
])


@dataclass(frozen=True)
class PortfolioProject:
    """A proven project in the portfolio, with the content needed to compare it."""

    project_id: uuid.UUID
    name: str
    phases: tuple[str, ...]
    summary: str = ""
    problem: str = ""
    target_group: str = ""
    themes: tuple[str, ...] = ()
    proven_at: datetime | None = None

    @classmethod
    def from_dossier(cls, d: Dossier, proven_at: datetime | None = None) -> PortfolioProject:
        return cls(project_id=d.project_id, name=d.name, phases=d.phases, summary=d.summary, problem=d.problem,
                   target_group=d.target_group, themes=d.themes, proven_at=proven_at)

    def words(self) -> frozenset[str]:
        """The significant words of its texts (worked out once: a fit compares them with many projects)."""
        return self._words

    @functools.cached_property
    def _words(self) -> frozenset[str]:
        text = " ".join((self.name, self.summary, self.problem, self.target_group, *self.themes)).lower()
        return frozenset(w for w in _WORD.findall(text) if len(w) >= _MIN_WORD and w not in _STOPWORDS)


def _jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    a, b = set(a), set(b)
    return len(a & b) / len(a | b) if a | b else 0.0


@dataclass(frozen=True)
class Similarity:
    project_id: uuid.UUID
    name: str
    shared_phases: tuple[str, ...]
    phase_overlap: float
    content_overlap: float

    @property
    def is_more_of_the_same(self) -> bool:
        return self.phase_overlap >= PHASE_THRESHOLD and self.content_overlap >= CONTENT_THRESHOLD


def _phase_overlap(a: Iterable[str], b: Iterable[str]) -> float:
    return round(_jaccard(a, b), 3)


def compare(candidate: PortfolioProject, proven: PortfolioProject) -> Similarity:
    shared = tuple(p for p in PHASES if p in candidate.phases and p in proven.phases)
    return Similarity(project_id=proven.project_id, name=proven.name, shared_phases=shared,
                      phase_overlap=_phase_overlap(candidate.phases, proven.phases),
                      content_overlap=round(_jaccard(candidate.words(), proven.words()), 3))


@functools.cache
def alike_phase_sets(phases: frozenset[str]) -> frozenset[frozenset[str]]:
    """Every set of PHASES whose phase overlap with `phases` is enough for "more of the same".

    A proven project with any other set of (known) phases is never more of the same as a candidate with
    `phases`, whatever its words: whoever looks for candidates may leave it out.
    """
    subsets = (frozenset(c) for n in range(1, len(PHASES) + 1) for c in itertools.combinations(PHASES, n))
    return frozenset(s for s in subsets if _phase_overlap(phases, s) >= PHASE_THRESHOLD)


@dataclass(frozen=True)
class PortfolioFit:
    """What one project adds: the phases it would fill, and the proven projects it resembles."""

    phases: tuple[str, ...]
    gap_phases: tuple[str, ...]  # phases of the project that no proven project covers yet
    similar: tuple[Similarity, ...]  # proven projects that are "more of the same"

    @property
    def similar_project_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(s.project_id for s in self.similar)

    @property
    def adds_to_portfolio(self) -> bool:
        # It adds something when it fills a gap, or when nothing like it is proven yet.
        return bool(self.gap_phases) or not self.similar


class Portfolio:
    """The proven projects; a phase with none is a gap the board wants filled."""

    def __init__(self, projects: Iterable[PortfolioProject]) -> None:
        self.projects = {p.project_id: p for p in projects}

    def by_phase(self) -> dict[str, list[PortfolioProject]]:
        coverage: dict[str, list[PortfolioProject]] = {phase: [] for phase in PHASES}
        for project in sorted(self.projects.values(), key=lambda p: p.name.lower()):
            for phase in project.phases:
                if phase in coverage:
                    coverage[phase].append(project)
        return coverage

    def gaps(self) -> tuple[str, ...]:
        return tuple(phase for phase, projects in self.by_phase().items() if not projects)

    def fit(self, candidate: PortfolioProject) -> PortfolioFit:
        # A project is never "more of the same" as itself (e.g. re-assessed after being proven).
        others = [p for p in self.projects.values() if p.project_id != candidate.project_id]
        return fit_against(candidate, {phase for p in others for phase in p.phases}, others)


def fit_against(candidate: PortfolioProject, covered_phases: Iterable[str],
                proven: Iterable[PortfolioProject]) -> PortfolioFit:
    """The fit of `candidate` given what the portfolio holds, without holding all of it.

    `covered_phases`: the phases some other proven project covers (at least those of the candidate).
    `proven`: other proven projects, any subset that includes every one that is more of the same, such as
    those sharing a phase and an overlap of words of at least CONTENT_FLOOR. The fit equals
    `Portfolio(all proven).fit(candidate)`; the order of `proven` does not matter.
    """
    covered = set(covered_phases)
    others = (p for p in proven if p.project_id != candidate.project_id)
    # The project id breaks ties of equal scores and names, so the order never depends on how rows came.
    similar = sorted((s for s in (compare(candidate, p) for p in others) if s.is_more_of_the_same),
                     key=lambda s: (-s.content_overlap, -s.phase_overlap, s.name, str(s.project_id)))
    return PortfolioFit(phases=tuple(p for p in PHASES if p in candidate.phases),
                        gap_phases=tuple(p for p in PHASES if p in candidate.phases and p not in covered),
                        similar=tuple(similar))
