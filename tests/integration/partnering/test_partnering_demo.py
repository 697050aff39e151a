"""Partnering's demo step over real HTTP against the service under uvicorn: members, an outsider, handover."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid

import httpx
import pytest
import uvicorn

from schuldenlab import demo_partnering
from schuldenlab.services import load_definition
from servicekit.service import create_app
from tests.integration.partnering.test_partnering_service import publish_to_catalogue_feed
from tests.support.harness import auth, service_settings, token

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.asynccontextmanager
async def _served(settings):
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(load_definition("partnering"), settings), host="127.0.0.1",
                                           port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def test_the_demo_lab_adds_its_programme_team_refuses_an_outsider_and_hands_over(fresh_database, fresh_kafka,
                                                                                        tmp_path, capsys):
    settings = service_settings(fresh_database, fresh_kafka, tmp_path)
    project_id = uuid.uuid4()
    await publish_to_catalogue_feed(fresh_kafka, project_id)
    async with _served(settings) as partnering:
        state: dict = {"projects": {"Jongeren Perspectief Fonds": str(project_id)}}

        def run_demo() -> None:
            with httpx.Client(timeout=10) as sync_client:
                demo_partnering.run(sync_client, {"partnering": partnering}, token, state)

        await asyncio.to_thread(run_demo)
        async with httpx.AsyncClient() as client:
            members = (await client.get(f"{partnering}/v1/labs/{state['lab_id']}/members",
                                        headers=auth("operator"))).json()["items"]
            lab = (await client.get(f"{partnering}/v1/labs/{state['lab_id']}", headers=auth("operator"))).json()
    assert [m["subject"] for m in members] == ["lab", "programme-team-mvs"]  # the creator first
    assert {s["done_by"] for s in lab["checklist"]} == {"programme-team-mvs"}
    assert lab["implementations"][0]["status"] == "handed_over"
    # SPEC 5.3: the stage walk with a pause ends in sustainment, outcomes with costs, and another one stopped.
    first, second = lab["implementations"]
    assert [(c["stage"], c["status"]) for c in first["changes"]] == [
        ("installation", "preparing"), ("installation", "running"), ("initial_implementation", "running"),
        ("initial_implementation", "paused"), ("initial_implementation", "running"),
        ("full_implementation", "running"), ("sustainment", "handed_over")]
    assert first["impact_totals"]["cost_eur"] == "84150.00" and first["impact_totals"]["benefit_per_euro"]
    assert second["status"] == "stopped" and second["status_reason"]
    out = capsys.readouterr().out
    assert "benefit per euro" in out and "phases covered:" in out
    assert "a lab token of another lab is refused: 403" in out
