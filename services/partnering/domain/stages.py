"""The implementation-science stages of an implementation and the rules for moving between them."""

from __future__ import annotations

from enum import StrEnum

from partnering.domain.errors import InvalidInput, PartneringConflict


class Stage(StrEnum):
    EXPLORATION = "exploration"  # where every adoption starts
    INSTALLATION = "installation"
    INITIAL_IMPLEMENTATION = "initial_implementation"
    FULL_IMPLEMENTATION = "full_implementation"
    SUSTAINMENT = "sustainment"  # reached by the handover only: the project is part of regular operations


ORDER = list(Stage)


def parse_stage(value: str) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        raise InvalidInput("stage", f"must be one of {', '.join(s.value for s in Stage)}") from None


def check_move(current: Stage, target: Stage, note: str | None) -> str | None:
    """The note to keep for moving from `current` to `target`, or the refusal.

    Forward one stage at a time (each stage is a step the lab takes, and every step is an event integrators
    see); back any number of stages, but only with a note saying why (a step back is information for the next
    lab). Sustainment only through the handover: it means the project runs in regular operations."""
    note = note.strip() if note and note.strip() else None
    if target is Stage.SUSTAINMENT:
        raise InvalidInput("stage", "sustainment follows the handover: hand the implementation over "
                                    "(POST /v1/implementations/{id}/handover) instead")
    if target is current:
        raise PartneringConflict(f"the implementation is already at stage {current.value}")
    step = ORDER.index(target) - ORDER.index(current)
    if step > 1:
        following = ORDER[ORDER.index(current) + 1]
        raise PartneringConflict(f"stages go forward one at a time: from {current.value} the next stage is "
                                 f"{following.value}, not {target.value}")
    if step < 0 and note is None:
        raise InvalidInput("note", f"a step back (from {current.value} to {target.value}) needs a note saying why")
    return note
