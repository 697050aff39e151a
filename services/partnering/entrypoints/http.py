"""HTTP routes of partnering; each translates a request into a command and calls a handler."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends, Request, Response

from partnering.domain import commands
from partnering.domain.membership import Actor
from partnering.entrypoints import schemas, views
from partnering.entrypoints.metrics import FUNDING_EUR, IMPLEMENTATION_CHANGES, LAB_CHANGES
from partnering.service_layer import handlers
from servicekit import pagination
from servicekit.auth import Principal, current_principal, require_role
from servicekit.openapi import problems
from servicekit.service import get_runtime

router = APIRouter(prefix="/v1")
# Reading needs a token with a platform role (labs are not among SPEC's public resources); changing needs `lab`,
# and the service layer then admits only the lab's members (and the operator).
reader = Depends(current_principal)
changer = Depends(require_role("lab"))


def _is_operator(who: Principal) -> bool:
    return "operator" in who.roles


def _viewer(who: Principal) -> Actor:
    return Actor(who.subject, is_operator=_is_operator(who), holds_lab_role="lab" in who.roles)


LABS = ["labs"]
LAB_PAGES = "lb1"  # the kind of cursor GET /v1/labs issues: another list's cursor is refused here
IMPLEMENTATIONS = ["implementations"]

# What each refusal means here; 403 also covers a lab token of someone who is not a member of the lab.
NOT_A_MEMBER = "The token's roles do not allow this, it carries no platform role, or its subject is not a member " \
               "of the lab (only members and the operator change a lab)."
NO_LAB = "No lab with this id."
NO_IMPLEMENTATION = "No implementation with this id."
REFUSED = "A rule of the lab refuses it now; `conditions` names every unmet condition."


def _lab_problems(*statuses: int) -> dict:
    return problems(403, 404, *statuses, described={403: NOT_A_MEMBER, 404: NO_LAB, 409: REFUSED})


def _implementation_problems(*statuses: int) -> dict:
    return problems(403, 404, *statuses, described={403: NOT_A_MEMBER, 404: NO_IMPLEMENTATION, 409: REFUSED})


@router.post("/labs", status_code=201, tags=LABS, summary="Create a lab; it starts as forming")
async def create_lab(body: schemas.LabCreate, request: Request, who: Principal = changer) -> schemas.LabOut:
    cmd = commands.CreateLab(name=body.name, municipalities=body.municipalities, region=body.region, by=who.subject,
                             by_operator=_is_operator(who))
    async with get_runtime(request).transaction() as uow:
        lab = await handlers.create_lab(cmd, uow)
    LAB_CHANGES.labels("created").inc()
    return views.lab_out(handlers.LabView(lab, [], shows_people=True))


@router.get("/labs", tags=LABS, summary="The labs, briefly, in the order they were created; cursor pages")
async def list_labs(request: Request, cursor: pagination.Cursor = None,
                    limit: pagination.Limit = pagination.DEFAULT_LIMIT, _: Principal = reader) -> schemas.LabList:
    after = pagination.position(LAB_PAGES, cursor)
    async with get_runtime(request).transaction() as uow:
        labs = await handlers.list_labs(uow, after, limit + 1)
    page, next_cursor = pagination.next_cursor(LAB_PAGES, labs, limit, lambda lab: (lab.created_at, lab.id))
    return schemas.LabList(items=[views.lab_summary(lab) for lab in page], next_cursor=next_cursor)


@router.get("/labs/{lab_id}", tags=LABS, summary="A lab with partners, set-up checklist and implementations",
            responses=problems(404, described={404: NO_LAB}))
async def get_lab(lab_id: uuid.UUID, request: Request, who: Principal = reader) -> schemas.LabOut:
    async with get_runtime(request).transaction() as uow:
        view = await handlers.get_lab(lab_id, uow, _viewer(who))
    return views.lab_out(view)


@router.get("/labs/{lab_id}/members", tags=LABS,
            summary="Who may change the lab besides the operator (members and the operator only)",
            responses=_lab_problems())
async def list_lab_members(lab_id: uuid.UUID, request: Request, who: Principal = reader) -> schemas.MemberList:
    async with get_runtime(request).transaction() as uow:
        members = await handlers.list_lab_members(lab_id, uow, _viewer(who))
    return schemas.MemberList(items=[views.member_out(m) for m in members])


@router.post("/labs/{lab_id}/members", status_code=201, tags=LABS,
             summary="Add a member: a lab token with this subject may then change the lab",
             responses=_lab_problems(409))
async def add_lab_member(lab_id: uuid.UUID, body: schemas.MemberCreate, request: Request,
                         who: Principal = changer) -> schemas.MemberOut:
    cmd = commands.AddLabMember(lab_id=lab_id, subject=body.subject, by=who.subject, by_operator=_is_operator(who))
    async with get_runtime(request).transaction() as uow:
        member = await handlers.add_lab_member(cmd, uow)
    LAB_CHANGES.labels("member_added").inc()
    return views.member_out(member)


@router.delete("/labs/{lab_id}/members/{subject}", status_code=204, tags=LABS,
               summary="Remove a member; a member cannot remove the last one",
               responses=problems(403, 404, 409, described={
                   403: NOT_A_MEMBER, 404: "No lab with this id, or the subject is not one of its members.",
                   409: "The subject is the lab's last member; `conditions` says so."}))
async def remove_lab_member(lab_id: uuid.UUID, subject: str, request: Request,
                            who: Principal = changer) -> Response:
    cmd = commands.RemoveLabMember(lab_id=lab_id, subject=subject, by=who.subject, by_operator=_is_operator(who))
    async with get_runtime(request).transaction() as uow:
        await handlers.remove_lab_member(cmd, uow)
    LAB_CHANGES.labels("member_removed").inc()
    return Response(status_code=204)


@router.put("/labs/{lab_id}/checklist/{step}", tags=LABS, summary="Mark a set-up step done (who and when recorded)",
            responses=_lab_problems())
async def complete_setup_step(lab_id: uuid.UUID, step: str, body: schemas.StepUpdate, request: Request,
                              who: Principal = changer) -> schemas.StepOut:
    cmd = commands.CompleteSetupStep(lab_id=lab_id, step=step, note=body.note, by=who.subject,
                                     by_operator=_is_operator(who))
    async with get_runtime(request).transaction() as uow:
        record = await handlers.complete_setup_step(cmd, uow)
    return schemas.StepOut(step=record.step.value, done=True, done_by=record.done_by, done_at=record.done_at,
                           note=record.note)


@router.post("/labs/{lab_id}/partners", status_code=201, tags=LABS,
             summary="A partner joins the lab with a commitment (PartnerJoined)",
             responses=_lab_problems(409))
async def join_lab(lab_id: uuid.UUID, body: schemas.PartnerCreate, request: Request,
                   who: Principal = changer) -> schemas.PartnerOut:
    cmd = commands.JoinLab(lab_id=lab_id, organisation=body.organisation, kind=body.kind, sector=body.sector,
                           is_municipality=body.is_municipality, commitment=body.commitment, by=who.subject,
                           by_operator=_is_operator(who))
    async with get_runtime(request).transaction() as uow:
        partner = await handlers.join_lab(cmd, uow)
    LAB_CHANGES.labels("partner_joined").inc()
    return schemas.PartnerOut(id=partner.id, organisation=partner.organisation, kind=partner.kind.value,
                              sector=partner.sector, is_municipality=partner.is_municipality,
                              commitment=partner.commitment, joined_at=partner.joined_at)


@router.post("/labs/{lab_id}/formation", tags=LABS,
             summary="Form the lab (LabFormed); 409 naming every unmet condition",
             responses=_lab_problems(409))
async def form_lab(lab_id: uuid.UUID, request: Request, who: Principal = changer) -> schemas.LabOut:
    async with get_runtime(request).transaction() as uow:
        await handlers.form_lab(commands.FormLab(lab_id=lab_id, by=who.subject, by_operator=_is_operator(who)), uow)
        view = await handlers.get_lab(lab_id, uow, _viewer(who))
    LAB_CHANGES.labels("formed").inc()
    return views.lab_out(view)


@router.post("/labs/{lab_id}/implementations", status_code=201, tags=IMPLEMENTATIONS,
             summary="Implement a proven catalogue project in a formed lab (ImplementationStarted)",
             responses=_lab_problems(409))
async def start_implementation(lab_id: uuid.UUID, body: schemas.ImplementationCreate, request: Request,
                               who: Principal = changer) -> schemas.ImplementationOut:
    cmd = commands.StartImplementation(lab_id=lab_id, project_id=body.project_id, by=who.subject,
                                       by_operator=_is_operator(who))
    async with get_runtime(request).transaction() as uow:
        implementation = await handlers.start_implementation(cmd, uow)
    IMPLEMENTATION_CHANGES.labels("started").inc()
    return views.implementation_out(implementation, shows_people=True)  # a member or the operator asked


@router.get("/implementations/{implementation_id}", tags=IMPLEMENTATIONS,
            summary="An implementation with funding, impact (and totals) and handover",
            responses=problems(404, described={404: NO_IMPLEMENTATION}))
async def get_implementation(implementation_id: uuid.UUID, request: Request,
                             who: Principal = reader) -> schemas.ImplementationOut:
    async with get_runtime(request).transaction() as uow:
        view = await handlers.get_implementation(implementation_id, uow, _viewer(who))
    return views.implementation_out(view.implementation, shows_people=view.shows_people)


@router.post("/implementations/{implementation_id}/funding", status_code=201, tags=IMPLEMENTATIONS,
             summary="Record funding from a partner or municipality (exact euros)",
             responses=_implementation_problems(409))
async def record_funding(implementation_id: uuid.UUID, body: schemas.FundingCreate, request: Request,
                         who: Principal = changer) -> schemas.ImplementationOut:
    cmd = commands.RecordFunding(implementation_id=implementation_id, source=body.source, kind=body.kind,
                                 amount_eur=body.amount_eur, by=who.subject, by_operator=_is_operator(who))
    async with get_runtime(request).transaction() as uow:
        funding = await handlers.record_funding(cmd, uow)
        view = await handlers.get_implementation(implementation_id, uow, _viewer(who))
    IMPLEMENTATION_CHANGES.labels("funded").inc()
    FUNDING_EUR.labels(funding.kind.value).inc(float(funding.amount_eur))  # for dashboards; the books stay exact in SQL
    return views.implementation_out(view.implementation, shows_people=view.shows_people)


@router.post("/implementations/{implementation_id}/start", tags=IMPLEMENTATIONS,
             summary="From preparing to running; needs municipal base funding",
             responses=_implementation_problems(409))
async def start_running(implementation_id: uuid.UUID, request: Request,
                        who: Principal = changer) -> schemas.ImplementationOut:
    async with get_runtime(request).transaction() as uow:
        implementation = await handlers.start_running(
            commands.StartRunning(implementation_id=implementation_id, by=who.subject, by_operator=_is_operator(who)),
            uow)
    IMPLEMENTATION_CHANGES.labels("running").inc()
    return views.implementation_out(implementation, shows_people=True)  # a member or the operator asked


@router.post("/implementations/{implementation_id}/impact", status_code=201, tags=IMPLEMENTATIONS,
             summary="Record impact over a period, with optional outcomes and costs (ImpactRecorded); periods may "
                     "not overlap",
             responses=_implementation_problems(409))
async def record_impact(implementation_id: uuid.UUID, body: schemas.ImpactCreate, request: Request,
                        who: Principal = changer) -> schemas.ImplementationOut:
    cmd = commands.RecordImpact(implementation_id=implementation_id, period_start=body.period_start,
                                period_end=body.period_end, households_reached=body.households_reached,
                                households_debt_free=body.households_debt_free, notes=body.notes, by=who.subject,
                                by_operator=_is_operator(who), households_stabilised=body.households_stabilised,
                                median_days_to_stabilisation=body.median_days_to_stabilisation,
                                repeat_cases=body.repeat_cases, cost_eur=body.cost_eur, benefit_eur=body.benefit_eur)
    async with get_runtime(request).transaction() as uow:
        await handlers.record_impact(cmd, uow)
        view = await handlers.get_implementation(implementation_id, uow, _viewer(who))
    IMPLEMENTATION_CHANGES.labels("impact").inc()
    return views.implementation_out(view.implementation, shows_people=view.shows_people)


@router.post("/implementations/{implementation_id}/handover", tags=IMPLEMENTATIONS,
             summary="Hand over to regular operations (ProjectHandedOver); the implementation closes",
             responses=_implementation_problems(409))
async def hand_over_implementation(implementation_id: uuid.UUID, body: schemas.HandoverCreate, request: Request,
                                   who: Principal = changer) -> schemas.ImplementationOut:
    cmd = commands.HandOverImplementation(implementation_id=implementation_id, handed_over_to=body.handed_over_to,
                                          regular_operations=body.regular_operations, by=who.subject,
                                          by_operator=_is_operator(who))
    async with get_runtime(request).transaction() as uow:
        implementation = await handlers.hand_over_implementation(cmd, uow)
    IMPLEMENTATION_CHANGES.labels("handed_over").inc()
    return views.implementation_out(implementation, shows_people=True)  # a member or the operator asked
