"""Each service's OpenAPI document is valid OpenAPI 3.1 and spells out, per operation, who may call it and every
error it can answer, as problem+json."""

from __future__ import annotations

import jsonschema
import pytest
import schemathesis

from schuldenlab.services import SERVICES
from servicekit.openapi import OPTIONAL_TOKEN
from servicekit.problems import PROBLEM_JSON
from tests.support.documents import served

PROBLEM = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
BEARER = [{"HTTPBearer": []}]
OPTIONAL = [{}, {"HTTPBearer": []}]
# What SPEC §4 makes public (besides health, metrics and the documents), and where a token only shows more.
PUBLIC = {("post", "/v1/projects"), ("get", "/v1/catalogue"), ("get", "/v1/catalogue/changes"),
          ("get", "/v1/portfolio")}
TOKEN_OPTIONAL = {("get", "/v1/projects/{project_id}"), ("put", "/v1/projects/{project_id}"),
                  ("get", "/v1/projects/{project_id}/assessment")}


@pytest.fixture(scope="module")
async def documents(tmp_path_factory) -> dict[str, dict]:
    """Per service: its OpenAPI document as served."""
    answers = await served(tmp_path_factory, "/openapi.json")
    return {service: response.json() for service, [response] in answers.items()}


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@pytest.mark.parametrize("service", SERVICES)
def test_each_document_is_valid_openapi_3_1_with_valid_json_schemas(service, documents):
    document = documents[service]
    assert document["openapi"].startswith("3.1.")
    schemathesis.openapi.from_dict(document).validate()  # the OpenAPI 3.1 meta-schema
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft202012Validator.check_schema(schema)  # 3.1's schema dialect (JSON Schema 2020-12)


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_has_a_summary_explicit_security_and_the_problems_every_route_can_answer(
        service, documents):
    for method, path, operation in _operations(documents[service]):
        where = f"{service} {method.upper()} {path}"
        assert operation.get("summary"), where
        assert "security" in operation, where
        responses = operation["responses"]
        for status in ("413", "422", "500") + (("400",) if "requestBody" in operation else ()):
            assert responses[status]["content"] == PROBLEM, (where, status)
        if operation["security"]:
            assert responses["401"]["content"] == PROBLEM and responses["403"]["content"] == PROBLEM, where
        else:
            assert "401" not in responses and "403" not in responses, where
        # Every error is a problem: no status of 400 and up is documented with another body.
        assert all(response["content"] == PROBLEM for status, response in responses.items() if status >= "400"), where


@pytest.mark.parametrize("service", SERVICES)
def test_public_operations_need_no_token_optional_ones_say_so_and_the_rest_need_one(service, documents):
    for method, path, operation in _operations(documents[service]):
        where = f"{service} {method.upper()} {path}"
        if (method, path) in PUBLIC or not path.startswith("/v1/"):
            assert operation["security"] == [], where
        elif (method, path) in TOKEN_OPTIONAL:
            assert operation["security"] == OPTIONAL and OPTIONAL_TOKEN in operation["description"], where
        else:
            assert operation["security"] == BEARER, where
    assert set(documents[service]["components"]["securitySchemes"]) == {"HTTPBearer"}


@pytest.mark.parametrize("service", SERVICES)
def test_every_request_body_carries_an_example_its_own_schema_accepts(service, documents):
    document = documents[service]
    bodies = [(f"{method.upper()} {path}", operation["requestBody"]["content"]["application/json"]["schema"])
              for method, path, operation in _operations(document) if "requestBody" in operation]
    assert bodies
    for where, schema in bodies:
        examples = _resolve(document, schema).get("examples")
        assert examples, where
        # Validated against the whole document, so the example's $refs resolve like a reader's would.
        validator = jsonschema.Draft202012Validator({**schema, "components": document["components"]})
        for example in examples:
            assert not list(validator.iter_errors(example)), where


def test_the_problem_schema_names_the_409_conditions_the_422_errors_and_the_500_error_id(documents):
    for document in documents.values():
        problem = document["components"]["schemas"]["Problem"]
        assert {"conditions", "errors", "error_id"} <= set(problem["properties"])
        assert _resolve(document, problem["properties"]["errors"]["items"])["required"] == ["field", "reason"]
        assert "HTTPValidationError" not in document["components"]["schemas"]


def test_routes_declare_the_domain_statuses_their_handlers_can_answer(documents):
    statuses = {(service, method, path): set(operation["responses"])
                for service, document in documents.items() for method, path, operation in _operations(document)}
    assert {"404", "409"} <= statuses["partnering", "post", "/v1/labs/{lab_id}/formation"]
    assert {"404", "409"} <= statuses["assessment", "post", "/v1/assessments/{assessment_id}/decision"]
    assert {"200", "201", "404", "409"} <= statuses["assessment", "post", "/v1/assessments/{assessment_id}/reviews"]
    assert {"401", "403", "404", "409"} <= statuses["catalogue", "put", "/v1/projects/{project_id}"]
    assert {"200", "304"} <= statuses["catalogue", "get", "/v1/catalogue"]
    assert {"404", "409"} <= statuses["notifications", "post", "/v1/deliveries/{delivery_id}/redeliver"]
    assert "404" not in statuses["partnering", "post", "/v1/labs"]  # nothing to be missing
