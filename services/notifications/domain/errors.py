"""What can go wrong in notifications, in the domain's words (mapped to HTTP statuses in bootstrap)."""

from __future__ import annotations


class NotFound(Exception):
    """The subscription or delivery does not exist, or is not the caller's to see."""


class InvalidInput(ValueError):
    """A request field is unacceptable; `field` names it and the message says why (a 422)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class RefusedTarget(InvalidInput):
    """The URL is well formed, but it reaches a non-public address (the SSRF defence); still a 422 on `url`."""

    def __init__(self, reason: str) -> None:
        super().__init__("url", reason)


class DeliveryConflict(Exception):
    """A delivery cannot be sent again now; `conditions` lists every unmet condition (a 409)."""

    def __init__(self, conditions: list[str]) -> None:
        super().__init__("The delivery cannot be sent again: " + "; ".join(conditions))
        self.conditions = conditions
