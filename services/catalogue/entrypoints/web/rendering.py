"""Rendering the website's pages: the Jinja2 templates beside this module, the Dutch words, the safe headers."""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any

from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined

from catalogue.entrypoints.web import words

# No script at all, styles only from our own stylesheet (no inline style), nothing from another host, forms
# posting only here, and no framing (clickjacking): the pages work without JavaScript, so nothing is lost.
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                           "base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # for browsers that do not know frame-ancestors
    # Links to evidence on other sites do not tell those sites which page of ours a visitor came from.
    "Referrer-Policy": "same-origin",
}

_PACKAGE = "catalogue.entrypoints.web"
# Autoescape on for every template (not only *.html): whatever a submitter typed is shown as text, never markup.
_templates = Environment(loader=PackageLoader(_PACKAGE, "templates"), autoescape=True, undefined=StrictUndefined,
                         trim_blocks=True, lstrip_blocks=True)
_STYLESHEET = resources.files(_PACKAGE).joinpath("static/site.css").read_bytes()
# In the stylesheet's address, so a new version is fetched at once although browsers may keep it a day.
STYLESHEET_VERSION = hashlib.sha256(_STYLESHEET).hexdigest()[:12]
_templates.globals.update(words=words, stylesheet=f"/static/site.css?v={STYLESHEET_VERSION}")
_templates.filters.update(fase=words.phase, datum=words.date, getal=words.number)


def page(template: str, status: int = 200, *, headers: dict[str, str] | None = None,
         private: bool = False, **context: Any) -> HTMLResponse:
    """A page with the site's headers; `private` (a page with the submitter's key) is never stored by a cache."""
    html = _templates.get_template(template).render(**context)
    response = HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS, **(headers or {})})
    response.headers["Cache-Control"] = "no-store" if private else "no-cache"
    return response


def stylesheet() -> Response:
    return Response(_STYLESHEET, media_type="text/css; charset=utf-8",
                    headers={**SECURITY_HEADERS, "Cache-Control": "public, max-age=86400"})
