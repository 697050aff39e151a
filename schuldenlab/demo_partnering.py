"""`schuldenlab demo`, partnering's part: SchuldenlabMVS forms and takes one proven project to handover.

The lab token that creates the lab is its first member; it adds the programme team as a second member, who
ticks the set-up steps. A lab token of another lab is refused (403): lab tokens change only their own labs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from schuldenlab import demo_stages

MUNICIPALITIES = ["Maassluis", "Vlaardingen", "Schiedam"]
PARTNERS = [
    ("Gemeente Schiedam", "public", "government", True, "Appoints the kwartiermaker and carries the base funding"),
    ("Gemeente Vlaardingen", "public", "government", True, "Connects its debt help and work & income teams"),
    ("Gemeente Maassluis", "public", "government", True, "Joins the regional approach with its social team"),
    ("Woonplus Schiedam", "private", "housing", False, "Signals rent arrears early and joins payment plans"),
    ("Stichting Urgente Noden Nieuwe Waterweg", "societal", "foundation", False, "Funds settlements for youth"),
]
PREFERRED = ["Jongeren Perspectief Fonds", "Collectief Schuldregelen", "Nederlandse Schuldhulproute",
             "Doorbraakmethode"]
NOT_PROVEN = "is not proven in the catalogue"


def _call(client: httpx.Client, method: str, url: str, headers: dict, body: dict | None = None) -> dict:
    response = client.request(method, url, headers=headers, json=body)
    if response.status_code >= 400:
        raise RuntimeError(f"{method} {url} failed: {response.status_code} {response.text}")
    return response.json()


def _implement(client: httpx.Client, base: str, headers: dict, lab_id: str, projects: dict[str, str],
               timeout: float = 30.0) -> dict:
    """Adopt the first project the catalogue feed has brought into partnering's replica as proven."""
    names = sorted(projects, key=lambda n: PREFERRED.index(n) if n in PREFERRED else len(PREFERRED))
    deadline = time.monotonic() + timeout
    while True:
        for name in names:
            r = client.post(f"{base}/v1/labs/{lab_id}/implementations", headers=headers,
                            json={"project_id": projects[name]})
            if r.status_code == 201:
                print(f"  implementing {name}")
                return r.json()
            conditions = r.json().get("conditions", []) if r.status_code == 409 else []
            if not conditions or not all(NOT_PROVEN in c for c in conditions):
                raise RuntimeError(f"implementing {name} failed: {r.status_code} {r.text}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"no project became proven in partnering's catalogue replica within {timeout:.0f} s")
        time.sleep(0.5)


def run(client: httpx.Client, urls: dict[str, str], token: Callable[[str], str], state: dict) -> None:
    base = urls["partnering"]
    headers = {"Authorization": f"Bearer {token('lab')}"}
    projects: dict[str, str] = state.get("projects") or {}
    if not projects:
        raise RuntimeError("partnering's demo needs state['projects'] from the catalogue demo")

    lab = _call(client, "POST", f"{base}/v1/labs", headers,
                {"name": "SchuldenlabMVS", "municipalities": MUNICIPALITIES, "region": "Nieuwe Waterweg"})
    lab_id = lab["id"]
    print(f"lab SchuldenlabMVS created ({lab_id}), status {lab['status']}")
    state["lab_id"] = lab_id
    _call(client, "POST", f"{base}/v1/labs/{lab_id}/members", headers, {"subject": "programme-team-mvs"})
    team = {"Authorization": f"Bearer {token('lab', 'programme-team-mvs')}"}
    members = _call(client, "GET", f"{base}/v1/labs/{lab_id}/members", headers)["items"]
    print(f"  members (may change the lab): {', '.join(m['subject'] for m in members)}")
    elsewhere = {"Authorization": f"Bearer {token('lab', 'kwartiermaker-elsewhere')}"}
    refused = client.put(f"{base}/v1/labs/{lab_id}/checklist/work_plan", headers=elsewhere, json={"done": True})
    if refused.status_code != 403:
        raise RuntimeError(f"a lab token of another lab changed SchuldenlabMVS: {refused.status_code} {refused.text}")
    print(f"  a lab token of another lab is refused: {refused.status_code}")
    for organisation, kind, sector, is_municipality, commitment in PARTNERS:
        _call(client, "POST", f"{base}/v1/labs/{lab_id}/partners", headers,
              {"organisation": organisation, "kind": kind, "sector": sector, "is_municipality": is_municipality,
               "commitment": commitment})
        print(f"  partner joined: {organisation} ({kind})")

    early = client.post(f"{base}/v1/labs/{lab_id}/formation", headers=headers)
    print(f"  forming before the set-up is done: {early.status_code}, unmet: {early.json().get('conditions')}")
    for step in ("kwartiermaker_appointed", "work_plan", "administrative_support", "executive_connections",
                 "programme_team", "themes_and_projects", "partner_support", "declaration_of_intent",
                 "trial_process", "kick_off"):
        _call(client, "PUT", f"{base}/v1/labs/{lab_id}/checklist/{step}", team, {"done": True})
        print(f"  set-up step done: {step} (by programme-team-mvs)")
    formed = _call(client, "POST", f"{base}/v1/labs/{lab_id}/formation", headers)
    print(f"lab formed at {formed['formed_at']} with {len(formed['founding_partner_ids'])} founding partners")

    implementation = _implement(client, base, headers, lab_id, projects)
    iid = implementation["id"]
    state["implementation_id"] = iid
    call = demo_stages.caller(client, headers)
    demo_stages.before_running(call, base, iid)
    for source, kind, amount in (("Gemeente Schiedam", "base", "40000.00"),
                                 ("Gemeente Vlaardingen", "base", "25000.00"),
                                 ("Stichting Urgente Noden Nieuwe Waterweg", "additional", "12500.50")):
        done = _call(client, "POST", f"{base}/v1/implementations/{iid}/funding", headers,
                     {"source": source, "kind": kind, "amount_eur": amount})
        print(f"  funding: {kind} EUR {amount} from {source} (total EUR {done['funding_totals']['total_eur']})")
    running = _call(client, "POST", f"{base}/v1/implementations/{iid}/start", headers)
    print(f"  implementation {running['status']}")
    demo_stages.after_running(call, base, iid)
    demo_stages.record_outcomes(call, base, iid)
    handed = _call(client, "POST", f"{base}/v1/implementations/{iid}/handover", headers,
                   {"handed_over_to": ["Gemeente Schiedam", "Gemeente Vlaardingen", "Gemeente Maassluis"],
                    "regular_operations": "The three municipalities run it in their regular debt help, "
                                          "with Woonplus signalling arrears"})
    print(f"handed over {handed['project_name']} to {', '.join(handed['handover']['handed_over_to'])}: "
          f"{handed['impact_totals']['households_debt_free']} households debt-free; stage {handed['stage']}")
    # Another adoption that does not work out: stopped, with the reason the next municipality can read. (With one
    # proven project only, the lab adopts the handed-over one again, which a handover allows.)
    others = {name: pid for name, pid in projects.items() if pid != implementation["project_id"]} or projects
    demo_stages.stop_another(call, base, _implement(client, base, headers, lab_id, others))
    demo_stages.show_coverage(call, base, lab_id)
