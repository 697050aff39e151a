"""The automatic pre-screen ("voorselectie") of the three criteria from the dossier; it informs, never decides."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from assessment.domain.dossier import Dossier


class Outcome(enum.StrEnum):
    MET = "met"
    NOT_MET = "not_met"
    UNCLEAR = "unclear"


@dataclass(frozen=True)
class CriterionScreen:
    outcome: Outcome
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Prescreen:
    workable: CriterionScreen
    reusable: CriterionScreen
    available: CriterionScreen


# Answers that fill a text field without saying anything; such a field counts as not described.
_PLACEHOLDERS = {"", "n/a", "na", "nvt", "n.v.t.", "none", "geen", "unknown", "onbekend", "tbd", "todo",
                 "-", "?", "not yet", "nog niet", "nothing yet", "no results yet", "nog geen"}
_MIN_DESCRIPTION = 20  # characters; shorter than a sentence is too thin for a reviewer to judge

# Phrases that mark a problem as specific to one place rather than widely shared.
_LOCAL_MARKERS = ("only in our", "in our municipality", "in our neighbourhood", "in our city", "in our town",
                  "specific to", "local issue", "local problem", "lokaal probleem", "in onze gemeente",
                  "in onze wijk", "in onze stad", "alleen in onze")


def _described(text: str) -> bool:
    stripped = text.strip().lower().rstrip(".")
    return stripped not in _PLACEHOLDERS and len(stripped) >= _MIN_DESCRIPTION


def _verdict(failures: list[str], doubts: list[str], passes: list[str]) -> CriterionScreen:
    if failures:
        return CriterionScreen(Outcome.NOT_MET, tuple(failures + doubts))
    if doubts:
        return CriterionScreen(Outcome.UNCLEAR, tuple(doubts + passes))
    return CriterionScreen(Outcome.MET, tuple(passes))


def screen_workable(d: Dossier) -> CriterionScreen:
    """Werkbaar: in production with real clients, results reported, a continuity model, several parties."""
    failures: list[str] = []
    doubts: list[str] = []
    passes: list[str] = []
    if d.in_production:
        passes.append("runs in production with real clients and data")
    else:
        failures.append("does not run in production yet")
    if d.clients_served > 0:
        passes.append(f"{d.clients_served} clients served")
    else:
        failures.append("no clients served yet")
    if _described(d.results):
        passes.append("results are reported (whether they are positive is for the reviewers)")
    else:
        doubts.append("results are not described")
    if d.evidence_urls:
        passes.append(f"{len(d.evidence_urls)} evidence link(s) given")
    else:
        doubts.append("no evidence links to reports or evaluations")
    if _described(d.continuity_model):
        passes.append("a continuity model is described")
    else:
        doubts.append("no continuity model described (what happens when subsidies end?)")
    if len(d.partners) >= 2:
        passes.append(f"{len(d.partners)} parties involved")
    else:
        failures.append(f"only {len(d.partners)} party involved; a sustainable model needs several")
    return _verdict(failures, doubts, passes)


def _local_signal(d: Dossier) -> str | None:
    text = f" {d.problem} {d.target_group} ".lower()
    for marker in _LOCAL_MARKERS:
        if marker in text:
            return f"the problem reads as local (it says {marker!r})"
    place = d.municipality.strip().lower()
    # Lookarounds, not \b: a name may start or end with a non-word character ('s-Hertogenbosch), where \b
    # would demand a word character on the other side and never match after a space.
    if place and re.search(rf"(?<!\w){re.escape(place)}(?!\w)", text):
        return f"the problem is described in terms of {d.municipality} only"
    return None


def screen_reusable(d: Dossier) -> CriterionScreen:
    """Herbruikbaar: public and private partners both involved, and a generic rather than a local problem."""
    failures: list[str] = []
    doubts: list[str] = []
    passes: list[str] = []
    kinds = {p.kind for p in d.partners}
    for kind in ("public", "private"):
        count = sum(1 for p in d.partners if p.kind == kind)
        if count:
            passes.append(f"{count} {kind} partner(s) involved")
        else:
            failures.append(f"no {kind} partner involved")
    if "societal" in kinds:
        passes.append("societal partners involved too")
    local = _local_signal(d)
    if local:
        doubts.append(local)
    else:
        passes.append("the problem is described as a generic, widely shared one")
    return _verdict(failures, doubts, passes)


def screen_available(d: Dossier) -> CriterionScreen:
    """Beschikbaar: available to others now, or with small effort."""
    if d.availability == "immediate":
        return CriterionScreen(Outcome.MET, ("available to other municipalities immediately",))
    if d.availability == "small_effort":
        return CriterionScreen(Outcome.MET, ("can be made available with small effort",))
    return CriterionScreen(Outcome.NOT_MET, ("not available to others yet",))


def prescreen(d: Dossier) -> Prescreen:
    return Prescreen(workable=screen_workable(d), reusable=screen_reusable(d), available=screen_available(d))
