"""The building blocks every contract model shares: vocabularies, constrained scalar types, the closed base model."""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

__all__ = [
    "Availability",
    "ContractModel",
    "Count",
    "HttpUrl",
    "Label",
    "Money",
    "Notes",
    "PartnerKind",
    "Phase",
    "Phases",
    "Ratio",
    "Revision",
    "Text",
    "Verdict",
]


# --- shared vocabularies -------------------------------------------------------------------------


class Phase(StrEnum):
    """One of the seven phases of debt assistance the portfolio aims to cover."""

    AWARENESS = "awareness"  # early signalling and prevention ("bewustwording")
    INTAKE = "intake"  # intake and data exchange ("kennismaking")
    REFERRAL = "referral"  # information and advice ("verwijzing")
    STABILISATION = "stabilisation"  # stabilising the debt situation ("op orde komen")
    PLANNING = "planning"  # choosing a trajectory ("plan maken")
    DEBT_REDUCTION = "debt_reduction"  # the assistance trajectory ("schuld afbouwen")
    AFTERCARE = "aftercare"  # preventing relapse ("vinger aan de pols")


class PartnerKind(StrEnum):
    """What sort of organisation a partner is."""

    PUBLIC = "public"
    PRIVATE = "private"
    SOCIETAL = "societal"


class Availability(StrEnum):
    """How soon another municipality can implement a project ("beschikbaar")."""

    IMMEDIATE = "immediate"
    SMALL_EFFORT = "small_effort"
    NOT_YET = "not_yet"


class Verdict(StrEnum):
    """The portfolio board's decision on a submitted project."""

    PROVEN = "proven"
    REJECTED = "rejected"
    NEEDS_INFORMATION = "needs_information"


# --- constrained scalar types --------------------------------------------------------------------

def _not_blank(value: str) -> str:
    # min_length=1 alone lets "   " through, which is as empty as "" to every reader.
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# The same characters as str.isspace (sre tests with Py_UNICODE_ISSPACE), found without a Python loop per
# character: every URL of every consumed submission passes here.
_WHITESPACE = re.compile(r"\s")


def _http_url(value: str) -> str:
    if _WHITESPACE.search(value):
        raise ValueError(f"URL must not contain whitespace, got {value!r}")
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"URL must start with http:// or https://, got {value!r}")
    if not parts.hostname:
        raise ValueError(f"URL must name a host, got {value!r}")
    return value


def _unique_phases(phases: list[Phase]) -> list[Phase]:
    seen: set[Phase] = set()
    for phase in phases:
        if phase in seen:
            raise ValueError(f"phase {phase.value!r} is listed more than once")
        seen.add(phase)
    return phases


# Exact euros (never a float): JSON numbers or strings in, strings out ("1250.50").
Money = Annotated[Decimal, Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)]
# A ratio such as benefit per euro, exact to four decimals.
Ratio = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=4, allow_inf_nan=False)]

# The pattern only documents the non-blank rule in the JSON Schema; _not_blank enforces it.
_NON_BLANK = Field(json_schema_extra={"pattern": r"\S"})

Label = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_not_blank), _NON_BLANK
]
Text = Annotated[
    str, StringConstraints(min_length=1, max_length=10_000), AfterValidator(_not_blank), _NON_BLANK
]
Notes = Annotated[str, StringConstraints(max_length=10_000)]
HttpUrl = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2048),
    AfterValidator(_http_url),
    Field(json_schema_extra={"format": "uri", "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://"}),
]
Revision = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]
Phases = Annotated[
    list[Phase],
    Field(min_length=1, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_unique_phases),
]


class ContractModel(BaseModel):
    """Base of every contract model: immutable, and closed so producers cannot leak stray fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
