"""A minimal service for testing the runtime: it records an effect per event it handles, or fails on demand."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from schuldenlab_contracts.events import CatalogueProject, ProjectAssessed, ProjectSubmitted
from schuldenlab_contracts.registry import by_model
from servicekit.service import ServiceDefinition
from servicekit.uow import UnitOfWork

NAME = "probe"


@dataclass
class Behaviour:
    failing_names: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)
    batched: bool = False  # ProjectSubmitted has a batch handler too
    batches: list[list[str]] = field(default_factory=list)  # the names each call of the batch handler had


class ProbeUnitOfWork(UnitOfWork):
    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__(conn, schema=NAME)


def definition(behaviour: Behaviour) -> ServiceDefinition:
    async def on_submitted(payload: ProjectSubmitted, event, uow: ProbeUnitOfWork) -> None:
        behaviour.calls.append(payload.name)
        await uow.conn.execute("INSERT INTO effects (event_id, name) VALUES ($1, $2)", payload.project_id, payload.name)
        if payload.name in behaviour.failing_names:
            # Raised after the write: the effect must roll back with the failure.
            raise RuntimeError(f"probe told to fail on {payload.name}")

    async def on_feed(payload: CatalogueProject | None, event, uow: ProbeUnitOfWork) -> None:
        name = "tombstone" if payload is None else payload.name
        behaviour.calls.append(name)
        await uow.conn.execute("INSERT INTO effects (event_id, name) VALUES ($1, $2)", event.id, name)

    async def on_assessed(payload: ProjectAssessed, event, uow: ProbeUnitOfWork) -> None:
        name = f"{payload.verdict}: {payload.rationale}"
        behaviour.calls.append(name)
        await uow.conn.execute("INSERT INTO effects (event_id, name) VALUES ($1, $2)", event.id, name)

    async def on_submitted_together(items, uow: ProbeUnitOfWork) -> None:
        names = [payload.name for payload, _ in items]
        behaviour.batches.append(names)
        await uow.conn.execute("INSERT INTO effects (event_id, name) SELECT * FROM unnest($1::uuid[], $2::text[])",
                               [payload.project_id for payload, _ in items], names)
        if failing := behaviour.failing_names.intersection(names):
            raise RuntimeError(f"probe told to fail on {sorted(failing)[0]}")

    submitted = by_model(ProjectSubmitted).ce_type
    return ServiceDefinition(
        name=NAME, description="runtime test probe", migrations_package="tests.integration.runtime.probe_migrations",
        uow_factory=ProbeUnitOfWork,
        handlers={by_model(ProjectSubmitted).ce_type: on_submitted, by_model(CatalogueProject).ce_type: on_feed,
                  by_model(ProjectAssessed).ce_type: on_assessed},
        batch_handlers={submitted: on_submitted_together} if behaviour.batched else {},
    )
