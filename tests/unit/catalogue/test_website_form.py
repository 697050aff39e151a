"""The submission form as data: posted fields to the API's body, the API model's errors in Dutch beside fields."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from catalogue.entrypoints.schemas import ProjectSubmission
from catalogue.entrypoints.web import form, words
from catalogue.entrypoints.web.submission import same_site


def posted(**changes: str | list[str]) -> list[tuple[str, str]]:
    fields: dict[str, str | list[str]] = {
        "name": "Vroeg Eropaf", "summary": "Huisbezoek bij een eerste achterstand.", "problem": "Te laat in beeld.",
        "target_group": "Huishoudens met een achterstand", "phases": ["awareness"],
        "themes": " preventie, , huisbezoek ",
        "origin.organisation": "Gemeente Enschede", "origin.municipality": "Enschede", "origin.lab_id": "",
        "partners.0.name": "Gemeente Enschede", "partners.0.kind": "public",
        "partners.1.name": "", "partners.1.kind": "",
        "partners.2.name": "De Woonplaats", "partners.2.kind": "private",
        "in_production": "ja", "clients_served": "12.500", "results": "Twee op de drie geholpen.",
        "evidence_urls.0": "", "evidence_urls.1": " https://example.nl/rapport ",
        "continuity_model": "Gemeente en corporaties samen.", "availability": "immediate",
        "contact.name": "Anna de Vries", "contact.email": "anna@example.nl",
    }
    fields.update(changes)
    return [(k, item) for k, v in fields.items() for item in (v if isinstance(v, list) else [v])]


def errors_of(pairs: list[tuple[str, str]]) -> dict[str, str]:
    shaped = form.body(form.read(pairs))
    with pytest.raises(ValidationError) as caught:
        ProjectSubmission.model_validate(shaped.data)
    return form.errors_by_field(list(caught.value.errors()), shaped)


def test_a_complete_form_becomes_the_apis_body_without_empty_rows_and_with_numbers_as_numbers():
    shaped = form.body(form.read(posted()))
    body = ProjectSubmission.model_validate(shaped.data)
    assert body.clients_served == 12500 and body.in_production is True  # "12.500" is how a Dutch reader writes it
    assert [p.name for p in body.partners] == ["Gemeente Enschede", "De Woonplaats"]
    assert body.evidence_urls == ["https://example.nl/rapport"] and body.themes == ["preventie", "huisbezoek"]
    assert body.origin.lab_id is None and shaped.partner_rows == [0, 2] and shaped.link_rows == [1]


def test_errors_name_the_row_the_person_filled_in_not_the_position_after_empty_rows_were_dropped():
    errors = errors_of(posted(**{"partners.2.kind": "", "evidence_urls.1": "www.example.nl"}))
    assert set(errors) == {"partners.2.kind", "evidence_urls.1"}
    assert errors["partners.2.kind"] == "Kies een van de mogelijkheden."
    assert "http:// of https://" in errors["evidence_urls.1"]
    assert form.label_of("partners.2.kind") == "Partner 3: soort partij"
    assert form.label_of("evidence_urls.1") == "Link 2"


@pytest.mark.parametrize(("changes", "field", "says"), [
    ({"name": "  "}, "name", "alleen spaties"),
    ({"name": "x" * 201}, "name", "hoogstens 200 tekens"),
    ({"phases": []}, "phases", "ten minste één fase"),
    ({"phases": ["awareness", "awareness"]}, "phases", "één keer"),
    ({"phases": ["payday"]}, "phases", "Kies een van de mogelijkheden"),
    ({"clients_served": "veel"}, "clients_served", "heel getal"),
    ({"clients_served": "1.2"}, "clients_served", "heel getal"),  # not a Dutch thousands separator
    ({"clients_served": "99999999999"}, "clients_served", "te groot"),
    ({"in_production": ""}, "in_production", "ja of nee"),
    ({"availability": ""}, "availability", "Kies hoe snel"),
    ({"contact.email": "anna"}, "contact.email", "naam@voorbeeld.nl"),
    ({"origin.lab_id": "Schuldenlab070"}, "origin.lab_id", "geen id van een lab"),
    ({"partners.0.name": "", "partners.0.kind": "", "partners.2.name": "", "partners.2.kind": ""},
     "partners", "ten minste één partner"),
])
def test_each_invalid_field_gets_a_dutch_reason_of_its_own(changes, field, says):
    errors = errors_of(posted(**changes))
    assert list(errors) == [field] and says in errors[field]


def test_add_row_buttons_add_one_empty_row_and_keep_what_was_typed():
    partners = form.read([*posted(), ("actie", form.ADD_PARTNER)])
    assert len(partners.partners) == 4 and partners.partners[2] == {"name": "De Woonplaats", "kind": "private"}
    assert partners.partners[3] == {"name": "", "kind": ""} and partners.values["name"] == "Vroeg Eropaf"
    links = form.read([*posted(), ("actie", form.ADD_LINK)])
    assert links.evidence_urls == ["", " https://example.nl/rapport ", ""] and links.action == form.ADD_LINK
    assert form.read(posted()).action == form.SUBMIT  # Enter in a field, or the main button


def test_rows_are_bounded_and_unknown_fields_ignored():
    many = form.read([*posted(), ("partners.999.name", "x"), ("evidence_urls.70", "https://x.nl"), ("is_admin", "1")])
    assert len(many.partners) == 3 and len(many.evidence_urls) == 2 and "is_admin" not in many.values


def test_text_the_database_cannot_store_is_named_by_field():
    found = form.unstorable_fields(form.read(posted(summary="a\x00b", **{"partners.2.name": "\ud800"})))
    assert set(found) == {"summary", "partners.2.name"}


def test_the_error_summary_follows_the_forms_order_and_links_to_the_first_input_of_a_group():
    ordered = form.in_form_order({"contact.email": "x", "partners.1.kind": "x", "partners.1.name": "x", "name": "x",
                                  "website": "x"})
    assert [name for name, _ in ordered] == ["name", "partners.1.name", "partners.1.kind", "contact.email", "website"]
    assert form.anchor("partners") == "veld-partners-0-name" and form.anchor("origin.lab_id") == "veld-origin-lab-id"


def test_a_post_is_our_own_when_the_browser_says_so_or_no_browser_sent_it():
    class Request:
        def __init__(self, **headers: str) -> None:
            self.headers = {"host": "schuldenlab.nl", **{k.replace("_", "-"): v for k, v in headers.items()}}

    assert same_site(Request(origin="https://schuldenlab.nl", sec_fetch_site="same-origin"))
    assert same_site(Request())  # curl, a script: not a browser another site can drive
    assert not same_site(Request(origin="https://kwaad.example"))
    assert not same_site(Request(origin="null"))
    assert not same_site(Request(sec_fetch_site="cross-site"))
    assert not same_site(Request(origin="https://schuldenlab.nl", sec_fetch_site="same-site"))


def test_dates_and_numbers_are_written_the_dutch_way():
    assert words.date("2026-11-03T12:00:00+00:00") == "3 november 2026" and words.date("later") == "later"
    assert words.number(12500) == "12.500" and words.number(1.75) == "1,8" and words.number(2.0) == "2"
    assert words.projects(1) == "1 project" and words.projects(0) == "0 projecten"
    assert words.outcomes({"outcomes": {"households_reached": 40, "benefit_per_euro": None, "new": 1}}) == \
        [("Huishoudens bereikt", 40)]
