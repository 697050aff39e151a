"""`schuldenlab demo`, assessment steps: two board members review each demo project and the board decides."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

_MET = {"met": True, "notes": ""}
# Two different members of the portfolio board, so that the two reviews count as two.
_REVIEWERS = (("director", "director"), ("programme-manager", "programme_manager"))
# SPEC 5.2: how strong the evidence is; a project not named here is found proven at the default, practice_based.
_EVIDENCE = {"Jongeren Perspectief Fonds": "evaluated", "Doorbraakmethode": "effective"}


def _headers(bearer: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {bearer}"}


def _wait_for_round(client: httpx.Client, base: str, project_id: str, bearer: str, timeout: float = 20.0) -> dict:
    """The project's latest round, once ProjectSubmitted has reached the assessment service."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"{base}/v1/projects/{project_id}/assessment", headers=_headers(bearer))
        if r.status_code == 200:
            return r.json()
        if time.monotonic() > deadline:
            raise RuntimeError(f"no assessment opened for project {project_id} within {timeout:.0f} s "
                               f"(last answer {r.status_code}: {r.text})")
        time.sleep(0.25)


def _request_reassessment(client: httpx.Client, base: str, token: Callable[..., str], proven: dict[str, str]) -> None:
    """The board asks to re-assess one proven project now (SPEC 5.2), as it would after news from the field."""
    if not proven:
        return
    name, project_id = sorted(proven.items())[-1]
    r = client.post(f"{base}/v1/projects/{project_id}/reassessment", headers=_headers(token("board", "director")),
                    json={"reason": "The board reviews the evidence after two years, as agreed with municipalities."})
    if r.status_code == 409:  # a demo run before already opened it
        print(f"re-assessment of {name}: {r.json().get('conditions')}")
        return
    r.raise_for_status()
    print(f"re-assessment of {name} requested by the board: round {r.json()['id']} opened; ReassessmentDue published")


def run(client: httpx.Client, urls: dict[str, str], token: Callable[..., str], state: dict) -> None:
    base = urls["assessment"]
    proven: dict[str, str] = state.setdefault("proven_projects", {})
    for name, project_id in state.get("projects", {}).items():
        round_ = _wait_for_round(client, base, project_id, token("board", "director"))
        screen = ", ".join(f"{c} {s['outcome']}" for c, s in round_["prescreen"].items())
        fit = round_["portfolio_fit"]
        print(f"assessment of {name} (round {round_['round']}): pre-screen {screen}; "
              f"fills gaps {fit['gap_phases'] or 'none'}; similar to {len(fit['similar_project_ids'])} proven")
        if round_["status"] != "open":
            print(f"  already {round_['status']} ({round_.get('verdict')}); nothing to do")
            if round_.get("verdict") == "proven":
                proven[name] = project_id
            continue
        for subject, seat in _REVIEWERS:
            body = {"criteria": {c: {**_MET, "notes": "; ".join(s["reasons"][:2])}
                                 for c, s in round_["prescreen"].items()},
                    "notes": f"Reviewed for the demo by the {seat.replace('_', ' ')}.", "seat": seat}
            r = client.post(f"{base}/v1/assessments/{round_['id']}/reviews", json=body,
                            headers=_headers(token("board", subject)))
            print(f"  review by {subject} ({seat}): {r.status_code}")
            r.raise_for_status()
        decision_body = {"verdict": "proven", "rationale": f"{name} works, is reusable and available now."}
        if name in _EVIDENCE:
            decision_body["evidence_level"] = _EVIDENCE[name]
        r = client.post(f"{base}/v1/assessments/{round_['id']}/decision", json=decision_body,
                        headers=_headers(token("board", "director")))
        if r.status_code != 200:
            print(f"  decision refused: {r.status_code} {r.json().get('conditions') or r.text}")
            continue
        decision = r.json()["decision"]
        proven[name] = project_id
        print(f"  decided {decision['verdict']} by {decision['decided_by']}: {decision['rationale']}")
        print(f"  evidence level {r.json()['evidence_level']}, rating valid until {r.json()['valid_until']}")
    _request_reassessment(client, base, token, proven)
    portfolio = client.get(f"{base}/v1/portfolio").json()
    print(f"portfolio: {portfolio['project_count']} proven project(s); gaps: {', '.join(portfolio['gaps']) or 'none'}")
