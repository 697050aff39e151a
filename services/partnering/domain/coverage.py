"""Which of the seven phases of debt assistance a lab's current implementations cover, and what would fill a gap."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from partnering.domain.implementation import Implementation
from partnering.domain.model import CatalogueEntry

# The seven phases in the order of debt assistance (DOMAIN.md); the same codes as the contracts' Phase.
PHASES = ("awareness", "intake", "referral", "stabilisation", "planning", "debt_reduction", "aftercare")
# Best evidence first; a project without a rating (a feed record from before evidence levels) ranks last.
EVIDENCE_RANK = {"effective": 3, "evaluated": 2, "practice_based": 1}


@dataclass(frozen=True)
class Suggestion:
    """A proven project that covers a gap and that the lab has never adopted."""

    project_id: uuid.UUID
    name: str
    evidence_level: str | None
    sites: int  # labs where it runs: implementations under way or handed over, not stopped
    phases: tuple[str, ...]


@dataclass(frozen=True)
class PhaseCoverage:
    phase: str
    implementations: tuple[Implementation, ...]  # the lab's current ones covering the phase
    suggestions: tuple[Suggestion, ...]  # only for a gap, best first

    @property
    def covered(self) -> bool:
        return bool(self.implementations)


@dataclass(frozen=True)
class Coverage:
    lab_id: uuid.UUID
    phases: tuple[PhaseCoverage, ...]

    @property
    def gaps(self) -> list[str]:
        return [p.phase for p in self.phases if not p.covered]


def _rank(suggestion: Suggestion) -> tuple:
    return (-EVIDENCE_RANK.get(suggestion.evidence_level or "", 0), -suggestion.sites, suggestion.name.casefold(),
            str(suggestion.project_id))


def lab_coverage(lab_id: uuid.UUID, implementations: Iterable[Implementation],
                 catalogue: Iterable[CatalogueEntry], sites: Mapping[uuid.UUID, int]) -> Coverage:
    """`implementations`: the lab's, of any status; `catalogue`: the replica's entries; `sites`: per project the
    number of labs where it runs.

    Current = not closed (preparing, running, paused): a paused implementation still belongs to the lab's work,
    while a stopped or handed-over one no longer does. A project the lab has adopted before, in any status, is
    never suggested: the lab knows it (a stopped attempt included) and can adopt it again on purpose."""
    entries = {e.project_id: e for e in catalogue}
    own = list(implementations)
    adopted = {i.project_id for i in own}
    current = [i for i in own if not i.is_closed]
    candidates = [Suggestion(project_id=e.project_id, name=e.name, evidence_level=e.evidence_level,
                             sites=sites.get(e.project_id, 0), phases=e.phases)
                  for e in entries.values() if e.is_proven and e.project_id not in adopted]
    result = []
    for phase in PHASES:
        covering = tuple(i for i in current if phase in (entries[i.project_id].phases if i.project_id in entries
                                                        else ()))
        suggestions = () if covering else tuple(sorted((s for s in candidates if phase in s.phases), key=_rank))
        result.append(PhaseCoverage(phase=phase, implementations=covering, suggestions=suggestions))
    return Coverage(lab_id=lab_id, phases=tuple(result))
