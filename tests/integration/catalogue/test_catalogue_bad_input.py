"""Input that used to make the catalogue answer 500 now gets its 4xx naming the field, and changes nothing."""

from __future__ import annotations

import base64
import json

import pytest

from catalogue.entrypoints import cursors
from tests.integration.catalogue.catalogue_support import count, dossier, prove_directly, submit_with_key, submitter
from tests.support.harness import running_service, service_settings

pytestmark = pytest.mark.integration

JSON = {"Content-Type": "application/json"}


def as_json(document: object) -> dict:
    # json.dumps writes \u escapes: a NUL or a lone surrogate travels exactly as a client would send it.
    return {"content": json.dumps(document), "headers": JSON}


def fields(response) -> list[str]:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return [e["field"] for e in response.json()["errors"]]


async def nothing_stored(catalogue) -> bool:
    return all([await count(catalogue, table) == 0 for table in ("projects", "contacts", "outbox")])


async def test_text_the_database_cannot_store_is_422_naming_the_field_and_nothing_is_stored(
        fresh_database, fresh_kafka, tmp_path):
    async with running_service("catalogue", service_settings(fresh_database, fresh_kafka, tmp_path)) as catalogue:
        for param in ("q", "theme", "municipality"):
            response = await catalogue.client.get(f"/v1/catalogue?{param}=a%00b")
            assert response.status_code == 422 and fields(response) == [param]

        unstorable = {
            "summary": dossier(summary="a\u0000b"),
            "partners.0.name": dossier(partners=[{"name": "Gemeente\u0000", "kind": "public"}]),
            "origin.organisation": dossier(origin={"organisation": "\u0000", "municipality": "Den Haag"}),
            "contact.name": dossier(contact={"name": "Anna\u0000", "email": "anna@example.nl"}),
            "themes.1": dossier(themes=["Jongeren", "Coaching \ud83d"]),
        }
        for field, body in unstorable.items():
            response = await catalogue.client.post("/v1/projects", **as_json(body))
            assert response.status_code == 422 and fields(response) == [field], (field, response.text)
        assert await nothing_stored(catalogue)

        project_id, key = await submit_with_key(catalogue)
        response = await catalogue.client.put(f"/v1/projects/{project_id}", content=json.dumps(dossier(results="r\0")),
                                              headers={**JSON, **submitter(key)})
        assert response.status_code == 422 and fields(response) == ["results"]
        assert (await catalogue.client.get(f"/v1/projects/{project_id}", headers=submitter(key))).json()[
            "revision"] == 1
        assert await count(catalogue, "outbox") == 1  # the first submission's event only


async def test_clients_served_is_a_json_integer_a_database_integer_holds(fresh_database, fresh_kafka, tmp_path):
    async with running_service("catalogue", service_settings(fresh_database, fresh_kafka, tmp_path)) as catalogue:
        for value in (True, False, "5", 5.0, -1, 2**31, 2**63, 10**400):
            response = await catalogue.client.post("/v1/projects", **as_json(dossier(clients_served=value)))
            assert response.status_code == 422 and fields(response) == ["clients_served"], (value, response.text)
        # Too many digits for any parser to turn into a number: refused as unreadable, never a 500.
        body = json.dumps(dossier(clients_served=0)).replace('"clients_served": 0', '"clients_served": ' + "9" * 5000)
        response = await catalogue.client.post("/v1/projects", content=body, headers=JSON)
        assert response.status_code == 400 and response.headers["content-type"] == "application/problem+json"
        assert await nothing_stored(catalogue)

        response = await catalogue.client.post("/v1/projects", json=dossier(clients_served=2**31 - 1))
        assert response.status_code == 201, response.text


async def test_forged_and_out_of_range_cursors_are_422_naming_the_cursor(fresh_database, fresh_kafka, tmp_path):
    async with running_service("catalogue", service_settings(fresh_database, fresh_kafka, tmp_path)) as catalogue:
        await prove_directly(catalogue, (await submit_with_key(catalogue))[0])

        def forged(kind: str) -> list[str]:
            raw = [f"{kind}:{2**63}", f"{kind}:{2**64}", f"{kind}:{10**150}", f"{kind}:-1", f"{kind}: 1",
                   f"{kind}:1_0", f"{kind}:01", f"{kind}:\u0661", f"{kind}:"]
            valid = cursors.encode(kind, 1)
            return [*(base64.urlsafe_b64encode(r.encode()).decode().rstrip("=") for r in raw),
                    f"{valid[:2]}.{valid[2:]}", "%%%%", "\u00e9\u00e9", "////",
                    base64.urlsafe_b64encode(b"\xff\xfe\xfd").decode()]

        for path, param, kind in (("/v1/catalogue", "cursor", cursors.LISTING),
                                  ("/v1/catalogue/changes", "after", cursors.CHANGES)):
            for cursor in forged(kind):
                response = await catalogue.client.get(path, params={param: cursor})
                assert response.status_code == 422 and fields(response) == [param], (path, cursor, response.text)
            # The largest position a bigint holds is a cursor past the end: an empty page, not an error.
            last = await catalogue.client.get(path, params={param: cursors.encode(kind, 2**63 - 1)})
            assert last.status_code == 200 and last.json()["items"] == []


async def test_the_catalogue_keeps_its_own_body_limit_variable(fresh_database, fresh_kafka, tmp_path):
    body = json.dumps(dossier()).encode()
    settings = service_settings(fresh_database, fresh_kafka, tmp_path,
                                SCHULDENLAB_CATALOGUE_MAX_BODY_BYTES=str(len(body) - 1))
    async with running_service("catalogue", settings) as catalogue:
        response = await catalogue.client.post("/v1/projects", content=body, headers=JSON)
        assert response.status_code == 413 and f"larger than {len(body) - 1} bytes" in response.json()["detail"]
        assert await nothing_stored(catalogue)
