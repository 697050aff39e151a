"""Helpers for the website's integration tests: a visitor's client on the app, and pages read like a browser would."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from urllib.parse import urlencode

import httpx

from tests.integration.catalogue.catalogue_support import CONTACT
from tests.support.harness import RunningService, running_service, service_settings

VISITOR = "198.51.100.7"  # a documentation address: not loopback, so the rate limit applies to it
ORIGIN = "http://catalogue"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@contextlib.asynccontextmanager
async def website(database: str, kafka: str, home, **overrides: str) -> AsyncIterator[tuple[RunningService,
                                                                                             httpx.AsyncClient]]:
    """The catalogue (with its API client from loopback) and a visitor's client from another address."""
    settings = service_settings(database, kafka, home, **overrides)
    async with running_service("catalogue", settings) as catalogue:
        yield catalogue, visitor(catalogue)


def visitor(catalogue: RunningService, address: str = VISITOR) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=catalogue.app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url=ORIGIN)


class Page(HTMLParser):
    """The parts of an HTML page a test looks at: fields and their values, labels, links, headings, text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.lang: str | None = None
        self.fields: list[dict[str, str | None]] = []  # inputs, selects, textareas in order, with "value"
        self.labels: list[str] = []  # for= of every label
        self.links: list[str] = []
        self.headings: list[tuple[int, str]] = []
        self.texts: list[str] = []
        self._select: dict | None = None
        self._textarea: dict | None = None
        self._heading: list | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "input":
            self.fields.append({**a, "tag": "input"})
        elif tag == "select":
            self._select = {**a, "tag": "select", "value": ""}
            self.fields.append(self._select)
        elif tag == "option" and self._select is not None and "selected" in a:
            self._select["value"] = a.get("value")
        elif tag == "textarea":
            self._textarea = {**a, "tag": "textarea", "value": ""}
            self.fields.append(self._textarea)
        elif tag == "label":
            self.labels.append(a.get("for") or "")
        elif tag == "a":
            self.links.append(a.get("href") or "")
        elif re.fullmatch(r"h[1-6]", tag):
            self._heading = [int(tag[1]), ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append((self._heading[0], self._heading[1].strip()))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea["value"] += data
        if self._heading is not None:
            self._heading[1] += data
        self.texts.append(data)

    @property
    def text(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.texts))

    def value(self, name: str) -> str | list[str] | None:
        """What the field `name` holds as the browser would send it (checked values for boxes and radios)."""
        found = [f for f in self.fields if f.get("name") == name]
        if not found:
            return None
        if found[0].get("type") in ("checkbox", "radio"):
            return [str(f.get("value")) for f in found if "checked" in f]
        return found[0].get("value")

    def field(self, element_id: str) -> dict:
        return next(f for f in self.fields if f.get("id") == element_id)

    def form_pairs(self) -> list[tuple[str, str]]:
        """The form as it would be posted: every named field's current value (unchecked boxes left out)."""
        pairs: list[tuple[str, str]] = []
        for f in self.fields:
            name = f.get("name")
            if not name or f.get("type") == "submit" or f.get("tag") == "button":
                continue
            if f.get("type") in ("checkbox", "radio"):
                if "checked" in f:
                    pairs.append((name, str(f.get("value"))))
            else:
                pairs.append((name, str(f.get("value") or "")))
        return pairs


def project_links(page: Page) -> list[str]:
    return [m.group(1) for link in page.links if (m := re.fullmatch(rf"/projecten/({UUID})", link))]


def complete_form(**changes: str) -> dict[str, str | list[str]]:
    """A whole valid dossier as the form posts it (the first of the known projects, in Dutch)."""
    data: dict[str, str | list[str]] = {
        "name": "Vroeg Eropaf Twente",
        "summary": "Een huisbezoek binnen een week na de eerste betalingsachterstand.",
        "problem": "Mensen met betalingsachterstanden komen pas laat in beeld, als de schulden al hoog zijn.",
        "target_group": "Huishoudens met een eerste betalingsachterstand",
        "phases": ["awareness", "referral"],
        "themes": "vroegsignalering, huisbezoek",
        "origin.organisation": "Gemeente Enschede",
        "origin.municipality": "Enschede",
        "origin.lab_id": "",
        "partners.0.name": "Gemeente Enschede", "partners.0.kind": "public",
        "partners.1.name": "Woningcorporatie De Woonplaats", "partners.1.kind": "private",
        "partners.2.name": "", "partners.2.kind": "",
        "in_production": "ja",
        "clients_served": "1.250",
        "results": "Twee op de drie huishoudens hebben binnen drie maanden een regeling.",
        "evidence_urls.0": "https://www.example.nl/evaluatie-vroeg-eropaf",
        "evidence_urls.1": "",
        "continuity_model": "De gemeente en de woningcorporaties betalen samen uit de besparing op incasso.",
        "availability": "small_effort",
        "contact.name": CONTACT["name"],
        "contact.email": CONTACT["email"],
        "website": "",
        "actie": "versturen",
    }
    data.update(changes)
    return data


def form_body(data: dict[str, str | list[str]]) -> list[tuple[str, str]]:
    return [(k, item) for k, v in data.items() for item in (v if isinstance(v, list) else [v])]


FORM = "application/x-www-form-urlencoded"


async def post_form(client: httpx.AsyncClient, data: dict[str, str | list[str]] | list[tuple[str, str]],
                    **headers: str) -> httpx.Response:
    pairs = form_body(data) if isinstance(data, dict) else data
    return await client.post("/aanmelden", content=urlencode(pairs).encode(),
                             headers={"Content-Type": FORM, "Origin": ORIGIN, **headers})


async def fresh_token(client: httpx.AsyncClient) -> str:
    return str(Page((await client.get("/aanmelden")).text).value("formulier"))
