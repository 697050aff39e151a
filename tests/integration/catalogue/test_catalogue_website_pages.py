"""The public website's reading pages (SPEC 5.4) on the real service: what the API shows, in Dutch, safely served."""

from __future__ import annotations

import itertools
import re
import uuid
from datetime import UTC, datetime

import pytest

from catalogue.entrypoints.web import pages
from catalogue.service_layer import handlers
from tests.integration.catalogue.catalogue_support import CONTACT, decide, prove_directly, submit
from tests.integration.catalogue.website_support import Page, project_links, website

pytestmark = pytest.mark.integration

PAGES = ["/", "/projecten", "/portfolio", "/aanmelden"]


def assert_safe_headers(response) -> None:
    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'" and directives["style-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'" and directives["form-action"] == "'self'"
    assert "script-src" not in directives and "unsafe" not in csp  # no script at all, nothing inline
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_every_page_is_dutch_html_without_script_or_inline_style_and_with_the_safe_headers(
        fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        listed = await submit(catalogue, 0)
        await prove_directly(catalogue, listed)
        unknown = f"/projecten/{uuid.uuid4()}"
        for path in [*PAGES, f"/projecten/{listed}", unknown]:
            response = await browser.get(path)
            assert response.status_code == (404 if path == unknown else 200), path
            assert response.headers["content-type"] == "text/html; charset=utf-8", path
            assert_safe_headers(response)
            page = Page(response.text)
            assert page.lang == "nl", path
            assert not re.search(r"<script|\sstyle=|\son[a-z]+=|javascript:", response.text, re.I), path
            # Headings in order: one h1, and no level skipped on the way down.
            levels = [level for level, _ in page.headings]
            assert levels.count(1) == 1 and levels[0] == 1, (path, page.headings)
            assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), (path, page.headings)
            # Every field a person fills in has a label (the form's token is hidden, not for people).
            for field in page.fields:
                if field.get("type") not in ("hidden", "submit"):
                    assert field.get("id") in page.labels, (path, field)
            css = next(link for link in re.findall(r'<link rel="stylesheet" href="([^"]+)"', response.text))
            stylesheet = await browser.get(css)
            assert stylesheet.status_code == 200 and stylesheet.headers["content-type"].startswith("text/css")
            assert stylesheet.headers["x-content-type-options"] == "nosniff"
            assert "@import" not in stylesheet.text and "url(" not in stylesheet.text  # nothing from elsewhere


async def test_the_start_page_offers_search_and_the_seven_phases(fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        for index in (0, 2):
            await prove_directly(catalogue, await submit(catalogue, index))
        page = Page((await browser.get("/")).text)
        assert 'action="/projecten"' in page.html and page.field("zoekterm")["name"] == "q"
        assert "nu 2 projecten" in page.text
        phases = [link for link in page.links if link.startswith("/projecten?fase=")]
        assert phases == [f"/projecten?fase={code}" for code in ("awareness", "intake", "referral", "stabilisation",
                                                                  "planning", "debt_reduction", "aftercare")]
        assert "Bewustwording" in page.text and "Vinger aan de pols" in page.text


async def test_the_catalogue_page_finds_what_the_api_finds_with_each_filter_and_counts_it(
        fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        for index in range(4):
            await prove_directly(catalogue, await submit(catalogue, index))
        await submit(catalogue, 1, name="Nog niet beoordeeld")  # not proven: in neither
        cases = [({}, {}), ({"fase": "debt_reduction"}, {"phase": "debt_reduction"}),
                 ({"thema": "JONGEREN"}, {"theme": "JONGEREN"}),
                 ({"gemeente": "den haag"}, {"municipality": "den haag"}),
                 ({"q": "Schuldhulproute"}, {"q": "Schuldhulproute"}), ({"q": "onbekendwoord"}, {"q": "onbekendwoord"}),
                 ({"fase": "planning", "gemeente": "Almelo"}, {"phase": "planning", "municipality": "Almelo"})]
        for on_page, in_api in cases:
            response = await browser.get("/projecten", params=on_page)
            assert response.status_code == 200, response.text
            page = Page(response.text)
            api = (await browser.get("/v1/catalogue", params=in_api)).json()["items"]
            assert project_links(page) == [item["project_id"] for item in api], on_page
            count = len(api)
            assert count or on_page.get("q") == "onbekendwoord", on_page  # each case finds something to compare
            assert f"{count} project{'en' if count != 1 else ''} gevonden" in page.text, on_page
            # The filters stay filled in, so the visitor sees what was asked.
            for name, value in on_page.items():
                assert page.value(name) == value, name
        assert len(project_links(Page((await browser.get("/projecten")).text))) == 4


async def test_paging_links_keep_the_filters_and_walk_every_match_once(fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        wanted = []
        for n in range(pages.PAGE_SIZE + 3):  # all from Den Haag
            wanted.append(await submit(catalogue, 0, name=f"Jongeren Perspectief Fonds {n}"))
            await prove_directly(catalogue, wanted[-1])
        await prove_directly(catalogue, await submit(catalogue, 3))  # Almelo: filtered out
        first = Page((await browser.get("/projecten", params={"gemeente": "Den Haag"})).text)
        assert f"{len(wanted)} projecten gevonden" in first.text
        next_link = next(link for link in first.links if "vanaf=" in link)
        assert "gemeente=Den+Haag" in next_link and not any("Eerste pagina" in t for t in first.texts)
        second_response = await browser.get(next_link)
        second = Page(second_response.text)
        assert second_response.status_code == 200 and f"{len(wanted)} projecten gevonden" in second.text
        assert not any("vanaf=" in link for link in second.links)  # the last page
        assert "/projecten?gemeente=Den+Haag" in second.links  # back to the first page, filter kept
        walked = project_links(first) + project_links(second)
        assert len(project_links(first)) == pages.PAGE_SIZE and walked == wanted


async def test_no_match_says_what_to_try_and_unusable_filters_are_explained_not_ignored(
        fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        await prove_directly(catalogue, await submit(catalogue, 0))
        none_found = Page((await browser.get("/projecten", params={"q": "onbekendwoord"})).text)
        assert "0 projecten gevonden" in none_found.text and "minder of andere zoekwoorden" in none_found.text
        assert "/projecten" in none_found.links
        for params, field, says in [({"fase": "payday"}, "fase", "zeven fasen"),
                                    ({"vanaf": "forged"}, "vanaf", "paginalink"),
                                    ({"thema": "x" * 201}, "thema", "hoogstens 200")]:
            response = await browser.get("/projecten", params=params)
            assert response.status_code == 422 and f'id="fout-{field}"' in response.text, params
            assert says in Page(response.text).text and not project_links(Page(response.text))
        level = Page((await browser.get("/projecten", params={"bewijsniveau": "effective"})).text)
        if pages.EVIDENCE_FILTER:
            assert level.value("bewijsniveau") == "effective"
        else:  # the catalogue has no evidence levels yet: said, and the listing is unfiltered
            assert "nog geen bewijsniveaus" in level.text and len(project_links(level)) == 1
        bad_level = await browser.get("/projecten", params={"bewijsniveau": "rumour"})
        assert bad_level.status_code == 422 and 'id="fout-bewijsniveau"' in bad_level.text


async def test_a_project_page_shows_the_public_dossier_criteria_verdict_and_adoption_never_the_contact(
        fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        project_id = await submit(catalogue, 1)
        await decide(catalogue, project_id, "proven")
        lab, started, handed = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        async with catalogue.runtime.transaction() as uow:
            await handlers.record_implementation_started(handlers.RecordImplementationStarted(
                uuid.UUID(project_id), started, lab, ("Almelo",)), uow)
            await handlers.record_implementation_started(handlers.RecordImplementationStarted(
                uuid.UUID(project_id), handed, lab, ("Leiden",)), uow)
            await handlers.record_handover(handlers.RecordHandover(
                uuid.UUID(project_id), handed, lab, datetime(2026, 11, 3, tzinfo=UTC)), uow)
        response = await browser.get(f"/projecten/{project_id}")
        assert response.status_code == 200
        page = Page(response.text)
        api = (await browser.get(f"/v1/projects/{project_id}")).json()
        for shown in (api["name"], api["summary"], api["problem"], api["target_group"], api["results"],
                      api["continuity_model"], *[p["name"] for p in api["partners"]]):
            assert shown in page.text
        assert [h for level, h in page.headings if level == 3] == ["Werkbaar", "Herbruikbaar", "Beschikbaar"]
        assert "Plan maken, Schuld afbouwen" in page.text and "Direct beschikbaar" in page.text
        assert "Het portfoliobestuur heeft besloten." in page.text  # the verdict's rationale
        assert "Almelo" in page.text and "Leiden: overgedragen aan het reguliere werk op 3 november 2026" in page.text
        assert api["evidence_urls"][0] in page.links
        assert any(link.startswith("mailto:info@schuldenlabnl.nl?subject=") for link in page.links)
        assert CONTACT["name"] not in response.text and CONTACT["email"] not in response.text

        unlisted = await submit(catalogue, 2)
        for missing in (unlisted, str(uuid.uuid4()), "geen-id", "%00"):
            gone = await browser.get(f"/projecten/{missing}")
            assert gone.status_code in (404, 422) and (gone.status_code == 422 or
                                                       "Deze pagina bestaat niet" in gone.text), missing
        assert (await browser.get(f"/projecten/{unlisted}")).status_code == 404


async def test_the_portfolio_shows_each_phase_with_its_proven_projects_and_names_the_gaps(
        fresh_database, fresh_kafka, tmp_path):
    async with website(fresh_database, fresh_kafka, tmp_path) as (catalogue, browser):
        # Debt reduction and aftercare; awareness and referral.
        youth, route = await submit(catalogue, 0), await submit(catalogue, 2)
        for project_id in (youth, route):
            await prove_directly(catalogue, project_id)
        await submit(catalogue, 3)  # stabilisation+planning, but not proven: still a gap
        page = Page((await browser.get("/portfolio")).text)
        sections = re.split(r"<h2>", page.html)[1:]
        assert len(sections) == 7
        by_phase = dict(zip(["awareness", "intake", "referral", "stabilisation", "planning", "debt_reduction",
                             "aftercare"], sections, strict=True))
        for code, section in by_phase.items():
            api = (await browser.get("/v1/catalogue", params={"phase": code})).json()["items"]
            assert project_links(Page(section)) == [item["project_id"] for item in api], code
            assert ("Hier zit een gat" in section) == (not api), code
        assert "Nog geen beproefd project in: Kennismaking, Op orde komen, Plan maken." in page.text
