"""The project lifecycle and adoption rules of the catalogue's domain, without I/O."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from catalogue.domain.errors import CatalogueConflict, SubmitterKeyMissing, SubmitterKeyRejected, UnknownLab
from catalogue.domain.model import (
    Disclosure,
    Project,
    ProjectStatus,
    Verdict,
    issue_submitter_key,
    require_formed_lab,
)
from tests.unit.catalogue.catalogue_fakes import CONTACT, dossier

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
KEY, DIGEST = issue_submitter_key()


def project() -> Project:
    return Project.submit(dossier(), CONTACT, NOW, DIGEST)


def verdict(p: Project, v: Verdict, revision: int | None = None, at: datetime = NOW) -> bool:
    return p.record_verdict(assessment_id=uuid.uuid4(), revision=revision or p.revision, verdict=v,
                            rationale="Het bestuur besloot.", decided_at=at)


def test_a_new_submission_is_revision_one_and_submitted():
    p = project()
    assert (p.revision, p.status, p.contact) == (1, ProjectStatus.SUBMITTED, CONTACT)


def test_a_verdict_on_the_current_revision_sets_the_status():
    p = project()
    assert verdict(p, Verdict.PROVEN)
    assert p.status is ProjectStatus.PROVEN and p.is_listed


def test_resubmission_after_needs_information_makes_a_new_submitted_revision():
    p = project()
    verdict(p, Verdict.NEEDS_INFORMATION)
    p.resubmit(dossier(results="Nieuwe resultaten."), None, NOW)
    assert (p.revision, p.status, p.dossier.results) == (2, ProjectStatus.SUBMITTED, "Nieuwe resultaten.")
    assert p.contact == CONTACT  # a resubmission without contact keeps the one we have


@pytest.mark.parametrize("status_verdict", [None, Verdict.PROVEN, Verdict.REJECTED])
def test_resubmission_is_refused_unless_information_was_asked(status_verdict):
    p = project()
    if status_verdict:
        verdict(p, status_verdict)
    with pytest.raises(CatalogueConflict) as refused:
        p.resubmit(dossier(), None, NOW)
    assert "needs_information" in refused.value.conditions[0] and p.status.value in refused.value.conditions[0]
    assert p.revision == 1


def test_a_verdict_for_an_older_revision_is_recorded_but_changes_nothing():
    p = project()
    verdict(p, Verdict.NEEDS_INFORMATION)
    p.resubmit(dossier(), None, NOW)
    assert not verdict(p, Verdict.PROVEN, revision=1)
    assert p.status is ProjectStatus.SUBMITTED
    assert [(v.revision, v.verdict, v.applied) for v in p.verdicts] == [
        (1, Verdict.NEEDS_INFORMATION, True), (1, Verdict.PROVEN, False)]


def test_a_later_verdict_on_the_same_revision_replaces_the_earlier_one():
    p = project()
    verdict(p, Verdict.PROVEN, at=NOW)
    assert verdict(p, Verdict.REJECTED, at=NOW + timedelta(days=1))
    assert p.status is ProjectStatus.REJECTED and not p.is_listed


def test_a_verdict_decided_before_the_one_applied_does_not_overrule_it():
    p = project()
    verdict(p, Verdict.PROVEN, at=NOW)
    assert not verdict(p, Verdict.REJECTED, at=NOW - timedelta(days=1))
    assert p.status is ProjectStatus.PROVEN


def test_a_withdrawn_project_stays_withdrawn_whatever_the_verdict():
    p = project()
    assert p.withdraw()
    assert not verdict(p, Verdict.PROVEN)
    assert p.status is ProjectStatus.WITHDRAWN
    assert not p.withdraw()  # withdrawing twice changes nothing


def test_erasing_the_contact_leaves_no_trace_of_it():
    p = project()
    p.erase_contact()
    assert p.contact is None


def test_adoption_figures_follow_implementations_and_handovers():
    p = project()
    lab_a, lab_b, impl_a, impl_b = (uuid.uuid4() for _ in range(4))
    assert p.start_implementation(impl_a, lab_a, ("Almelo",))
    assert p.start_implementation(impl_b, lab_b, ("Maassluis", "Den Haag"))
    assert not p.start_implementation(impl_a, lab_a, ("Almelo",))  # the same event again
    assert p.labs_implementing == [lab_a, lab_b] and p.handovers == 0
    assert p.hand_over(impl_a, lab_a, NOW)
    assert not p.hand_over(impl_a, lab_a, NOW)
    assert p.labs_implementing == [lab_b] and p.handovers == 1
    assert p.municipalities == ["Den Haag", "Almelo", "Maassluis"]


def test_a_handover_arriving_before_its_start_is_completed_by_the_start():
    p = project()
    lab, impl = uuid.uuid4(), uuid.uuid4()
    assert p.hand_over(impl, lab, NOW)
    assert p.start_implementation(impl, lab, ("Emmen",))
    assert p.handovers == 1 and p.labs_implementing == [] and "Emmen" in p.municipalities


def test_a_labs_own_project_needs_a_formed_lab():
    own = dossier(origin={"organisation": "Schuldenlab073", "municipality": "'s-Hertogenbosch",
                          "lab_id": str(uuid.uuid4())})
    with pytest.raises(UnknownLab):
        require_formed_lab(own, lab_is_formed=False)
    require_formed_lab(own, lab_is_formed=True)
    require_formed_lab(dossier(), lab_is_formed=False)  # not a lab's own project: no lab needed


def test_the_same_verdict_delivered_again_is_recorded_once():
    p = project()
    assessment = uuid.uuid4()
    first = dict(assessment_id=assessment, revision=1, verdict=Verdict.PROVEN, rationale="Bewezen.", decided_at=NOW)
    assert p.record_verdict(**first)
    assert not p.record_verdict(**first)
    assert len(p.verdicts) == 1 and p.status is ProjectStatus.PROVEN


def test_the_submitters_key_is_kept_only_as_a_digest_and_checked():
    p = project()
    assert KEY.encode() not in p.submitter_key_digest and len(KEY) >= 43
    assert p.is_submitters_key(KEY) and not p.is_submitters_key(KEY + "x")
    p.require_submitter(KEY)
    with pytest.raises(SubmitterKeyMissing):
        p.require_submitter(None)
    with pytest.raises(SubmitterKeyRejected):
        p.require_submitter(issue_submitter_key()[0])
    keyless = Project.submit(dossier(), CONTACT, NOW, DIGEST)
    keyless.submitter_key_digest = None  # submitted before keys existed: no key opens it
    with pytest.raises(SubmitterKeyRejected):
        keyless.require_submitter(KEY)


def test_an_unlisted_project_shows_the_public_only_its_summary_and_a_listed_one_its_dossier():
    p = project()
    assert p.disclosure(frozenset(), None) is Disclosure.SUMMARY
    assert p.disclosure(frozenset({"lab"}), None) is Disclosure.SUMMARY
    assert p.disclosure(frozenset(), KEY) is Disclosure.FULL
    assert p.disclosure(frozenset({"board"}), None) is Disclosure.FULL
    assert p.disclosure(frozenset({"assessor"}), None) is Disclosure.FULL
    assert p.disclosure(frozenset({"operator"}), None) is Disclosure.WITH_CONTACT
    with pytest.raises(SubmitterKeyRejected):
        p.disclosure(frozenset(), "not-the-key")
    verdict(p, Verdict.PROVEN)
    assert p.disclosure(frozenset(), None) is Disclosure.PUBLIC
