"""An event as notifications received it, the source of every delivery."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ReceivedEvent:
    event_id: str
    ce_type: str
    subject: str
    source: str
    time: datetime
    data: dict | None
