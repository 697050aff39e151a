"""Event handlers of the assessment service: translate an event into a command."""

from __future__ import annotations

from schuldenlab_contracts.cloudevents import CloudEvent
from schuldenlab_contracts.events import ProjectSubmitted
from schuldenlab_contracts.registry import by_model

from assessment.service_layer import handlers


async def on_project_submitted(payload: ProjectSubmitted, event: CloudEvent, uow) -> None:
    cmd = handlers.OpenAssessment(project_id=payload.project_id, revision=payload.revision,
                                  project_name=payload.name, phases=tuple(p.value for p in payload.phases))
    await handlers.open_assessment(cmd, uow)


HANDLERS = {by_model(ProjectSubmitted).ce_type: on_project_submitted}
