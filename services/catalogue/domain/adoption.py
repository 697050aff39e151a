"""Adoption ("invoering") of a project by labs and its outcomes pooled over the sites that measured (SPEC 5.3).

A site is one implementation. Pure functions over what the catalogue learned from partnering's events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from statistics import median

STAGES = ("exploration", "installation", "initial_implementation", "full_implementation", "sustainment")
FIRST_STAGE, HANDED_OVER_STAGE = STAGES[0], STAGES[-1]
PAUSED, STOPPED, HANDED_OVER = "paused", "stopped", "handed_over"
CENT, RATIO_PLACES = Decimal("0.01"), Decimal("0.0001")


@dataclass(frozen=True)
class Measurement:
    """One impact measurement of a site over a period ("meting"); money in exact euros."""

    measurement_id: uuid.UUID
    implementation_id: uuid.UUID
    households_reached: int
    households_debt_free: int
    households_stabilised: int | None = None
    cost_eur: Decimal | None = None
    benefit_eur: Decimal | None = None


@dataclass(frozen=True)
class SiteView:
    """What adoption needs of one implementation: where it got to and whether it runs, pauses or stopped."""

    implementation_id: uuid.UUID
    lab_id: uuid.UUID
    municipalities: tuple[str, ...]
    stage: str
    status: str | None
    reason: str | None
    changed_at: datetime | None
    handed_over: bool


def adoption(sites: Iterable[SiteView]) -> dict:
    """Implementations per stage (stopped ones aside), paused, stopped with their reasons, handed over, and the
    municipalities where it is being implemented or was handed over (a stopped site's are in its own entry)."""
    per_stage = dict.fromkeys(STAGES, 0)
    paused = handed_over = 0
    stopped: list[dict] = []
    municipalities: list[str] = []
    for site in sites:
        if site.status == STOPPED and not site.handed_over:
            stopped.append({"implementation_id": site.implementation_id, "lab_id": site.lab_id,
                            "municipalities": list(site.municipalities), "stage": site.stage,
                            "reason": site.reason, "stopped_at": site.changed_at})
            continue
        per_stage[site.stage] += 1
        paused += site.status == PAUSED
        handed_over += site.handed_over
        municipalities.extend(m for m in site.municipalities if m not in municipalities)
    return {"implementations": sum(per_stage.values()), "stages": per_stage, "paused": paused,
            "handed_over": handed_over, "stopped": stopped, "municipalities": municipalities}


def _site_ratio(numerator: Decimal, denominator: Decimal | int) -> Decimal | None:
    return None if not denominator else Decimal(numerator) / Decimal(denominator)


def cost_per_debt_free(measurements: list[Measurement]) -> Decimal | None:
    """A site's cost / households debt-free over the periods that reported a cost (exact; None for 0 debt-free)."""
    costed = [m for m in measurements if m.cost_eur is not None]
    if not costed:
        return None
    return _site_ratio(sum((m.cost_eur for m in costed), Decimal(0)), sum(m.households_debt_free for m in costed))


def benefit_per_euro(measurements: list[Measurement]) -> Decimal | None:
    """A site's benefit / cost over the periods that reported both (exact; None when they cost nothing)."""
    both = [m for m in measurements if m.cost_eur is not None and m.benefit_eur is not None]
    if not both:
        return None
    return _site_ratio(sum((m.benefit_eur for m in both), Decimal(0)), sum((m.cost_eur for m in both), Decimal(0)))


def _median(values: list[Decimal], places: Decimal) -> Decimal | None:
    # statistics.median keeps Decimal exact (the mean of the two middle values for an even count); rounded once.
    return median(values).quantize(places, rounding=ROUND_HALF_UP) if values else None


def pooled_outcomes(measurements: Iterable[Measurement]) -> dict | None:
    """Outcomes pooled over every site that reported (None before any did): sums of households, and the medians
    over sites of each site's cost per debt-free household and benefit per euro (sites without the figure left out)."""
    by_site: dict[uuid.UUID, list[Measurement]] = {}
    for m in measurements:
        by_site.setdefault(m.implementation_id, []).append(m)
    if not by_site:
        return None
    every = [m for site in by_site.values() for m in site]
    stabilised = [m.households_stabilised for m in every if m.households_stabilised is not None]
    costs = [c for site in by_site.values() if (c := cost_per_debt_free(site)) is not None]
    benefits = [b for site in by_site.values() if (b := benefit_per_euro(site)) is not None]
    return {
        "sites_reporting": len(by_site),
        "households_reached": sum(m.households_reached for m in every),
        "households_stabilised": sum(stabilised) if stabilised else None,
        "households_debt_free": sum(m.households_debt_free for m in every),
        "cost_per_debt_free_household_eur": _median(costs, CENT),
        "benefit_per_euro": _median(benefits, RATIO_PLACES),
    }
