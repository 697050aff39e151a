"""Schemathesis against each service's own OpenAPI document: every generated request, valid or not, with a
made-up token, no token, an operator token and a token of the service's own role, gets an answer the document
describes.

Each service runs in this process (schemathesis' ASGI transport, which starts the app's lifespan: migrations,
pool, broker, relay, consumer) on a fresh PostgreSQL database and its own broker. The seed is fixed and
Hypothesis derandomized, so a run is repeatable; the examples per operation are bounded to keep the whole run
at a minute or two. The figures (operations, requests, failures, seconds) are printed at the end of the session.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import schemathesis
from requests.structures import CaseInsensitiveDict
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.python import asgi

from schuldenlab.services import SERVICES, load_definition
from servicekit.service import create_app
from tests.integration import schemathesis_seeds as seeds
from tests.support.fuzzing import figures
from tests.support.harness import auth, service_settings

pytestmark = [
    pytest.mark.integration,
    # Raised by schemathesis' own strategies (4.32), not by anything of ours; it says nothing about the services.
    pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies"),
]

SEED = 20261130
EXAMPLES_PER_OPERATION = 25
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          response_headers_conformance]

# Besides no token and the operator, the role each service is mostly about, so the paths past the role checks
# also run with a token that is not all-powerful.
OWN_ROLE = {"catalogue": "board", "assessment": "board", "partnering": "lab", "notifications": "integrator"}


def config() -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES_PER_OPERATION, "deterministic": True,
                       # No example database: a run replays nothing from an earlier one, so it stays repeatable.
                       "database": "none"},
        # Stateful links are not declared in these documents; the other phases (explicit examples, coverage of
        # boundaries and negative values, fuzzing) all run.
        "phases": {"stateful": {"enabled": False}},
    })


@pytest.fixture(params=SERVICES)
def service_api(request: pytest.FixtureRequest, fresh_database: str, fresh_kafka: str, tmp_path: Path):
    """The service's OpenAPI document loaded from its running app; the app stops after the service's run."""
    name = request.param
    measured = figures(name)
    started = time.monotonic()
    settings = service_settings(fresh_database, fresh_kafka, tmp_path, **seeds.SETTINGS.get(name, {}))
    app = create_app(load_definition(name), settings)
    try:
        schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config())
        SEEDED[name] = seeds.seed(name, app, fresh_kafka)
        measured.operations = sum(1 for _ in schema.get_all_operations())
        yield schema
    finally:
        # The ASGI transport keeps an app's lifespan running until told otherwise (or the interpreter exits);
        # this service's database and broker go away after this fixture, so its runtime must stop first.
        asgi.shutdown_lifespans()
        measured.seconds += time.monotonic() - started


schema = schemathesis.pytest.from_fixture("service_api")
SEEDED: dict[str, dict[str, str]] = {}  # per service: path parameters naming resources that exist


@schema.parametrize()
def test_every_answer_of_every_service_is_what_its_openapi_document_says(case: schemathesis.Case) -> None:
    service = case.operation.schema.raw_schema["info"]["title"].split()[-1]
    measured = figures(service)
    callers = [{}, auth("operator", "schemathesis-operator"), auth(OWN_ROLE[service], seeds.subject(service))]
    # Where a token is read, schemathesis makes one up (`Bearer &<WJB4:u`): that request goes as generated,
    # and then, without it, from each caller.
    sends = [(case, {})] if "Authorization" in case.headers else []
    bare = case.derive(headers=CaseInsensitiveDict({k: v for k, v in case.headers.items()
                                                   if k.lower() != "authorization"}))
    sends += [(bare, caller) for caller in callers]
    seeded = {name: value for name, value in SEEDED[service].items() if name in bare.path_parameters}
    if seeded:
        # The same requests once more on resources that exist (see schemathesis_seeds).
        on_seeds = bare.derive()
        on_seeds.path_parameters.update(seeded)
        sends += [(on_seeds, caller) for caller in callers]
    try:
        for sent, headers in sends:
            measured.requests += 1
            response = sent.call(headers=headers)
            measured.answers[response.status_code] += 1
            sent.validate_response(response, checks=CHECKS, headers=headers)
    except (Exception, BaseExceptionGroup):  # schemathesis reports failed checks as a BaseExceptionGroup
        measured.failed_operations.add(f"{service} {case.operation.label}")
        raise
