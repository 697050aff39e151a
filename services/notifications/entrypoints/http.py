"""HTTP routes of the notifications service."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel
from servicekit.auth import require_role
from servicekit.service import get_runtime

router = APIRouter(prefix="/v1", tags=["events"])


class ReceivedEventOut(BaseModel):
    event_id: str
    ce_type: str
    subject: str
    source: str
    time: datetime


@router.get("/events", summary="The events notifications received, newest first (operator)",
            dependencies=[Depends(require_role())])
async def list_events(request: Request, limit: int = Query(50, ge=1, le=1000)) -> list[ReceivedEventOut]:
    async with get_runtime(request).transaction() as uow:
        events = await uow.events.recent(limit)
    return [ReceivedEventOut(event_id=e.event_id, ce_type=e.ce_type, subject=e.subject, source=e.source,
                             time=e.time) for e in events]
