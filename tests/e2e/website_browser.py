"""Driving the website in Debian's Chromium with Playwright: finding (or installing) the browser, a keyboard-only
way to fill a form, and the accessibility checks every page gets (axe-core and our own)."""

from __future__ import annotations

import itertools
import json
import os
import shutil
from pathlib import Path

import pytest

# Where the screenshots and axe-core's findings go: the folder the README links, made anew by every run of the
# browser test and kept out of git (.gitignore), since it is large and changes with every run.
SCREENSHOTS = Path(os.environ.get("SCHULDENLAB_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "docs" /
                   "screenshots")
# Debian's Chromium as this machine's probe starts it: no sandbox (root in a container), and none of the
# background connections that this closed network refuses, many at a time.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}
# axe-core's impacts that fail the test; "moderate" and "minor" ones are reported in the failure text only.
FAILING_IMPACTS = ("serious", "critical")
# WCAG 2.2 A and AA and axe's best practices; every page's rules and findings are written beside the screenshots.
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa",
                                                     "best-practice"]},
               "resultTypes": ["violations", "incomplete"]}
AXE_FOUND: dict[str, dict] = {}


def _unavailable(reason: str) -> None:
    # CI must run these tests: there a missing browser is a failure, on a developer's machine a clear skip.
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


def chromium() -> str:
    """The path of Debian's Chromium, which `make test` installs (the Makefile's `browser` target).

    Playwright's own browser download cannot work here (no host but the package registries is reachable), so
    the tests launch the distribution's browser through `executable_path`.
    """
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        _unavailable("Chromium is not installed (`make browser`, as root: apt-get install chromium)")
    return str(found)


def playwright_and_axe():
    try:
        from axe_playwright_python.sync_playwright import Axe
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"{exc.name} is not installed (pip install -e '.[test]')")
    return sync_playwright, Axe


_FOCUSED = """() => { const e = document.activeElement; return {tag: e.tagName, name: e.name || '',
  type: e.type || '', value: e.value || '', checked: !!e.checked}; }"""


def fill_by_keyboard(page, values: dict[str, str | list[str]]) -> None:
    """Tab through the form from the top, filling the fields named in `values` as a keyboard user does, and
    send it with Enter on its main button. Text replaces what a field held; a list names the boxes to tick."""
    # A page just loaded has no focus: the first Tab goes to its first link (the skip link), then on down.
    for _ in range(400):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        name = focused["name"]
        if focused["tag"] == "BUTTON" and focused["value"] == "versturen":
            with page.expect_navigation():
                page.keyboard.press("Enter")
            return
        if name not in values:
            continue
        wanted = values[name]
        if focused["type"] == "checkbox":
            if (focused["value"] in wanted) != focused["checked"]:
                page.keyboard.press("Space")
        elif focused["type"] == "radio":
            # A radio group is one stop; the arrow keys move through it and check the one they land on.
            if not focused["checked"]:
                page.keyboard.press("Space")
            for _ in range(6):
                if page.evaluate(_FOCUSED)["value"] == wanted:
                    break
                page.keyboard.press("ArrowDown")
        elif focused["tag"] == "SELECT":
            page.keyboard.type(str(wanted))  # type-ahead picks the option whose text starts so
        else:
            page.keyboard.press("Control+A")
            page.keyboard.press("Delete")
            page.keyboard.type(str(wanted))
    raise AssertionError("never reached the form's button by keyboard")


_UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
  .map(e => e.name || e.id || e.outerHTML)"""
_HEADINGS = "() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')].map(h => Number(h.tagName[1]))"


def check_accessibility(page, axe, where: str) -> list[str]:
    """Our checks (lang, labels, heading order) and axe-core's rules; returns the axe rules that ran and passed."""
    assert page.evaluate("document.documentElement.lang") == "nl", where
    assert page.evaluate(_UNLABELLED) == [], where
    levels = page.evaluate(_HEADINGS)
    assert levels[:1] == [1] and levels.count(1) == 1, (where, levels)
    assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), (where, levels)
    results = axe.run(page, options=AXE_OPTIONS).response
    AXE_FOUND[where] = {"checked": sorted(r["id"] for r in (*results["passes"], *results["violations"],
                                                            *results["incomplete"])),
                        "violations": [(v["id"], v.get("impact")) for v in results["violations"]],
                        "incomplete": [(v["id"], v.get("impact")) for v in results["incomplete"]]}
    failing = [v for v in results["violations"] if v.get("impact") in FAILING_IMPACTS]
    report = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
              for v in results["violations"]]
    assert not failing, f"{where}: axe-core found\n" + "\n".join(report)
    return [rule["id"] for rule in results["passes"]]


def write_axe_report() -> Path:
    """What axe-core checked and found on each page, as JSON beside the screenshots (for the README's note)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / "axe-report.json"
    path.write_text(json.dumps(AXE_FOUND, indent=1, ensure_ascii=False) + "\n")
    return path


def focus_outline(page) -> tuple[str, float]:
    """The outline style and width of the focused element, as the visitor sees it."""
    style = page.evaluate("() => { const s = getComputedStyle(document.activeElement); "
                          "return [s.outlineStyle, parseFloat(s.outlineWidth)]; }")
    return style[0], style[1]


def screenshot(page, name: str) -> None:
    """The page at desktop and phone widths, whole, into SCREENSHOTS (JPEG: a few hundred KiB each)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    for label, viewport in (("desktop", DESKTOP), ("telefoon", PHONE)):
        page.set_viewport_size(viewport)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{label}.jpg"), full_page=True, type="jpeg", quality=70)
    page.set_viewport_size(size)
