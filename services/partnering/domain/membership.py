"""Who may change a lab: its members (lab-role holders, named by their token's subject) and the operator."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from partnering.domain.errors import InvalidInput, NotALabMember, NotFound, PartneringConflict

MAX_SUBJECT_LENGTH = 200


@dataclass(frozen=True)
class Actor:
    """Who asks: the token's subject, and which of the roles that matter here its token carries."""

    subject: str
    is_operator: bool = False
    holds_lab_role: bool = False


@dataclass(frozen=True)
class Member:
    """A lab-role holder who may change the lab; who added them and when, for the record."""

    lab_id: uuid.UUID
    subject: str
    added_by: str
    added_at: datetime


def may_change_lab(actor: Actor, members: Collection[str]) -> bool:
    """The operator may change every lab; a lab-role holder only the labs it is a member of.

    The role is part of the rule because subjects are not unique across roles: a board member's token
    that happens to carry a member's name is still no lab token.
    """
    return actor.is_operator or (actor.holds_lab_role and actor.subject in members)


def ensure_may_change_lab(actor: Actor, lab_id: uuid.UUID, members: Collection[str]) -> None:
    if not may_change_lab(actor, members):
        raise NotALabMember(f"only the members of lab {lab_id} and the operator may change it or read its members; "
                            "this token's holder is not a member")


def first_members(creator: Actor) -> tuple[str, ...]:
    """Whoever creates a lab with a lab token is its first member. An operator's lab starts without members:
    the operator may change it anyway, and a member named like the operator's subject would let any lab
    token issued under that name in."""
    return () if creator.is_operator else (creator.subject,)


def member_subject(value: str) -> str:
    """A subject as tokens carry it. Matched exactly, so a name with stray spaces or control characters would
    look right and never match a token: refused rather than silently changed."""
    if not value or not value.strip():
        raise InvalidInput("subject", "must not be blank")
    if value != value.strip():
        raise InvalidInput("subject", "must not start or end with whitespace (subjects are matched exactly)")
    if any(not ch.isprintable() for ch in value):
        raise InvalidInput("subject", "must not contain control or invisible characters")
    if len(value) > MAX_SUBJECT_LENGTH:
        raise InvalidInput("subject", f"must be at most {MAX_SUBJECT_LENGTH} characters")
    return value


def ensure_may_add_member(actor: Actor, lab_id: uuid.UUID, subject: str, members: Collection[str]) -> None:
    ensure_may_change_lab(actor, lab_id, members)
    if subject in members:
        raise PartneringConflict(f"{subject!r} is already a member of lab {lab_id}",
                                 [f"{subject!r} is already a member of this lab"])


def ensure_may_remove_member(actor: Actor, lab_id: uuid.UUID, subject: str, members: Collection[str]) -> None:
    """Members and the operator remove members. A member may not remove the last one (themselves, then): the
    lab would be left to the operator alone by a slip; the operator, who can add members again, may."""
    ensure_may_change_lab(actor, lab_id, members)
    if subject not in members:
        raise NotFound(f"{subject!r} is not a member of lab {lab_id}")
    if not actor.is_operator and len(members) == 1:
        raise PartneringConflict(f"{subject!r} is the last member of lab {lab_id}",
                                 [f"{subject!r} is the lab's last member: add another member first "
                                  "(or ask the operator to remove it)"])
