"""The OpenAPI document of a service made true: every error it can answer, as problem+json, and who may call what."""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from servicekit.auth import BEARER_SCHEME, OPTIONAL_BEARER_SCHEME
from servicekit.problems import FIELD_ERROR_SCHEMA, PROBLEM_JSON, PROBLEM_SCHEMA

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}

# What each status means on this platform; a route may say more precisely what it means there.
MEANING = {
    400: "The body is JSON that cannot be read (for example a number of more than 4300 digits).",
    401: "No bearer token, or one that is not valid (signature, issuer, expired).",
    403: "The token's roles do not allow this, or it carries none of the platform's roles.",
    404: "Nothing with this id.",
    409: "A rule refuses this in the current state; `conditions` names every unmet condition.",
    413: "The request body is larger than the service's limit (SCHULDENLAB_<SERVICE>_MAX_BODY_BYTES).",
    422: "Invalid input: `errors` names each field or parameter and why (text the database cannot store, "
         "such as the NUL character, included, in any parameter).",
    500: "An unexpected error; `error_id` is also in the service's log line about it.",
    503: "The service cannot answer now (its database is down or too slow): try again after `Retry-After` "
         "seconds; on /health/ready `checks` says what is failing.",
}

OPTIONAL_TOKEN = ("A bearer token is optional here: without one the answer is what the public may see; a valid token "
                  "may show more, and a token that is not valid is refused (401, or 403 without a platform role).")


def problems(*statuses: int, described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: the domain statuses it can answer besides those every route has.

    Only the descriptions are given here; the document's post-processing (`install_openapi`) gives every
    response of 400 and up the problem+json body, so no route can document an error another way.
    """
    described = described or {}
    return {status: {"description": described.get(status) or MEANING.get(status) or HTTPStatus(status).phrase}
            for status in statuses}


def install_openapi(app: FastAPI) -> None:
    """Replace `app.openapi` by FastAPI's document completed with what servicekit knows about every route.

    Every operation gets 413 and 500 (the body limit and the last-resort handler wrap every route), 422 (the
    check for text the database cannot store reads every parameter of every route), 400 where it takes a
    body, 401 and 403 where it reads a token, and `security` set explicitly: `[]` when public, the bearer
    scheme or nothing when the token is optional, the bearer scheme when it is needed.
    """
    generate = app.openapi  # FastAPI's own, which caches what it made in app.openapi_schema

    def openapi() -> dict[str, Any]:
        if not getattr(app.state, "openapi_completed", False):
            app.openapi_schema = complete(generate())
            app.state.openapi_completed = True
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """The document FastAPI made, with every operation's problems and security spelled out (in place)."""
    for path_item in document.get("paths", {}).values():
        for operation in path_item.values():
            _complete_operation(operation)
    components = document.setdefault("components", {})
    components.get("securitySchemes", {}).pop(OPTIONAL_BEARER_SCHEME, None)
    schemas = components.setdefault("schemas", {})
    # FastAPI's own 422 body (HTTPValidationError, application/json) is never what the services answer.
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    schemas["FieldError"] = FIELD_ERROR_SCHEMA
    return document


def _complete_operation(operation: dict[str, Any]) -> None:
    schemes = {name for requirement in operation.get("security", []) for name in requirement}
    responses = operation["responses"]
    if responses.get("422", {}).get("description") == "Validation Error":
        del responses["422"]  # FastAPI's own (HTTPValidationError), replaced below
    needed = [413, 422, 500, 503]  # 503: servicekit.problems.database_unavailable, on any operation
    if "requestBody" in operation:
        needed.append(400)
    if OPTIONAL_BEARER_SCHEME in schemes:
        operation["security"] = [{}, {BEARER_SCHEME: []}]
        operation["description"] = " ".join(filter(None, [operation.get("description"), OPTIONAL_TOKEN]))
        needed += [401, 403]
    elif schemes:
        operation["security"] = [{BEARER_SCHEME: []}]
        needed += [401, 403]
    else:
        operation["security"] = []
    for status in needed:
        responses.setdefault(str(status), {"description": MEANING[status]})
    for status, response in responses.items():
        if status[0] in "45":
            response["content"] = {PROBLEM_JSON: {"schema": PROBLEM_REF}}
    operation["responses"] = dict(sorted(responses.items()))
