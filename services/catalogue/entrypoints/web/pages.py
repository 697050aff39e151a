"""The website's reading pages: start, the catalogue, one project, the portfolio; thin like the JSON routes.

Each page makes the same use-case calls as the API (`browse_catalogue`, `get_project`, ...) and shows what
the API shows of the catalogue's own data; the templates only display it.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from catalogue.domain.errors import ProjectNotFound
from catalogue.domain.model import Disclosure
from catalogue.entrypoints import cursors
from catalogue.entrypoints.web import words
from catalogue.entrypoints.web.rendering import page, stylesheet
from catalogue.service_layer import handlers
from catalogue.service_layer.ports import CatalogueQuery
from servicekit.config import ConfigError, Settings
from servicekit.service import get_runtime

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20  # the API's default page
PORTFOLIO_SHOWN = 10  # projects named per phase on the portfolio page; the rest behind a link
# The evidence level (SPEC 5.2) filters the catalogue once its query knows it; until then the filter is
# accepted, and the page says it cannot filter on it yet rather than pretending to.
EVIDENCE_FILTER = "evidence_level" in {f.name for f in dataclasses.fields(CatalogueQuery)}
# The API's bounds on the filters (GET /v1/catalogue), so the page refuses what the API refuses.
MAX_FILTER, MAX_SEARCH = 200, 500
CONTACT_VARIABLE = "SCHULDENLAB_CATALOGUE_CONTACT_EMAIL"
DEFAULT_CONTACT = "info@schuldenlabnl.nl"


def adoption_contact(settings: Settings) -> str:
    """Where a municipality asks SchuldenlabNL about adopting a project (never the submitter: personal data)."""
    address = (settings.setting(CONTACT_VARIABLE) or "").strip() or DEFAULT_CONTACT
    if not re.fullmatch(r"[^@\s<>\"?&]+@[^@\s<>\"?&]+\.[^@\s<>\"?&]+", address):
        raise ConfigError(f"{CONTACT_VARIABLE}={address!r}: expected an e-mail address like info@schuldenlabnl.nl")
    return address


def not_found() -> HTMLResponse:
    return page("niet_gevonden.html", 404, title="Pagina niet gevonden")


@router.get("/static/site.css")
async def site_stylesheet() -> Response:
    return stylesheet()


@router.get("/", response_class=HTMLResponse)
async def start(request: Request) -> HTMLResponse:
    async with get_runtime(request).transaction() as uow:
        total = await handlers.count_catalogue(CatalogueQuery(), uow)
    return page("start.html", title="Beproefde projecten tegen schulden", total=total)


def _filters(request: Request) -> tuple[dict[str, str], dict[str, str]]:
    """The page's filters as given, and an error (Dutch) for each one that cannot be used."""
    given = {name: request.query_params.get(name, "").strip()
             for name in ("q", "fase", "thema", "gemeente", "bewijsniveau", "vanaf")}
    errors: dict[str, str] = {}
    if given["fase"] and given["fase"] not in words.PHASES:
        errors["fase"] = "Kies een van de zeven fasen."
    if given["bewijsniveau"] and given["bewijsniveau"] not in words.EVIDENCE_LEVELS:
        errors["bewijsniveau"] = "Kies een van de bewijsniveaus."
    for name in ("thema", "gemeente"):
        if len(given[name]) > MAX_FILTER:
            errors[name] = f"Gebruik hoogstens {MAX_FILTER} tekens."
    if len(given["q"]) > MAX_SEARCH:
        errors["q"] = f"Gebruik hoogstens {MAX_SEARCH} tekens."
    if given["vanaf"]:
        try:
            cursors.decode(cursors.LISTING, given["vanaf"])
        except cursors.InvalidCursor:
            errors["vanaf"] = "Deze paginalink klopt niet (meer). Begin bij de eerste pagina."
    return given, errors


def _query(given: dict[str, str], *, after: int | None = None, limit: int = PAGE_SIZE) -> CatalogueQuery:
    extra = {"evidence_level": given["bewijsniveau"] or None} if EVIDENCE_FILTER else {}
    return CatalogueQuery(phase=given["fase"] or None, theme=given["thema"] or None,
                          municipality=given["gemeente"] or None, text=given["q"] or None,
                          after=after, limit=limit, **extra)


@router.get("/projecten", response_class=HTMLResponse)
async def catalogue_page(request: Request) -> HTMLResponse:
    given, errors = _filters(request)
    filtered = any(given[name] for name in ("q", "fase", "thema", "gemeente", "bewijsniveau"))
    context = {"title": "Projecten", "given": given, "errors": errors, "filtered": filtered,
               "evidence_filter": EVIDENCE_FILTER, "items": [], "total": 0, "next_url": None,
               "first_url": None}
    if errors:
        return page("projecten.html", 422, **context)
    after = cursors.decode(cursors.LISTING, given["vanaf"]) if given["vanaf"] else None
    async with get_runtime(request).transaction() as uow:
        listings = await handlers.browse_catalogue(_query(given, after=after, limit=PAGE_SIZE + 1), uow)
        total = await handlers.count_catalogue(_query(given), uow)
    shown = listings[:PAGE_SIZE]
    keep = {k: v for k, v in given.items() if v and k != "vanaf"}
    if len(listings) > PAGE_SIZE:
        context["next_url"] = "/projecten?" + urlencode(
            {**keep, "vanaf": cursors.encode(cursors.LISTING, shown[-1].position)})
    if after is not None:
        context["first_url"] = "/projecten" + ("?" + urlencode(keep) if keep else "")
    context.update(items=[listing.record for listing in shown], total=total)
    return page("projecten.html", **context)


@router.get("/projecten/{project_id}", response_class=HTMLResponse)
async def project_page(project_id: str, request: Request) -> HTMLResponse:
    try:
        wanted = uuid.UUID(project_id)
    except ValueError:
        return not_found()
    try:
        async with get_runtime(request).transaction() as uow:
            project = await handlers.get_project(wanted, uow)
    except ProjectNotFound:
        return not_found()
    # The API's rule for what the public sees: a project that is not in the catalogue has no public page.
    if project.disclosure(frozenset(), None) is not Disclosure.PUBLIC:
        return not_found()
    record = handlers.catalogue_record(project, datetime.now(UTC)).model_dump(mode="json")
    implementations = [dataclasses.asdict(i) for i in project.implementations.values()]
    return page("project.html", title=record["name"], project=record, implementations=implementations,
                outcomes=words.outcomes(record), contact=adoption_contact(get_runtime(request).settings))


@router.get("/portfolio", response_class=HTMLResponse)
async def portfolio_page(request: Request) -> HTMLResponse:
    phases = []
    async with get_runtime(request).transaction() as uow:
        for code in words.PHASES:
            query = CatalogueQuery(phase=code, limit=PORTFOLIO_SHOWN)
            listings = await handlers.browse_catalogue(query, uow)
            count = await handlers.count_catalogue(query, uow)
            phases.append({"code": code, "projects": [listing.record for listing in listings], "count": count})
    gaps = [p["code"] for p in phases if p["count"] == 0]
    return page("portfolio.html", title="Portfolio", phases=phases, gaps=gaps, shown=PORTFOLIO_SHOWN)
