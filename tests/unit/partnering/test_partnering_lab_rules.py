"""The rules of a lab: creation, partners, the set-up checklist and formation (domain only, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from partnering.domain.errors import InvalidInput, PartneringConflict
from partnering.domain.lab import Lab, LabStatus, PartnerKind, SetupStep, parse_step

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


def new_lab(**overrides) -> Lab:
    args = {"name": "SchuldenlabMVS", "municipalities": ["Maassluis", "Vlaardingen", "Schiedam"],
            "region": "Nieuwe Waterweg", "at": NOW, **overrides}
    return Lab.create(**args)


def join(lab: Lab, organisation: str, *, municipality: bool = False, commitment: str = "Brings people and money"):
    return lab.join(organisation=organisation, kind=PartnerKind.PUBLIC if municipality else PartnerKind.PRIVATE,
                    sector="government" if municipality else "housing", is_municipality=municipality,
                    commitment=commitment, at=NOW)


def formable_lab() -> Lab:
    lab = new_lab()
    join(lab, "Gemeente Schiedam", municipality=True)
    lab.complete_step(SetupStep.KWARTIERMAKER_APPOINTED, by="kim", at=NOW, note=None)
    lab.complete_step(SetupStep.DECLARATION_OF_INTENT, by="kim", at=NOW, note="signed by all")
    return lab


def test_a_new_lab_is_forming_with_an_empty_checklist():
    lab = new_lab()
    assert lab.status is LabStatus.FORMING and lab.checklist == {} and lab.partners == []
    assert lab.municipalities == ("Maassluis", "Vlaardingen", "Schiedam")


def test_a_lab_needs_at_least_one_municipality():
    with pytest.raises(InvalidInput) as caught:
        new_lab(municipalities=[])
    assert caught.value.field == "municipalities"


def test_a_municipality_cannot_be_listed_twice():
    with pytest.raises(InvalidInput, match="more than once"):
        new_lab(municipalities=["Schiedam", " schiedam"])


def test_the_checklist_has_the_ten_set_up_steps():
    assert [s.value for s in SetupStep] == [
        "kwartiermaker_appointed", "work_plan", "administrative_support", "executive_connections",
        "programme_team", "themes_and_projects", "partner_support", "declaration_of_intent",
        "trial_process", "kick_off"]


def test_an_unknown_step_is_refused_listing_the_valid_steps():
    with pytest.raises(InvalidInput) as caught:
        parse_step("party")
    assert caught.value.field == "step"
    assert all(step.value in caught.value.reason for step in SetupStep)


def test_completing_a_step_records_who_and_when():
    lab = new_lab()
    record = lab.complete_step(SetupStep.WORK_PLAN, by="kwartiermaker-kim", at=NOW, note="  goals set ")
    assert (record.done_by, record.done_at, record.note) == ("kwartiermaker-kim", NOW, "goals set")
    assert lab.is_done(SetupStep.WORK_PLAN)


def test_the_same_organisation_cannot_join_twice_whatever_its_spelling():
    lab = new_lab()
    join(lab, "Woonplus Schiedam")
    with pytest.raises(PartneringConflict) as caught:
        join(lab, "  woonplus   SCHIEDAM ")
    assert "already a partner" in caught.value.conditions[0]
    assert len(lab.partners) == 1


def test_a_partner_joins_only_with_an_explicit_commitment():
    with pytest.raises(InvalidInput) as caught:
        join(new_lab(), "Eneco", commitment="   ")
    assert caught.value.field == "commitment"


def test_formation_names_every_unmet_condition():
    lab = new_lab()
    join(lab, "Woonplus Schiedam")  # not a municipality
    with pytest.raises(PartneringConflict) as caught:
        lab.form(NOW, by="kim")
    conditions = caught.value.conditions
    assert len(conditions) == 3
    assert any("municipality" in c for c in conditions)
    assert any("kwartiermaker" in c for c in conditions)
    assert any("declaration of intent" in c for c in conditions)
    assert lab.status is LabStatus.FORMING


def test_lab_cannot_form_without_a_municipality_partner():
    lab = new_lab()
    lab.complete_step(SetupStep.KWARTIERMAKER_APPOINTED, by="kim", at=NOW, note=None)
    lab.complete_step(SetupStep.DECLARATION_OF_INTENT, by="kim", at=NOW, note=None)
    with pytest.raises(PartneringConflict) as caught:
        lab.form(NOW, by="kim")
    assert caught.value.conditions == [
        "no municipality of the lab (Maassluis, Vlaardingen, Schiedam) has joined the lab with an explicit commitment"]


def test_a_lab_forms_with_its_partners_as_founders():
    lab = formable_lab()
    join(lab, "Eneco")
    lab.form(NOW, by="kim")
    assert lab.status is LabStatus.FORMED and lab.formed_at == NOW and lab.formed_by == "kim"
    assert lab.founding_partner_ids == tuple(p.id for p in lab.partners)


def test_a_formed_lab_cannot_be_formed_again():
    lab = formable_lab()
    lab.form(NOW, by="kim")
    with pytest.raises(PartneringConflict) as caught:
        lab.form(NOW, by="kim")
    assert "already formed" in caught.value.conditions[0]


def test_funding_source_resolves_partners_by_name_or_id_and_the_labs_municipalities():
    lab = new_lab()
    bank = join(lab, "ING")
    municipality = join(lab, "Gemeente Vlaardingen", municipality=True)
    assert lab.funding_source(" ing ").partner_id == bank.id
    assert lab.funding_source(str(municipality.id)).is_municipality
    by_name = lab.funding_source("gemeente maassluis")
    assert (by_name.name, by_name.partner_id, by_name.is_municipality) == ("Maassluis", None, True)
    with pytest.raises(InvalidInput) as caught:
        lab.funding_source("Rabobank")
    assert caught.value.field == "source"


def test_only_a_public_organisation_can_be_a_municipality():
    lab = new_lab()
    with pytest.raises(InvalidInput) as caught:
        lab.join(organisation="Shell", kind=PartnerKind.PRIVATE, sector="energy", is_municipality=True,
                 commitment="Money", at=NOW)
    assert caught.value.field == "is_municipality" and "public" in caught.value.reason
    assert lab.partners == []


def test_a_municipality_from_elsewhere_does_not_form_the_lab():
    lab = new_lab()
    join(lab, "Gemeente Rotterdam", municipality=True)
    lab.complete_step(SetupStep.KWARTIERMAKER_APPOINTED, by="kim", at=NOW, note=None)
    lab.complete_step(SetupStep.DECLARATION_OF_INTENT, by="kim", at=NOW, note=None)
    with pytest.raises(PartneringConflict) as caught:
        lab.form(NOW, by="kim")
    assert [c for c in caught.value.conditions if "municipality" in c] == [
        "no municipality of the lab (Maassluis, Vlaardingen, Schiedam) has joined the lab with an explicit commitment"]
    join(lab, "Schiedam", municipality=True)  # the name matches with or without "Gemeente"
    lab.form(NOW, by="kim")
    assert lab.status is LabStatus.FORMED


def test_marking_a_done_step_again_keeps_who_did_it_and_when_but_takes_a_new_note():
    lab = new_lab()
    later = NOW.replace(hour=12)
    lab.complete_step(SetupStep.WORK_PLAN, by="kim", at=NOW, note="draft")
    again = lab.complete_step(SetupStep.WORK_PLAN, by="piet", at=later, note="final")
    assert (again.done_by, again.done_at, again.note) == ("kim", NOW, "final")
    kept = lab.complete_step(SetupStep.WORK_PLAN, by="piet", at=later, note=None)
    assert (kept.done_by, kept.done_at, kept.note) == ("kim", NOW, "final")
