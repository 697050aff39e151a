"""HTTP routes of an implementation's stage, pausing, resuming and stopping (SPEC 5.3), and a lab's coverage."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from partnering.domain import commands
from partnering.domain.coverage import Coverage
from partnering.entrypoints import schemas, stage_schemas, views
from partnering.entrypoints.http import (
    IMPLEMENTATIONS,
    LABS,
    NO_LAB,
    _implementation_problems,
    _is_operator,
    _viewer,
    changer,
    reader,
)
from partnering.entrypoints.metrics import IMPLEMENTATION_CHANGES
from partnering.service_layer import handlers, stages
from servicekit.auth import Principal
from servicekit.openapi import problems
from servicekit.service import get_runtime

router = APIRouter(prefix="/v1")


async def _answer(request: Request, who: Principal, implementation_id: uuid.UUID, cmd: commands.Command,
                  kind: str) -> schemas.ImplementationOut:
    async with get_runtime(request).transaction() as uow:
        if isinstance(cmd, commands.SetStage):
            await stages.set_stage(cmd, uow)
        else:
            await stages.change_status(cmd, uow)
        view = await handlers.get_implementation(implementation_id, uow, _viewer(who))
    IMPLEMENTATION_CHANGES.labels(kind).inc()
    return views.implementation_out(view.implementation, shows_people=view.shows_people)


@router.post("/implementations/{implementation_id}/stage", tags=IMPLEMENTATIONS,
             summary="Set the stage: forward one at a time, back with a note (ImplementationStageChanged)",
             responses=_implementation_problems(409))
async def set_stage(implementation_id: uuid.UUID, body: stage_schemas.StageUpdate, request: Request,
                    who: Principal = changer) -> schemas.ImplementationOut:
    cmd = commands.SetStage(implementation_id=implementation_id, stage=body.stage, note=body.note, by=who.subject,
                            by_operator=_is_operator(who))
    return await _answer(request, who, implementation_id, cmd, "stage")


def _status_route(action: str, summary: str):
    async def route(implementation_id: uuid.UUID, body: stage_schemas.ReasonBody, request: Request,
                    who: Principal = changer) -> schemas.ImplementationOut:
        cmd = commands.ChangeImplementationStatus(implementation_id=implementation_id, action=action,
                                                  reason=body.reason, by=who.subject, by_operator=_is_operator(who))
        return await _answer(request, who, implementation_id, cmd, action)

    route.__name__ = f"{action}_implementation"
    router.post(f"/implementations/{{implementation_id}}/{action}", tags=IMPLEMENTATIONS, summary=summary,
                responses=_implementation_problems(409))(route)


_status_route("pause", "Pause with a reason (ImplementationStageChanged)")
_status_route("resume", "Resume a paused implementation with a reason (ImplementationStageChanged)")
_status_route("stop", "Stop with a reason; a stopped implementation is closed (ImplementationStageChanged)")


@router.get("/labs/{lab_id}/coverage", tags=LABS,
            summary="The seven phases: which the lab's current implementations cover, and suggestions for each gap",
            responses=problems(404, described={404: NO_LAB}))
async def get_coverage(lab_id: uuid.UUID, request: Request, _: Principal = reader) -> stage_schemas.CoverageOut:
    async with get_runtime(request).transaction() as uow:
        coverage = await stages.get_coverage(lab_id, uow)
    return _coverage_out(coverage)


def _coverage_out(coverage: Coverage) -> stage_schemas.CoverageOut:
    return stage_schemas.CoverageOut(lab_id=coverage.lab_id, gaps=coverage.gaps, phases=[
        stage_schemas.PhaseOut(
            phase=p.phase, covered=p.covered,
            implementations=[stage_schemas.CoveringImplementation(
                implementation_id=i.id, project_id=i.project_id, project_name=i.project_name, stage=i.stage.value,
                status=i.status.value) for i in p.implementations],
            suggestions=[stage_schemas.SuggestionOut(project_id=s.project_id, name=s.name,
                                                     evidence_level=s.evidence_level, sites=s.sites,
                                                     phases=list(s.phases)) for s in p.suggestions])
        for p in coverage.phases])
