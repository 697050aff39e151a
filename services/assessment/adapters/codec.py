"""The assessment's domain objects as JSON documents for its jsonb columns, and back."""

from __future__ import annotations

import uuid
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from assessment.domain.dossier import Dossier, Partner
from assessment.domain.model import Criterion, CriterionResult, Decision, Finding, Verdict
from assessment.domain.portfolio import PortfolioFit, Similarity
from assessment.domain.prescreen import CriterionScreen, Outcome, Prescreen
from assessment.domain.rating import EvidenceLevel

_DOSSIER_FIELDS = tuple(f.name for f in fields(Dossier))


def dossier_to_json(d: Dossier) -> dict[str, Any]:
    # Field by field rather than `asdict`, whose deep copy of every value cost more than the rest of opening a
    # round (benchmarks.consumer_throughput); the partners are the only nested values.
    data = {name: getattr(d, name) for name in _DOSSIER_FIELDS}
    data.update(project_id=str(d.project_id), lab_id=str(d.lab_id) if d.lab_id else None,
                submitted_at=d.submitted_at.isoformat(),
                partners=[{"name": p.name, "kind": p.kind} for p in d.partners])
    return data


def dossier_from_json(data: dict[str, Any]) -> Dossier:
    return Dossier(**{
        **data,
        "project_id": uuid.UUID(data["project_id"]),
        "lab_id": uuid.UUID(data["lab_id"]) if data.get("lab_id") else None,
        "phases": tuple(data["phases"]), "themes": tuple(data["themes"]),
        "evidence_urls": tuple(data["evidence_urls"]),
        "partners": tuple(Partner(**p) for p in data["partners"]),
        "submitted_at": datetime.fromisoformat(data["submitted_at"]),
    })


def prescreen_to_json(p: Prescreen) -> dict[str, Any]:
    screens = {"workable": p.workable, "reusable": p.reusable, "available": p.available}
    return {c: {"outcome": s.outcome.value, "reasons": list(s.reasons)} for c, s in screens.items()}


def prescreen_from_json(data: dict[str, Any]) -> Prescreen:
    def screen(c: str) -> CriterionScreen:
        return CriterionScreen(Outcome(data[c]["outcome"]), tuple(data[c]["reasons"]))

    return Prescreen(workable=screen("workable"), reusable=screen("reusable"), available=screen("available"))


def fit_to_json(f: PortfolioFit) -> dict[str, Any]:
    return {"phases": list(f.phases), "gap_phases": list(f.gap_phases),
            "similar": [{**asdict(s), "project_id": str(s.project_id), "shared_phases": list(s.shared_phases)}
                        for s in f.similar]}


def fit_from_json(data: dict[str, Any]) -> PortfolioFit:
    similar = tuple(Similarity(**{**s, "project_id": uuid.UUID(s["project_id"]),
                                  "shared_phases": tuple(s["shared_phases"])}) for s in data["similar"])
    return PortfolioFit(phases=tuple(data["phases"]), gap_phases=tuple(data["gap_phases"]), similar=similar)


def findings_to_json(findings: dict[Criterion, Finding]) -> dict[str, Any]:
    return {c.value: {"met": f.met, "notes": f.notes} for c, f in findings.items()}


def findings_from_json(data: dict[str, Any]) -> dict[Criterion, Finding]:
    return {Criterion(c): Finding(met=f["met"], notes=f["notes"]) for c, f in data.items()}


def decision_to_json(d: Decision) -> dict[str, Any]:
    return {"verdict": d.verdict.value, "rationale": d.rationale, "override_reason": d.override_reason,
            "decided_by": d.decided_by, "decided_at": d.decided_at.isoformat(),
            "criteria": {c.value: asdict(r) for c, r in d.criteria.items()}, "fit": fit_to_json(d.fit),
            "evidence_level": d.evidence_level.value if d.evidence_level else None,
            "valid_until": d.valid_until.isoformat() if d.valid_until else None}


def decision_from_json(data: dict[str, Any]) -> Decision:
    return Decision(verdict=Verdict(data["verdict"]), rationale=data["rationale"],
                    override_reason=data["override_reason"], decided_by=data["decided_by"],
                    decided_at=datetime.fromisoformat(data["decided_at"]),
                    criteria={Criterion(c): CriterionResult(**r) for c, r in data["criteria"].items()},
                    fit=fit_from_json(data["fit"]),
                    # Decisions stored before evidence levels have neither key.
                    evidence_level=EvidenceLevel(data["evidence_level"]) if data.get("evidence_level") else None,
                    valid_until=datetime.fromisoformat(data["valid_until"]) if data.get("valid_until") else None)
