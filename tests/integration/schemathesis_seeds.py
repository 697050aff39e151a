"""Real resources in a service before schemathesis runs against it, so its requests reach past "no such id".

Generated ids name nothing, so on their own every request on `/v1/labs/{lab_id}/...` ends in a 404. Each
service gets here, through its own API and the events it consumes, a few resources whose ids the run then
also sends (besides the generated ones): a listed project, an assessment round, a formed lab with an
implementation, a subscription with a delivery. Their answers (201, 200, 204, 409 with conditions, ...) are
checked against the document like any other.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests
from fastapi import FastAPI
from schemathesis.python import asgi

from catalogue.entrypoints.schemas import SUBMISSION_EXAMPLE
from schuldenlab_contracts.cloudevents import new_event, to_kafka_record
from schuldenlab_contracts.examples import PROJECT_ID, example_payload
from tests.support.harness import auth
from tests.support.kafka import produce


def subject(service: str) -> str:
    """The subject of the service's own-role token in the run; in partnering a member of the seeded lab."""
    return f"schemathesis-{service}"


# notifications may deliver to this (refused connections: nothing listens on the discard port), so a seeded
# subscription can exist without an outside network.
WEBHOOK_TARGET = "127.0.0.1:9"
SETTINGS = {"notifications": {"SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS": WEBHOOK_TARGET}}

OPERATOR = auth("operator", "schemathesis-seeder")


def seed(service: str, app: FastAPI, kafka: str) -> dict[str, str]:
    """Path parameters naming real resources of the running `service` (by parameter name)."""
    with asgi.get_client(app) as client:
        return SEEDERS[service](_Api(client), kafka)


class _Api:
    def __init__(self, client: requests.Session) -> None:
        self.client = client

    def __call__(self, method: str, path: str, expect: int, headers: dict[str, str] = OPERATOR,
                 **kwargs: Any) -> Any:
        response = self.client.request(method, path, headers=headers, **kwargs)
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    def eventually(self, path: str, found: Callable[[Any], bool], timeout: float = 20.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            response = self.client.get(path, headers=OPERATOR)
            if response.status_code == 200 and found(response.json()):
                return response.json()
            assert time.monotonic() < deadline, f"GET {path}: still {response.status_code} {response.text}"
            time.sleep(0.1)


def _publish(kafka: str, payload: Any) -> None:
    """An event of another service on its topic, as that service's outbox relay would put it there."""
    record = to_kafka_record(new_event(payload))
    asyncio.run(produce(kafka, record.topic, key=record.key, value=record.value, headers=list(record.headers)))


def _catalogue(api: _Api, kafka: str) -> dict[str, str]:
    project_id = api("POST", "/v1/projects", 201, headers={}, json=SUBMISSION_EXAMPLE)["id"]
    verdict = example_payload("nl.schuldenlab.project.assessed.v1").model_copy(
        update={"project_id": uuid.UUID(project_id)})
    _publish(kafka, verdict)
    api.eventually(f"/v1/projects/{project_id}", lambda p: p["status"] == "proven")  # listed, on the feed
    return {"project_id": project_id}


def _assessment(api: _Api, kafka: str) -> dict[str, str]:
    _publish(kafka, example_payload("nl.schuldenlab.project.submitted.v1"))
    round_ = api.eventually(f"/v1/projects/{PROJECT_ID}/assessment", lambda a: True)
    return {"assessment_id": round_["id"], "project_id": str(PROJECT_ID)}


def _partnering(api: _Api, kafka: str) -> dict[str, str]:
    # A proven project in partnering's replica of the catalogue: the one the documented examples name.
    _publish(kafka, example_payload("nl.schuldenlab.catalogue.project.v1"))
    member = auth("lab", subject("partnering"))
    lab_id = api("POST", "/v1/labs", 201, headers=member,
                 json={"name": "Schuldenlab Drechtsteden", "municipalities": ["Dordrecht"]})["id"]
    api("POST", f"/v1/labs/{lab_id}/partners", 201, headers=member,
        json={"organisation": "Gemeente Dordrecht", "kind": "public", "sector": "municipality",
              "is_municipality": True, "commitment": "Funds the kwartiermaker."})
    for step in ("kwartiermaker_appointed", "declaration_of_intent"):
        api("PUT", f"/v1/labs/{lab_id}/checklist/{step}", 200, headers=member, json={"done": True})
    api("POST", f"/v1/labs/{lab_id}/formation", 200, headers=member)
    api("POST", f"/v1/labs/{lab_id}/members", 201, headers=member, json={"subject": "programme-team-mvs"})
    deadline = time.monotonic() + 20
    while (response := api.client.post(f"/v1/labs/{lab_id}/implementations", headers=member,
                                       json={"project_id": str(PROJECT_ID)})).status_code == 409:
        assert time.monotonic() < deadline, response.text  # until the feed record is in the replica
        time.sleep(0.1)
    assert response.status_code == 201, response.text
    implementation_id = response.json()["id"]
    api("POST", f"/v1/implementations/{implementation_id}/funding", 201, headers=member,
        json={"source": "Gemeente Dordrecht", "kind": "base", "amount_eur": "25000.00"})
    return {"lab_id": lab_id, "implementation_id": implementation_id, "subject": "programme-team-mvs",
            "step": "work_plan"}


def _notifications(api: _Api, kafka: str) -> dict[str, str]:
    lab_formed = example_payload("nl.schuldenlab.lab.formed.v1")
    subscription_id = api("POST", "/v1/subscriptions", 201, headers=auth("integrator", subject("notifications")),
                          json={"url": f"http://{WEBHOOK_TARGET}/webhook",
                                "event_types": ["nl.schuldenlab.lab.formed.v1"]})["id"]
    _publish(kafka, lab_formed)
    deliveries = api.eventually(f"/v1/subscriptions/{subscription_id}/deliveries", lambda page: page["items"])
    return {"subscription_id": subscription_id, "delivery_id": deliveries["items"][0]["id"]}


SEEDERS: dict[str, Callable[[_Api, str], dict[str, str]]] = {
    "catalogue": _catalogue, "assessment": _assessment, "partnering": _partnering, "notifications": _notifications,
}
