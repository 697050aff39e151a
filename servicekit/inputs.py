"""Input rules every service shares: text that PostgreSQL can store, and counts its integer columns hold."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import Field, Strict

MAX_INT4 = 2_147_483_647  # PostgreSQL integer, the column type of every count the platform stores

# A count in a request body: a JSON integer, never `true`, "5" or 5.0 (Pydantic would quietly turn those
# into 1 and 5), within the integer column it ends up in. Every service uses this one type, so a count
# has the same bounds wherever it is given.
Count = Annotated[int, Strict(), Field(ge=0, le=MAX_INT4)]

_NUL = "must not contain the NUL character (\\u0000), which cannot be stored as text"
_SURROGATE = "must be valid Unicode text; it contains a lone surrogate (\\ud800-\\udfff), which cannot be stored"


def unstorable(value: str) -> str | None:
    """Why PostgreSQL cannot store `value` as text (or in jsonb), or None when it can.

    A UTF-8 database takes every code point but two kinds: U+0000 and the surrogates, which have no
    UTF-8 form. JSON can carry both (`"\\u0000"`, a lone `"\\ud800"`), and the database would refuse
    them only at the INSERT, as a 500.
    """
    if "\x00" in value:
        return _NUL
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return _SURROGATE
    return None


def _printable(key: str) -> str:
    # A field name that is itself the problem is named escaped, so the answer shows what was sent.
    return key.encode("unicode_escape").decode("ascii")


def unstorable_in_json(document: Any) -> Iterator[tuple[tuple[Any, ...], str]]:
    """(location, reason) of each string or field name in a parsed JSON body PostgreSQL cannot store; the
    location is FastAPI's (`("body", "partners", 0, "name")`), so the 422 names it like any other error."""
    # An explicit stack, not recursion: JSON may nest as deep as the parser allows, deeper than is safe
    # to recurse from inside a request.
    stack: list[tuple[tuple[Any, ...], Any]] = [(("body",), document)]
    while stack:
        loc, value = stack.pop()
        if isinstance(value, str):
            if reason := unstorable(value):
                yield loc, reason
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if reason := unstorable(key):
                    yield (*loc, _printable(key)), f"a field name {reason}"
                stack.append(((*loc, key), item))
        elif isinstance(value, list):
            stack.extend(((*loc, index), item) for index, item in reversed(list(enumerate(value))))


async def refuse_unstorable_text(request: Request) -> None:
    """A 422 naming each path parameter, query parameter or JSON body field that holds text PostgreSQL
    cannot store; runs first for every route of every service (servicekit's create_app installs it).

    One check of the request as it arrives, rather than a string type on each model field: it covers
    path and query parameters and every field of every body, including fields added later, so no
    service has to remember it.
    """
    found: list[tuple[tuple[Any, ...], str]] = []
    for name, value in request.path_params.items():
        if isinstance(value, str) and (reason := unstorable(value)):
            found.append((("path", name), reason))
    # Every query parameter, also one the route ignores: unstorable text is never meaningful input.
    for name, value in request.query_params.multi_items():
        if reason := unstorable(value):
            found.append((("query", name), reason))
    # Only a route that takes a body looks at it; FastAPI has read and parsed it already (both are
    # cached on the request), and refused malformed JSON before this runs.
    route = request.scope.get("route")
    if getattr(route, "body_field", None) is not None and await request.body():
        try:
            document = await request.json()
        except (ValueError, RecursionError):  # not JSON (another content type): the body's validation answers
            document = None
        found.extend(unstorable_in_json(document))
    if found:
        raise RequestValidationError([{"type": "text_unstorable", "loc": loc, "msg": reason, "input": None}
                                      for loc, reason in found])
