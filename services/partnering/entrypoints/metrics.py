"""Partnering's own metrics, on the service's one Prometheus registry."""

from __future__ import annotations

from prometheus_client import Counter

from servicekit.metrics import REGISTRY

LAB_CHANGES = Counter(
    "schuldenlab_partnering_lab_changes",
    "Committed lab changes by kind (created, partner_joined, formed, member_added, member_removed)",
    ["kind"], registry=REGISTRY,
)
IMPLEMENTATION_CHANGES = Counter(
    "schuldenlab_partnering_implementation_changes",
    "Committed implementation changes by kind (started, funded, running, stage, pause, resume, stop, impact, "
    "handed_over)",
    ["kind"], registry=REGISTRY,
)
FUNDING_EUR = Counter(
    "schuldenlab_partnering_funding_eur", "Euros of funding recorded, by kind (base, additional)", ["kind"],
    registry=REGISTRY,
)
