"""One valid payload per event, built from the known proven projects in DOMAIN.md."""

import uuid
from datetime import UTC, datetime

from pydantic import BaseModel

from schuldenlab_contracts import (
    Availability,
    CatalogueProject,
    Criteria,
    CriterionVerdict,
    ImpactTotals,
    ImplementationStarted,
    LabFormed,
    Origin,
    PartnerJoined,
    PartnerKind,
    Phase,
    PortfolioFit,
    ProjectAssessed,
    ProjectHandedOver,
    ProjectPartner,
    ProjectSubmitted,
    Verdict,
)

PROJECT_ID = uuid.UUID("0b7f6f0e-3d2a-4c1e-9a51-6f3e2d1c0b01")
LAB_ID = uuid.UUID("5a1c9e77-8b0d-4f2a-b6c3-1d2e3f4a5b02")
WHEN = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)

DOSSIER = {
    "project_id": PROJECT_ID,
    "revision": 1,
    "name": "Jongeren Perspectief Fonds",
    "summary": "Debts of young people are settled in exchange for a social internship and a plan.",
    "problem": "Young people with debts cannot start school or work.",
    "target_group": "Young people aged 18-27",
    "phases": [Phase.DEBT_REDUCTION, Phase.AFTERCARE],
    "themes": ["youth"],
    "origin": Origin(organisation="Gemeente Den Haag", municipality="Den Haag", lab_id=LAB_ID),
    "partners": [
        ProjectPartner(name="Gemeente Den Haag", kind=PartnerKind.PUBLIC),
        ProjectPartner(name="Haagse Woningcorporatie", kind=PartnerKind.PRIVATE),
    ],
    "in_production": True,
    "clients_served": 53,
    "results": "All 53 young people in the pilot became debt-free.",
    "evidence_urls": ["https://www.schuldenlab.nl/projecten/jongeren-perspectief-fonds"],
    "continuity_model": "Funded by the municipality and private partners together.",
    "availability": Availability.IMMEDIATE,
}


def _criterion() -> CriterionVerdict:
    return CriterionVerdict(met=True, notes="")


def sample_payloads() -> dict[type[BaseModel], BaseModel]:
    """A valid payload for every event model."""
    impl_id = uuid.uuid4()
    return {
        ProjectSubmitted: ProjectSubmitted(**DOSSIER, submitted_at=WHEN),
        ProjectAssessed: ProjectAssessed(
            project_id=PROJECT_ID,
            assessment_id=uuid.uuid4(),
            revision=1,
            verdict=Verdict.PROVEN,
            criteria=Criteria(workable=_criterion(), reusable=_criterion(), available=_criterion()),
            portfolio=PortfolioFit(
                phases=[Phase.DEBT_REDUCTION], adds_to_portfolio=True, similar_project_ids=[]
            ),
            rationale="Adds a proven approach for young people.",
            decided_at=WHEN,
        ),
        LabFormed: LabFormed(
            lab_id=LAB_ID,
            name="SchuldenlabMVS",
            municipalities=["Maassluis", "Vlaardingen", "Schiedam"],
            region="Nieuwe Waterweg",
            founding_partner_ids=[uuid.uuid4()],
            formed_at=WHEN,
        ),
        PartnerJoined: PartnerJoined(
            lab_id=LAB_ID,
            partner_id=uuid.uuid4(),
            organisation="Gemeente Schiedam",
            kind=PartnerKind.PUBLIC,
            sector="municipality",
            is_municipality=True,
            commitment="Appoints the kwartiermaker.",
            joined_at=WHEN,
        ),
        ImplementationStarted: ImplementationStarted(
            lab_id=LAB_ID,
            implementation_id=impl_id,
            project_id=PROJECT_ID,
            municipalities=["Schiedam"],
            started_at=WHEN,
        ),
        ProjectHandedOver: ProjectHandedOver(
            lab_id=LAB_ID,
            implementation_id=impl_id,
            project_id=PROJECT_ID,
            handed_over_to=["Gemeente Schiedam"],
            regular_operations="Part of the municipal debt assistance from 2026.",
            impact=ImpactTotals(households_reached=120, households_debt_free=45),
            handed_over_at=WHEN,
        ),
        CatalogueProject: CatalogueProject(
            **DOSSIER,
            assessment_id=uuid.uuid4(),
            decided_at=WHEN,
            labs_implementing=[LAB_ID],
            handovers=1,
            municipalities=["Den Haag", "Almere", "Eindhoven", "Emmen"],
            updated_at=WHEN,
        ),
    }
