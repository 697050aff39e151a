"""A listing whose rating ran out (SPEC 5.2) is proven no more for partnering, until a renewal says so again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from partnering.domain.coverage import lab_coverage
from partnering.domain.model import CatalogueEntry
from partnering.entrypoints.messages import _change
from schuldenlab_contracts.cloudevents import new_event
from schuldenlab_contracts.events import CatalogueProject
from schuldenlab_contracts.ratings import Rating
from tests.contract.samples import sample_payloads
from tests.unit.partnering.test_partnering_implementation_rules import formed_lab


def _entry(status: str) -> CatalogueEntry:
    rating = Rating(evidence_level="effective", valid_until=datetime.now(UTC) + timedelta(days=1), status=status)
    payload = sample_payloads()[CatalogueProject].model_copy(update={"rating": rating})
    entry = _change(payload, new_event(payload))
    assert isinstance(entry, CatalogueEntry)
    return entry


def test_an_expired_rating_is_not_proven_and_no_coverage_suggests_it_while_a_current_one_is():
    lab = formed_lab()
    expired, current, due = _entry("expired"), _entry("current"), _entry("reassessment_due")
    assert not expired.is_proven and current.is_proven and due.is_proven  # due: still valid until it runs out
    suggested = {s.project_id for gap in lab_coverage(lab.id, [], [expired], {}).phases for s in gap.suggestions}
    assert suggested == set()
    suggested = {s.project_id for gap in lab_coverage(lab.id, [], [current], {}).phases for s in gap.suggestions}
    assert suggested == {current.project_id}
