"""The public website in a real browser (Debian's Chromium, driven by Playwright) on `schuldenlab up`.

A visitor browses, searches and filters the catalogue, opens a project, sends the submission form once wrong
and once right with the keyboard only, and sees the confirmation with the key. Every page passes axe-core
(no serious or critical violation) and our own checks (lang="nl", a label for every field, headings in order,
a visible focus), raises no Content-Security-Policy error, and is photographed at desktop and phone widths.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.website_browser import (
    CHROMIUM_ARGS,
    DESKTOP,
    check_accessibility,
    chromium,
    fill_by_keyboard,
    focus_outline,
    playwright_and_axe,
    screenshot,
    write_axe_report,
)
from tests.support.platform import Platform, wait_for

pytestmark = pytest.mark.e2e

WRONG = {"name": "Schuldenwijzer Enschede", "clients_served": "veel", "origin.municipality": "Enschede"}
RIGHT = {
    "summary": "Een digitale wegwijzer die inwoners met geldzorgen naar de juiste hulp in hun wijk brengt.",
    "problem": "Inwoners weten niet waar ze met geldzorgen terechtkunnen en wachten te lang.",
    "target_group": "Inwoners met beginnende betalingsachterstanden",
    "phases": ["awareness", "referral"],
    "themes": "vroegsignalering, wegwijzer",
    "origin.organisation": "Gemeente Enschede",
    "partners.0.name": "Gemeente Enschede", "partners.0.kind": "Publiek",
    "partners.1.name": "Enexis", "partners.1.kind": "Privaat",
    "in_production": "ja",
    "clients_served": "830",
    "results": "Drie op de vier inwoners vonden binnen een week hulp.",
    "evidence_urls.0": "https://www.example.nl/schuldenwijzer-evaluatie",
    "continuity_model": "De gemeente en de energieleverancier betalen samen het beheer.",
    "availability": "immediate",
    "contact.name": "Fatima el Amrani",
    "contact.email": "f.elamrani@example.nl",
}


def test_a_visitor_browses_searches_and_submits_by_keyboard_and_every_page_is_accessible(tmp_path):
    executable = chromium()
    sync_playwright, Axe = playwright_and_axe()
    platform = Platform(tmp_path)
    try:
        site = platform.url("catalogue")
        assert platform.cli("demo", timeout=300).returncode == 0
        wait_for(lambda: len(httpx.get(f"{site}/v1/catalogue").json()["items"]) >= 4, timeout=60)
        # The demo's lab hands one project over; the catalogue learns it from partnering's event.
        handed = wait_for(lambda: next((item for item in httpx.get(f"{site}/v1/catalogue").json()["items"]
                                        if item["handovers"]), None), timeout=60)
        axe, passed = Axe(), set()
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport=DESKTOP)
            csp_errors: list[str] = []
            page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)

            def visit(name: str) -> None:
                passed.update(check_accessibility(page, axe, name))
                screenshot(page, name)

            # The start page; the first Tab shows the skip link with a visible focus ring, then the search.
            page.goto(f"{site}/")
            visit("start")
            page.keyboard.press("Tab")
            assert page.evaluate("document.activeElement.textContent") == "Direct naar de inhoud"
            style, width = focus_outline(page)
            assert style != "none" and width >= 2
            for _ in range(10):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.name") == "q":
                    break
                assert focus_outline(page)[0] != "none"  # every stop on the way shows where the focus is
            page.keyboard.type("Schuldhulproute")
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"/projecten\?q=Schuldhulproute"))
            assert page.locator(".resultaat h3").all_inner_texts() == ["Nederlandse Schuldhulproute"]

            # The catalogue, filtered on a phase, then the project the demo's lab handed over opened.
            catalogue = httpx.get(f"{site}/v1/catalogue").json()["items"]
            page.goto(f"{site}/projecten")
            assert f"{len(catalogue)} projecten gevonden" in page.inner_text("main")
            visit("projecten")
            page.select_option("#filter-fase", "debt_reduction")
            page.get_by_role("button", name="Toon projecten").click()
            page.wait_for_url(re.compile(r"fase=debt_reduction"))
            in_phase = httpx.get(f"{site}/v1/catalogue", params={"phase": "debt_reduction"}).json()["items"]
            assert page.locator(".resultaat h3").all_inner_texts() == [item["name"] for item in in_phase]
            page.goto(f"{site}/projecten")
            page.get_by_role("link", name=handed["name"]).focus()
            page.keyboard.press("Enter")
            page.wait_for_url(re.compile(r"/projecten/[0-9a-f-]{36}$"))
            assert page.inner_text("h1") == handed["name"]
            assert "overgedragen aan het reguliere werk" in page.inner_text("main")
            visit("project")

            page.goto(f"{site}/portfolio")
            assert page.locator("h2").count() == 7
            visit("portfolio")
            page.goto(f"{site}/projecten/00000000-0000-4000-8000-000000000000")
            assert page.inner_text("h1") == "Deze pagina bestaat niet"
            visit("niet-gevonden")

            # The form: first sent incomplete, by keyboard; the errors stand beside their fields, values kept.
            page.goto(f"{site}/aanmelden")
            visit("aanmelden")
            for _ in range(10):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.name") == "name":
                    break
            page.keyboard.type(WRONG["name"])
            with page.expect_navigation():
                page.keyboard.press("Enter")  # Enter in a text field sends the form; it does not add a row
            assert page.locator(".foutoverzicht").count() == 1 and page.locator("[name$='.kind']").count() == 3
            fill_by_keyboard(page, WRONG)
            assert page.locator(".foutoverzicht a").count() >= 10
            assert "heel getal" in page.inner_text("#veld-clients-served-fout")
            assert page.input_value("#veld-name") == WRONG["name"]
            assert page.input_value("#veld-origin-municipality") == "Enschede"
            visit("aanmelden-fouten")
            # Then completed on the same page, by keyboard, and sent.
            fill_by_keyboard(page, RIGHT)
            assert page.inner_text("h1") == "Bedankt, uw project is aangemeld", page.inner_text("main")
            key = page.inner_text(".sleutel__waarde")
            project_id = page.inner_text(".kenmerken code")
            visit("bevestiging")
            browser.close()
        write_axe_report()
        assert csp_errors == []
        # The key shown is the stored project's submitter's key, and the project holds what was typed.
        stored = httpx.get(f"{site}/v1/projects/{project_id}", headers={"X-Resubmission-Token": key}).json()
        assert stored["name"] == WRONG["name"] and stored["clients_served"] == 830
        assert stored["partners"] == [{"name": "Gemeente Enschede", "kind": "public"},
                                      {"name": "Enexis", "kind": "private"}]
        assert stored["phases"] == ["awareness", "referral"] and stored["in_production"] is True
        assert {"label", "html-has-lang", "color-contrast", "document-title", "landmark-one-main"} <= passed
    finally:
        platform.stop()
