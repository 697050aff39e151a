"""The submitted dossier as the assessment keeps it: the facts the afwegingskader judges."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

# The seven phases of debt assistance, in the order a household goes through them.
PHASES: tuple[str, ...] = (
    "awareness",  # early signalling and prevention ("bewustwording")
    "intake",  # intake and data exchange ("kennismaking")
    "referral",  # information and advice ("verwijzing")
    "stabilisation",  # stabilising the debt situation ("op orde komen")
    "planning",  # choosing a trajectory ("plan maken")
    "debt_reduction",  # the assistance trajectory ("schuld afbouwen")
    "aftercare",  # preventing relapse ("vinger aan de pols")
)


@dataclass(frozen=True)
class Partner:
    name: str
    kind: str  # public | private | societal


@dataclass(frozen=True)
class Dossier:
    """One revision of a project as submitted (never the contact person: the catalogue keeps that)."""

    project_id: uuid.UUID
    revision: int
    name: str
    summary: str
    problem: str
    target_group: str
    phases: tuple[str, ...]
    themes: tuple[str, ...]
    organisation: str
    municipality: str
    lab_id: uuid.UUID | None
    partners: tuple[Partner, ...]
    in_production: bool
    clients_served: int
    results: str
    evidence_urls: tuple[str, ...]
    continuity_model: str
    availability: str  # immediate | small_effort | not_yet
    submitted_at: datetime
