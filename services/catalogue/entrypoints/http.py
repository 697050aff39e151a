"""HTTP routes of the catalogue; each translates a request into a command and calls a handler."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import Counter
from pydantic_core import to_json

from catalogue.domain.model import Contact, Disclosure, Dossier, Project
from catalogue.entrypoints import cursors
from catalogue.entrypoints.limits import SUBMISSIONS_LIMIT
from catalogue.entrypoints.schemas import (
    CataloguePage,
    ChangesPage,
    ProjectOut,
    ProjectSubmission,
    ProjectSummaryOut,
    Resubmission,
    SubmissionAccepted,
    SubmissionCreated,
)
from catalogue.service_layer import handlers
from catalogue.service_layer.ports import CatalogueQuery
from schuldenlab_contracts.events import EvidenceLevel, Phase
from servicekit.auth import Principal, optional_principal, require_role
from servicekit.metrics import REGISTRY
from servicekit.openapi import problems
from servicekit.problems import Problem
from servicekit.ratelimit import RETRY_AFTER_HEADER
from servicekit.service import get_runtime

router = APIRouter(prefix="/v1", tags=["catalogue"])

Operator = Annotated[Principal, Depends(require_role())]
MaybePrincipal = Annotated[Principal | None, Depends(optional_principal)]
SubmitterKey = Annotated[str | None, Header(alias="X-Resubmission-Token", max_length=200,
                                            description="The submitter's key from the 201 of POST /v1/projects")]

NO_PROJECT = "No project with this id."
ETAG = {"ETag": {"description": "Of these exact bytes; send it back as If-None-Match to get a 304 when nothing "
                                "changed.", "schema": {"type": "string"}}}

SUBMISSIONS = Counter("schuldenlab_catalogue_submissions", "Project submissions and resubmissions accepted", ["kind"],
                      registry=REGISTRY)


def _dossier(body: ProjectSubmission) -> Dossier:
    data = body.model_dump(mode="json", exclude={"contact"})
    return Dossier(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


def _contact(body: ProjectSubmission) -> Contact | None:
    return Contact(body.contact.name, body.contact.email) if body.contact is not None else None


def _invalid_query(field: str, reason: str) -> Problem:
    return Problem(422, f"Invalid input: {field}: {reason}", errors=[{"field": field, "reason": reason}])


def _out(project: Project, disclosure: Disclosure) -> ProjectOut | ProjectSummaryOut:
    if disclosure is Disclosure.SUMMARY:
        return ProjectSummaryOut(id=project.id, name=project.dossier.name, status=project.status.value,
                                 revision=project.revision)
    show_contact = disclosure is Disclosure.WITH_CONTACT and project.contact is not None
    # The public sees what the catalogue shows: the verdict that listed the project, not earlier ones.
    verdicts = project.verdicts if disclosure is not Disclosure.PUBLIC else [project.listing_verdict]
    dossier = project.dossier.fields()
    return ProjectOut(
        id=project.id, revision=project.revision, status=project.status.value, submitted_at=project.submitted_at,
        **dossier,
        verdicts=[asdict(v) for v in verdicts if v is not None],
        implementations=[asdict(i) for i in project.implementations.values()],
        labs_implementing=project.labs_implementing, handovers=project.handovers,
        municipalities=project.municipalities,
        contact=asdict(project.contact) if show_contact else None,
        rating=None if project.rating is None else {
            "evidence_level": project.rating.evidence_level, "valid_until": project.rating.valid_until,
            "status": project.rating.status(datetime.now(UTC)).value},
        adoption=project.adoption, outcomes=project.outcomes,
    )


def _with_etag(content: bytes, if_none_match: str | None) -> Response:
    """A JSON response of `content` with an ETag of its exact bytes; 304 when the client already has them."""
    etag = f'"{hashlib.sha256(content).hexdigest()[:40]}"'
    if if_none_match is not None:
        offered = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        if etag in offered or "*" in offered:
            return Response(status_code=304, headers={"ETag": etag})
    return Response(content, media_type="application/json", headers={"ETag": etag})


# --- submitting and managing projects -----------------------------------------------------------


@router.post("/projects", status_code=201, response_model=SubmissionCreated,
             summary="Submit a project (aanmelden); public; answers the submitter's key once",
             responses={201: {"description": "Submitted; the project's status is `submitted`",
                              "headers": {"Location": {"description": "The new project's path",
                                                       "schema": {"type": "string"}}}},
                        429: {"description": "This client address submitted its hourly allowance "
                                             "(SCHULDENLAB_CATALOGUE_SUBMISSIONS_PER_HOUR, shared with the website's "
                                             "form); try again after `Retry-After` seconds.",
                              "headers": RETRY_AFTER_HEADER}})
async def submit_project(body: ProjectSubmission, request: Request) -> Response:
    # After the body's validation: only a dossier that would be stored counts against the client's allowance.
    SUBMISSIONS_LIMIT.enforce(request)
    cmd = handlers.SubmitProject(dossier=_dossier(body), contact=_contact(body))
    async with get_runtime(request).transaction() as uow:
        submitted = await handlers.submit_project(cmd, uow)
    SUBMISSIONS.labels("submission").inc()
    project = submitted.project
    accepted = SubmissionCreated(id=project.id, status=project.status.value, revision=project.revision,
                                 resubmission_token=submitted.submitter_key)
    return Response(accepted.model_dump_json(), status_code=201, media_type="application/json",
                    headers={"Location": f"/v1/projects/{project.id}"})


@router.put("/projects/{project_id}", response_model=SubmissionAccepted,
            summary="Resubmit after the board asked for more information (new revision); the submitter's key "
                    "(X-Resubmission-Token) or operator",
            responses=problems(401, 403, 404, 409, described={
                401: "Neither the submitter's key (X-Resubmission-Token) nor an operator token, or a token that is "
                     "not valid.",
                403: "The key is not this project's submitter's key, or the token carries no platform role.",
                404: NO_PROJECT,
                409: "The project's status is not `needs_information`; `conditions` says what it is."}))
async def resubmit_project(project_id: uuid.UUID, body: Resubmission, request: Request,
                           principal: MaybePrincipal, submitter_key: SubmitterKey = None) -> SubmissionAccepted:
    cmd = handlers.ResubmitProject(project_id=project_id, dossier=_dossier(body), contact=_contact(body),
                                   submitter_key=submitter_key,
                                   by_operator=principal is not None and "operator" in principal.roles)
    async with get_runtime(request).transaction() as uow:
        project = await handlers.resubmit_project(cmd, uow)
    SUBMISSIONS.labels("resubmission").inc()
    return SubmissionAccepted(id=project.id, status=project.status.value, revision=project.revision)


@router.get("/projects/{project_id}", response_model=ProjectOut | ProjectSummaryOut,
            response_model_exclude_none=False,
            summary="A project: to the public its summary (its dossier once listed); in full to operator, board, "
                    "assessor or with the submitter's key; contact only for operator",
            responses=problems(403, 404, described={
                403: "The key given is not this project's submitter's key, or the token carries no platform role.",
                404: NO_PROJECT}))
async def get_project(project_id: uuid.UUID, request: Request, principal: MaybePrincipal,
                      submitter_key: SubmitterKey = None) -> ProjectOut | ProjectSummaryOut:
    async with get_runtime(request).transaction() as uow:
        project = await handlers.get_project(project_id, uow)
    roles = principal.roles if principal is not None else frozenset()
    return _out(project, project.disclosure(roles, submitter_key))


@router.delete("/projects/{project_id}", response_model=SubmissionAccepted,
               summary="Withdraw a project (operator); a listed project leaves the catalogue (tombstone)",
               responses=problems(404, described={404: NO_PROJECT}))
async def withdraw_project(project_id: uuid.UUID, request: Request,
                           _: Operator) -> SubmissionAccepted:
    async with get_runtime(request).transaction() as uow:
        project = await handlers.withdraw_project(project_id, uow)
    return SubmissionAccepted(id=project.id, status=project.status.value, revision=project.revision)


@router.delete("/projects/{project_id}/contact", status_code=204,
               summary="Erase the contact person's data (GDPR right to erasure); operator",
               responses=problems(404, described={404: NO_PROJECT}))
async def erase_contact(project_id: uuid.UUID, request: Request,
                        _: Operator) -> Response:
    async with get_runtime(request).transaction() as uow:
        await handlers.erase_contact(project_id, uow)
    return Response(status_code=204)


# --- the public catalogue -----------------------------------------------------------------------


@router.get("/catalogue", response_model=CataloguePage,
            summary="The proven projects; filters phase, theme, municipality, q (Dutch full text); cursor pages",
            responses={200: {"description": "One page of the catalogue", "headers": ETAG},
                       304: {"description": "Not modified: the page is still what If-None-Match names",
                             "headers": ETAG}})
async def browse_catalogue(
    request: Request,
    phase: Annotated[Phase | None, Query(description="One of the seven phase codes")] = None,
    theme: Annotated[str | None, Query(max_length=200)] = None,
    municipality: Annotated[str | None, Query(max_length=200)] = None,
    q: Annotated[str | None, Query(max_length=500,
                                   description="Words to find in name, summary, problem, results")] = None,
    cursor: Annotated[str | None, Query(max_length=200,
                                        description="`next_cursor` of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    evidence_level: Annotated[EvidenceLevel | None, Query(description="practice_based, evaluated or effective")] = None,
    include_expired: Annotated[bool, Query(description="Also projects whose rating ran out")] = False,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    try:
        after = cursors.decode(cursors.LISTING, cursor) if cursor else None
    except cursors.InvalidCursor as exc:
        raise _invalid_query("cursor", str(exc)) from None
    query = CatalogueQuery(phase=phase.value if phase else None, theme=theme or None,
                           municipality=municipality or None, text=(q or "").strip() or None,
                           evidence_level=evidence_level.value if evidence_level else None,
                           include_expired=include_expired, after=after, limit=limit + 1)
    async with get_runtime(request).transaction(single_statement=True) as uow:  # one SELECT
        listings = await handlers.browse_catalogue_text(query, uow)
    page = listings[:limit]
    more = len(listings) > limit
    # The records as PostgreSQL keeps them, put together unparsed: parsing and writing a page of full records
    # again was most of this route's own work (issue 13).
    items = ",".join(listing.record for listing in page)
    next_cursor = to_json(cursors.encode(cursors.LISTING, page[-1].position) if more else None).decode()
    return _with_etag(f'{{"items":[{items}],"next_cursor":{next_cursor}}}'.encode(), if_none_match)


@router.get("/catalogue/changes", response_model=ChangesPage,
            summary="The catalogue feed over HTTP: every change in order, null record when a project left")
async def catalogue_changes(
    request: Request,
    after: Annotated[str | None, Query(max_length=200,
                                       description="`next_cursor` of the previous call")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    try:
        position = cursors.decode(cursors.CHANGES, after) if after else 0
    except cursors.InvalidCursor as exc:
        raise _invalid_query("after", str(exc)) from None
    async with get_runtime(request).transaction() as uow:
        changes = await handlers.list_changes(position, limit, uow)
    last = changes[-1].seq if changes else position
    body = {
        "items": [{"cursor": cursors.encode(cursors.CHANGES, c.seq), "project_id": str(c.project_id),
                   "record": c.record, "changed_at": c.changed_at.isoformat()} for c in changes],
        "next_cursor": cursors.encode(cursors.CHANGES, last),
    }
    return JSONResponse(body)
