"""Domain objects as the response bodies of partnering's HTTP API."""

from __future__ import annotations

from dataclasses import asdict

from partnering.domain.implementation import FundingKind, Implementation
from partnering.domain.lab import Lab, SetupStep
from partnering.domain.membership import Member
from partnering.entrypoints import schemas
from partnering.service_layer.handlers import LabView


def _who(subject: str | None, shows_people: bool) -> str | None:
    """A token subject (often a person's name), or null for a reader who is not one of the lab's own."""
    return subject if shows_people else None


def implementation_out(i: Implementation, *, shows_people: bool) -> schemas.ImplementationOut:
    return schemas.ImplementationOut(
        id=i.id, lab_id=i.lab_id, project_id=i.project_id, project_name=i.project_name,
        municipalities=list(i.municipalities), status=i.status.value, started_at=i.started_at,
        started_by=_who(i.started_by, shows_people), running_since=i.running_since,
        running_by=_who(i.running_by, shows_people),
        funding=[schemas.FundingOut(**{**asdict(f), "kind": f.kind.value,
                                       "recorded_by": _who(f.recorded_by, shows_people)}) for f in i.fundings],
        funding_totals=schemas.FundingTotals(
            base_eur=i.funding_total(FundingKind.BASE), additional_eur=i.funding_total(FundingKind.ADDITIONAL),
            total_eur=i.funding_total(), municipal_base_recorded=i.has_municipal_base_funding,
        ),
        impact=[schemas.ImpactOut(**{**asdict(m), "recorded_by": _who(m.recorded_by, shows_people)})
                for m in i.impacts],
        impact_totals=schemas.ImpactTotalsOut(**asdict(i.impact_totals)),
        handover=schemas.HandoverOut(**{**asdict(i.handover), "handed_over_to": list(i.handover.handed_over_to),
                                        "handed_over_by": _who(i.handover.handed_over_by, shows_people)})
        if i.handover else None,
        stage=i.stage.value, status_reason=i.status_reason,
        changes=[schemas.ChangeOut(stage=c.stage.value, status=c.status.value, reason=c.reason,
                                   changed_at=c.changed_at, changed_by=_who(c.changed_by, shows_people))
                 for c in i.changes],
    )


def checklist_out(lab: Lab, *, shows_people: bool) -> list[schemas.StepOut]:
    steps = []
    for step in SetupStep:
        record = lab.checklist.get(step)
        steps.append(schemas.StepOut(step=step.value, done=record is not None,
                                     done_by=_who(record.done_by, shows_people) if record else None,
                                     done_at=record.done_at if record else None,
                                     note=record.note if record else None))
    return steps


def lab_out(view: LabView) -> schemas.LabOut:
    lab = view.lab
    return schemas.LabOut(
        id=lab.id, name=lab.name, municipalities=list(lab.municipalities), region=lab.region,
        status=lab.status.value, created_at=lab.created_at, formed_at=lab.formed_at,
        formed_by=_who(lab.formed_by, view.shows_people), founding_partner_ids=list(lab.founding_partner_ids),
        partners=[schemas.PartnerOut(**{**asdict(p), "kind": p.kind.value}) for p in lab.partners],
        checklist=checklist_out(lab, shows_people=view.shows_people),
        implementations=[implementation_out(i, shows_people=view.shows_people) for i in view.implementations],
    )


def member_out(member: Member) -> schemas.MemberOut:
    return schemas.MemberOut(subject=member.subject, added_by=member.added_by, added_at=member.added_at)


def lab_summary(lab: Lab) -> schemas.LabSummary:
    return schemas.LabSummary(id=lab.id, name=lab.name, municipalities=list(lab.municipalities), region=lab.region,
                              status=lab.status.value, created_at=lab.created_at, formed_at=lab.formed_at,
                              partner_count=len(lab.partners), steps_done=len(lab.checklist))
