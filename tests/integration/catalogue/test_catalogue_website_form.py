"""The submission form (/aanmelden) on the real service: the API's validation and use case, as safe pages."""

from __future__ import annotations

import asyncio
import re

import pytest

from tests.integration.catalogue.catalogue_support import count, dossier, prove_directly
from tests.integration.catalogue.website_support import (
    ORIGIN,
    Page,
    complete_form,
    fresh_token,
    post_form,
    project_links,
    visitor,
    website,
)

pytestmark = pytest.mark.integration

KEY = re.compile(r'<code class="sleutel__waarde">([A-Za-z0-9_-]{40,})</code>')
PROJECT = re.compile(r"<code>([0-9a-f-]{36})</code>")


async def test_a_valid_form_is_submitted_through_the_api_and_shows_the_submitters_key_once(
        fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        response = await post_form(browser, complete_form(formulier=await fresh_token(browser)))
        assert response.status_code == 201, response.text
        assert response.headers["cache-control"] == "no-store"  # the key is in it
        keys = KEY.findall(response.text)
        assert len(keys) == 1 and response.text.count(keys[0]) == 1
        assert "Wat gebeurt er nu?" in Page(response.text).text
        project_id = PROJECT.search(response.text).group(1)
        # The key is the API's submitter's key: it opens the full dossier of the unlisted project.
        full = (await catalogue.client.get(f"/v1/projects/{project_id}",
                                           headers={"X-Resubmission-Token": keys[0]})).json()
        assert full["name"] == "Vroeg Eropaf Twente" and full["clients_served"] == 1250
        assert full["phases"] == ["awareness", "referral"] and full["themes"] == ["vroegsignalering", "huisbezoek"]
        assert full["partners"] == [{"name": "Gemeente Enschede", "kind": "public"},
                                    {"name": "Woningcorporatie De Woonplaats", "kind": "private"}]
        assert full["evidence_urls"] == ["https://www.example.nl/evaluatie-vroeg-eropaf"]
        assert full["in_production"] is True and full["availability"] == "small_effort"
        # The same use case as the API: the project and its ProjectSubmitted in one transaction.
        assert await count(catalogue, "projects") == 1
        assert await catalogue.runtime.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE ce_type = 'nl.schuldenlab.project.submitted.v1'") == 1


async def test_an_invalid_form_shows_each_error_beside_its_field_summarised_with_links_and_keeps_every_value(
        fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        sent = complete_form(**{"name": "   ", "phases": [], "clients_served": "veel", "partners.1.kind": "",
                                "evidence_urls.1": "ftp://bestanden.example.nl/rapport.pdf",
                                "contact.email": "geen-adres", "in_production": ""})
        response = await post_form(browser, sent)
        assert response.status_code == 422
        page = Page(response.text)
        expected = {"veld-name": "alleen spaties", "veld-phases": "ten minste één fase",
                    "veld-partners-1-kind": "Kies een van de mogelijkheden", "veld-in-production": "ja of nee",
                    "veld-clients-served": "heel getal", "veld-evidence-urls-1": "http:// of https://",
                    "veld-contact-email": "naam@voorbeeld.nl"}
        groups = {"veld-phases": "<legend>Fasen", "veld-in-production": "<legend>Draait"}  # labelled by a legend
        summary = re.search(r'<div class="foutoverzicht".*?</div>', response.text, re.S).group(0)
        anchors = re.findall(r'<a href="#([a-z0-9-]+)">', summary)
        assert anchors == list(expected)  # in the form's order, one per field
        for element, says in expected.items():
            assert says in Page(summary).text, element
            # Beside its field: between the field's label and the field itself, and named by its aria-describedby.
            error = re.search(rf'<p class="fout" id="{element}-fout">(.*?)</p>', response.text, re.S)
            assert error and says in error.group(1), element
            label_at = response.text.index(groups.get(element, f'for="{element}"'))
            assert label_at < error.start() < response.text.index(f'id="{element}"'), element
            assert page.field(element).get("aria-invalid") == "true" or element in groups
        # Every value comes back as typed.
        for name in ("summary", "problem", "origin.municipality", "partners.0.name", "partners.1.name",
                     "evidence_urls.0", "evidence_urls.1", "contact.name", "clients_served", "themes"):
            assert page.value(name) == sent[name], name
        assert page.value("availability") == ["small_effort"] and page.value("partners.0.kind") == "public"
        assert page.value("phases") == [] and await count(catalogue, "projects") == 0
        # Put right, the same page goes through.
        fixed = dict(page.form_pairs())
        fixed.update({"name": "Vroeg Eropaf", "clients_served": "12", "partners.1.kind": "private",
                      "evidence_urls.1": "", "contact.email": "anna@example.nl", "in_production": "nee"})
        pairs = [*fixed.items(), ("phases", "awareness"), ("actie", "versturen")]
        assert (await post_form(browser, pairs)).status_code == 201


async def test_add_row_buttons_show_one_more_row_keeping_the_values_and_checking_nothing_yet(
        fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        blank = Page((await browser.get("/aanmelden")).text)
        assert [f["name"] for f in blank.fields if str(f.get("name", "")).endswith(".kind")] == \
            ["partners.0.kind", "partners.1.kind", "partners.2.kind"]
        sent = complete_form(**{"partners.2.name": "Stichting Schuldhulpmaatje", "partners.2.kind": "societal",
                                "name": "", "actie": "partner-erbij"})
        response = await post_form(browser, sent)
        page = Page(response.text)
        assert response.status_code == 200 and "foutoverzicht" not in response.text
        assert page.value("partners.2.name") == "Stichting Schuldhulpmaatje" and page.value("partners.3.name") == ""
        assert page.value("partners.3.kind") == "" and page.value("summary") == sent["summary"]
        more_links = Page((await post_form(browser, {**dict(page.form_pairs()), "actie": "link-erbij"})).text)
        assert more_links.value("evidence_urls.2") == "" and more_links.value("partners.3.name") == ""
        assert await count(catalogue, "projects") == 0


MARKUP = '<script>alert("x")</script><img src=x onerror=alert(1)>"\'&'


async def test_markup_and_script_typed_in_any_field_are_shown_as_text_on_every_page(
        fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        hostile = {name: f"{name} {MARKUP}" for name in (
            "name", "summary", "problem", "target_group", "themes", "origin.organisation", "origin.municipality",
            "results", "continuity_model", "partners.0.name", "partners.1.name", "contact.name")}
        hostile["evidence_urls.0"] = 'https://example.org/?q=<script>"x"</script>'
        confirmation = await post_form(browser, complete_form(**hostile))
        assert confirmation.status_code == 201, confirmation.text
        project_id = PROJECT.search(confirmation.text).group(1)
        await prove_directly(catalogue, project_id)
        invalid = await post_form(browser, complete_form(**hostile, **{"contact.email": MARKUP}))
        assert invalid.status_code == 422
        shown = [confirmation, invalid, *[await browser.get(path) for path in (
            f"/projecten/{project_id}", "/projecten", "/portfolio", f"/projecten?q={MARKUP}&gemeente={MARKUP}")]]
        for response in shown:
            assert "<script" not in response.text and "<img" not in response.text, response.url
            assert "&lt;script&gt;" in response.text, response.url
        # Read back as text, it is exactly what was typed.
        page = Page(shown[2].text)
        assert f"name {MARKUP}" in page.text and "https://example.org/?q=<script>\"x\"</script>" in page.links
        assert Page(invalid.text).value("summary") == hostile["summary"]
        assert project_links(Page(shown[3].text)) == [project_id]


async def test_a_post_from_another_site_is_refused_and_changes_nothing(fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        for headers in ({"Origin": "https://kwaadwillend.example"}, {"Origin": "null"},
                        {"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"},
                        {"Origin": ORIGIN, "Sec-Fetch-Site": "same-site"}):
            refused = await post_form(browser, complete_form(), **headers)
            assert refused.status_code == 403 and "niet van deze website" in refused.text, headers
        assert await count(catalogue, "projects") == 0
        ours = await post_form(browser, complete_form(), **{"Sec-Fetch-Site": "same-origin"})
        assert ours.status_code == 201 and await count(catalogue, "projects") == 1


async def test_a_filled_honeypot_stores_nothing_and_says_which_field_to_empty(fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        response = await post_form(browser, complete_form(website="https://goedkope-leningen.example"))
        assert response.status_code == 422 and not KEY.search(response.text)
        assert 'href="#veld-website"' in response.text and "honingpot--zichtbaar" in response.text
        assert await count(catalogue, "projects") == 0


async def test_submissions_from_one_address_are_limited_across_form_and_api_with_retry_after(
        fresh_database, fresh_kafka, tmp_path):
    overrides = {"SCHULDENLAB_CATALOGUE_SUBMISSIONS_PER_HOUR": "2"}
    async with website(fresh_database, fresh_kafka, tmp_path, **overrides) as (catalogue, browser):
        assert (await post_form(browser, complete_form())).status_code == 201
        assert (await browser.post("/v1/projects", json=dossier(0))).status_code == 201
        # An invalid dossier is refused for what it is, not counted.
        assert (await browser.post("/v1/projects", json=dossier(0, name=""))).status_code == 422
        limited = await post_form(browser, complete_form())
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 60
        assert "Even wachten" in limited.text and not KEY.search(limited.text)
        assert Page(limited.text).value("name") == "Vroeg Eropaf Twente"  # the values are kept
        api = await browser.post("/v1/projects", json=dossier(1))
        assert api.status_code == 429 and api.headers["content-type"] == "application/problem+json"
        assert int(api.headers["retry-after"]) > 60 and api.json()["status"] == 429
        assert await count(catalogue, "projects") == 2
        async with visitor(catalogue, "203.0.113.9") as neighbour:  # another address has its own allowance
            assert (await post_form(neighbour, complete_form())).status_code == 201
        # Loopback (the operator's own machine: demo, benchmarks) is exempt by default.
        for _ in range(3):
            assert (await catalogue.client.post("/v1/projects", json=dossier(0))).status_code == 201


async def test_the_body_limit_holds_for_the_form_too(fresh_database, fresh_kafka, tmp_path):
    overrides = {"SCHULDENLAB_CATALOGUE_MAX_BODY_BYTES": "8192"}
    async with website(fresh_database, fresh_kafka, tmp_path, **overrides) as (catalogue, browser):
        response = await post_form(browser, complete_form(summary="x" * 9000))
        assert response.status_code == 413 and await count(catalogue, "projects") == 0
        assert (await post_form(browser, complete_form(summary="x" * 4000))).status_code == 201


async def test_a_double_submit_or_reload_gives_the_same_confirmation_and_stores_one_project(
        fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        form = complete_form(formulier=await fresh_token(browser))
        first, second = await asyncio.gather(post_form(browser, form), post_form(browser, form))
        again = await post_form(browser, form)  # the reload of the confirmation page
        assert {first.status_code, second.status_code, again.status_code} == {201}
        assert KEY.findall(first.text) == KEY.findall(second.text) == KEY.findall(again.text)
        assert await count(catalogue, "projects") == 1
        changed = await post_form(browser, {**form, "name": "Iets anders"})  # back button, changed, sent again
        assert changed.status_code == 409 and "al verstuurd" in changed.text and await count(catalogue, "projects") == 1
        other = await post_form(browser, complete_form(formulier=await fresh_token(browser)))
        assert other.status_code == 201 and await count(catalogue, "projects") == 2


async def test_text_the_database_cannot_store_and_an_unknown_lab_are_errors_beside_their_fields(
        fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        nul = await post_form(browser, complete_form(problem="a\x00b"))
        assert nul.status_code == 422 and 'id="veld-problem-fout"' in nul.text
        lab = await post_form(browser, complete_form(**{"origin.lab_id": "2b3c4d5e-6f70-4a81-92b3-c4d5e6f7a802"}))
        assert lab.status_code == 422 and 'id="veld-origin-lab-id-fout"' in lab.text and "gevormd" in lab.text
        not_an_id = await post_form(browser, complete_form(**{"origin.lab_id": "Schuldenlab070"}))
        assert not_an_id.status_code == 422 and 'id="veld-origin-lab-id-fout"' in not_an_id.text
        unreadable = await browser.post("/aanmelden", content=b"name=%ff%fe", headers={
            "Content-Type": "application/x-www-form-urlencoded", "Origin": ORIGIN})
        assert unreadable.status_code == 400
        as_json = await browser.post("/aanmelden", json={"name": "x"}, headers={"Origin": ORIGIN})
        assert as_json.status_code == 415
        assert await count(catalogue, "projects") == 0
