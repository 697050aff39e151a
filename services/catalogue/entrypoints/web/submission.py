"""The submission form ("aanmelden"): the same validation and use case as POST /v1/projects, as pages.

A valid form becomes the API's request body (`ProjectSubmission`), then the API's command (`SubmitProject`),
under the same rate limit per client address. Around that, what a public form on the web needs:
- *CSRF*: no cookies, so nothing to ride on, but another site could still make a visitor's browser post
  projects. A POST is refused (403) when the browser says it comes from another site (`Sec-Fetch-Site`) or
  names another origin (`Origin`); clients that send neither (curl) are not browsers to abuse.
- *Honeypot*: a field people never see (the stylesheet hides it); filled, the form is shown again (422) with
  the field's error and nothing is stored, so a person whose tool filled it can still submit.
- *Double submits*: every rendered form carries a fresh random token, used as the runtime's Idempotency-Key
  for its submission. A double click or a reload posts the same token and body again and gets the first
  confirmation again (the same project, the same key) from the runtime's store, where it is kept sealed.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from starlette.types import Message, Receive, Scope, Send

from catalogue.domain.errors import UnknownLab

# The API's own translation of a body into the command, so a form becomes exactly what a JSON submission does.
from catalogue.entrypoints.http import SUBMISSIONS, _contact, _dossier
from catalogue.entrypoints.limits import SUBMISSIONS_LIMIT
from catalogue.entrypoints.schemas import ProjectSubmission
from catalogue.entrypoints.web import form, words
from catalogue.entrypoints.web.rendering import page
from catalogue.service_layer import handlers
from servicekit.idempotency import IdempotencyKeys, key_ttl
from servicekit.ratelimit import RateLimited
from servicekit.service import get_runtime

router = APIRouter(include_in_schema=False)

TOKEN_FIELD = "formulier"
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # what form_page writes; anything else is no token
MAX_FIELDS = 500  # far more than the form has (rows are capped); more is not a person filling it in
IN_FLIGHT_WAIT, IN_FLIGHT_TRIES = 0.25, 40  # a double click waits up to 10 s for the first request's answer


def same_site(request: Request) -> bool:
    """Whether the POST comes from our own page (or from no browser at all); see the module's CSRF note."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def form_page(filled: form.Form, errors: dict[str, str] | None = None, status: int = 200, *,
              retry_after: int | None = None) -> HTMLResponse:
    errors = errors or {}
    summary = [(form.anchor(name), form.label_of(name), text) for name, text in form.in_form_order(errors)]
    # Never from a shared cache: each form carries its own token, which two visitors must not share.
    return page("aanmelden.html", status, private=True,
                headers={"Retry-After": str(retry_after)} if retry_after else None,
                title="Project aanmelden" if not errors else "Fout: project aanmelden",
                form=filled, errors=errors, summary=summary, retry_after=retry_after,
                fields=form.FIELDS, element_id=form.element_id, token=secrets.token_urlsafe(24),
                token_field=TOKEN_FIELD, honeypot=form.HONEYPOT, actions=form,
                phase_options=[(code, f"{name}: {what}") for code, (name, what) in words.PHASES.items()])


@router.get("/aanmelden", response_class=HTMLResponse)
async def blank_form() -> HTMLResponse:
    return form_page(form.Form())


@router.post("/aanmelden", response_class=HTMLResponse)
async def submit_form(request: Request) -> Response:
    if not same_site(request):
        return page("fout.html", 403, title="Formulier geweigerd", heading="Dit formulier kwam niet van deze website",
                    text="Vul het formulier op deze website zelf in.")
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
        return page("fout.html", 415, title="Formulier niet leesbaar", heading="Dit formulier kunnen we niet lezen",
                    text="Verstuur het formulier met een webbrowser.")
    raw = await request.body()  # bounded: the runtime's body limit has already refused anything larger
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict",
                          max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError):
        return page("fout.html", 400, title="Formulier niet leesbaar", heading="Dit formulier kunnen we niet lezen",
                    text="Verstuur het formulier met een webbrowser.")
    filled = form.read(pairs)
    if filled.action != form.SUBMIT:  # "add a row": the same form with one more, nothing checked yet
        return form_page(filled)
    if filled.honeypot:
        return form_page(filled, {form.HONEYPOT: "Laat dit veld leeg."}, 422)
    errors = form.unstorable_fields(filled)
    shaped = form.body(filled)
    body: ProjectSubmission | None = None
    if not errors:
        try:
            body = ProjectSubmission.model_validate(shaped.data)
        except ValidationError as exc:
            errors = form.errors_by_field(list(exc.errors()), shaped)
    if errors or body is None:
        return form_page(filled, errors, 422)
    token = dict(pairs).get(TOKEN_FIELD, "")
    if _TOKEN.fullmatch(token):
        return _Once(token, raw, _submission(request, filled, body))
    return await _submit(request, filled, body)


async def _submit(request: Request, filled: form.Form, body: ProjectSubmission) -> HTMLResponse:
    """The API's submission: its rate limit, its command, its use case; the answer as a page."""
    try:
        SUBMISSIONS_LIMIT.take(request)
    except RateLimited as exc:
        return form_page(filled, {}, 429, retry_after=exc.retry_after)
    cmd = handlers.SubmitProject(dossier=_dossier(body), contact=_contact(body))
    try:
        async with get_runtime(request).transaction() as uow:
            submitted = await handlers.submit_project(cmd, uow)
    except UnknownLab:
        return form_page(filled, {"origin.lab_id": "Geen gevormd lokaal Schuldenlab heeft deze id. Controleer de "
                                                   "id, of laat het veld leeg."}, 422)
    SUBMISSIONS.labels("submission").inc()
    return page("bevestiging.html", 201, private=True, title="Aanmelding ontvangen", project=submitted.project,
                key=submitted.submitter_key)


def _submission(request: Request, filled: form.Form, body: ProjectSubmission):
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await _submit(request, filled, body)
        await response(scope, receive, send)

    return app


class _Once(Response):
    """Answers through the runtime's Idempotency-Key store, with the form's token as the key.

    The same token and body again (a double click, a reload) get the kept answer instead of a second project;
    while the first is still being answered, the second waits for it. The same token with another body (the
    back button, a change, the form sent again) gets a page saying it was sent already.
    """

    def __init__(self, token: str, raw: bytes, submit) -> None:
        super().__init__()
        self.token, self.raw, self.submit = token, raw, submit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = scope["app"].state.runtime
        keys = getattr(scope["app"].state, "form_keys", None)
        if keys is None:  # one per app, so its purge of expired keys keeps its own pace
            keys = scope["app"].state.form_keys = IdempotencyKeys(
                self._run, pool=lambda: runtime.pool, ttl=key_ttl(runtime.settings, runtime.schema))
        headers = [(k, v) for k, v in scope["headers"] if k != b"idempotency-key"]
        keyed = {**scope, "headers": [*headers, (b"idempotency-key", self.token.encode("latin-1"))]}
        # The store (and its middleware) is one per app; this request's own submission travels in its scope.
        keyed["schuldenlab.form_submit"] = self.submit
        for _ in range(IN_FLIGHT_TRIES):
            answer: list[Message] = []

            async def body() -> Message:
                return {"type": "http.request", "body": self.raw, "more_body": False}

            async def hold(message: Message, answer: list[Message] = answer) -> None:
                answer.append(message)

            await keys(keyed, body, hold)
            status = next((m["status"] for m in answer if m["type"] == "http.response.start"), 500)
            is_html = any(k == b"content-type" and v.startswith(b"text/html") for m in answer
                          if m["type"] == "http.response.start" for k, v in m.get("headers", []))
            if is_html or status not in (409, 422):
                for message in answer:
                    await send(message)
                return
            if status == 422:  # the token came with another body before
                await self._page("Dit formulier is al verstuurd", "Het formulier is al eerder verstuurd met andere "
                                 "gegevens. Wilt u nog een project aanmelden? Open dan een nieuw formulier.",
                                 scope, receive, send)
                return
            in_flight = any(k == b"retry-after" for m in answer if m["type"] == "http.response.start"
                            for k, _ in m.get("headers", []))
            if not in_flight:  # it took effect, but its answer (and the submitter's key) was lost
                await self._page("Uw aanmelding is ontvangen", "Uw aanmelding is opgeslagen, maar de bevestiging "
                                 "met uw sleutel ging onderweg verloren. Verstuur het formulier niet opnieuw; "
                                 "SchuldenlabNL neemt contact met u op als het meer informatie nodig heeft.",
                                 scope, receive, send)
                return
            await asyncio.sleep(IN_FLIGHT_WAIT)  # the first request with this token is still being answered
        await self._page("Uw aanmelding wordt nog verwerkt", "Laad deze pagina over een minuut opnieuw en "
                         "verstuur het formulier nog eens: dan ziet u de bevestiging, zonder dubbele aanmelding.",
                         scope, receive, send)

    @staticmethod
    async def _run(scope: Scope, receive: Receive, send: Send) -> None:
        await scope["schuldenlab.form_submit"](scope, receive, send)

    @staticmethod
    async def _page(heading: str, text: str, scope: Scope, receive: Receive, send: Send) -> None:
        response = page("fout.html", 409, title=heading, heading=heading, text=text)
        await response(scope, receive, send)
