"""`schuldenlab demo`, partnering's stages and outcomes (SPEC 5.3): a stage walk, a pause, outcomes with costs, a
stopped implementation with its reason, and the lab's phase coverage. Called from `demo_partnering`."""

from __future__ import annotations

from collections.abc import Callable

import httpx

# Half years of the main implementation: (start, end, reached, debt-free, stabilised, median days, repeat, cost,
# benefit); costs and benefits are exact decimal strings, never floats.
PERIODS = (("2025-01-01", "2025-06-30", 48, 11, 30, 52, 1, "38400.00", "96000.00"),
           ("2025-07-01", "2025-12-31", 61, 29, 47, 38, 2, "45750.00", "142500.00"))


def before_running(call: Callable[..., dict], base: str, iid: str) -> None:
    """Before it runs: exploration -> installation; once running: initial implementation, a pause, full."""
    done = call("POST", f"{base}/v1/implementations/{iid}/stage",
                {"stage": "installation", "note": "Programme team and district teams agreed on the intake"})
    print(f"  stage: {done['stage']}")


def after_running(call: Callable[..., dict], base: str, iid: str) -> None:
    done = call("POST", f"{base}/v1/implementations/{iid}/stage", {"stage": "initial_implementation"})
    print(f"  stage: {done['stage']}")
    paused = call("POST", f"{base}/v1/implementations/{iid}/pause",
                  {"reason": "The debt-settlement budget for the second half year is not agreed yet"})
    print(f"  paused: {paused['status_reason']}")
    resumed = call("POST", f"{base}/v1/implementations/{iid}/resume",
                   {"reason": "The three councils agreed the budget"})
    print(f"  resumed: status {resumed['status']}")
    done = call("POST", f"{base}/v1/implementations/{iid}/stage", {"stage": "full_implementation"})
    print(f"  stage: {done['stage']}")


def record_outcomes(call: Callable[..., dict], base: str, iid: str) -> dict:
    measured: dict = {}
    for start, end, reached, free, stabilised, days, repeat, cost, benefit in PERIODS:
        measured = call("POST", f"{base}/v1/implementations/{iid}/impact", {
            "period_start": start, "period_end": end, "households_reached": reached, "households_debt_free": free,
            "households_stabilised": stabilised, "median_days_to_stabilisation": days, "repeat_cases": repeat,
            "cost_eur": cost, "benefit_eur": benefit, "notes": "measured by the programme team"})
        print(f"  impact {start}..{end}: {reached} reached, {stabilised} stabilised (median {days} days), "
              f"{free} debt-free, cost EUR {cost}, benefit EUR {benefit}")
    totals = measured["impact_totals"]
    print(f"  totals: EUR {totals['cost_eur']} for {totals['households_reached']} households: "
          f"EUR {totals['cost_per_household_reached_eur']} per household reached, "
          f"EUR {totals['cost_per_household_debt_free_eur']} per household debt-free, "
          f"{totals['benefit_per_euro']} benefit per euro")
    return measured


def stop_another(call: Callable[..., dict], base: str, implementation: dict) -> None:
    iid = implementation["id"]
    call("POST", f"{base}/v1/implementations/{iid}/stage", {"stage": "installation"})
    stopped = call("POST", f"{base}/v1/implementations/{iid}/stop", {
        "reason": "No housing corporation in the region could take part in the payment arrangements"})
    print(f"  {implementation['project_name']}: stopped at stage {stopped['stage']}: {stopped['status_reason']}")


def show_coverage(call: Callable[..., dict], base: str, lab_id: str) -> None:
    coverage = call("GET", f"{base}/v1/labs/{lab_id}/coverage")
    covered = [p["phase"] for p in coverage["phases"] if p["covered"]]
    print(f"  phases covered: {', '.join(covered) or 'none'}; gaps: {', '.join(coverage['gaps']) or 'none'}")
    for phase in coverage["phases"]:
        if phase["suggestions"]:
            best = phase["suggestions"][0]
            print(f"    {phase['phase']}: try {best['name']} (evidence {best['evidence_level'] or 'not rated'}, "
                  f"{best['sites']} site(s))")


def caller(client: httpx.Client, headers: dict) -> Callable[..., dict]:
    def call(method: str, url: str, body: dict | None = None) -> dict:
        response = client.request(method, url, headers=headers, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {url} failed: {response.status_code} {response.text}")
        return response.json()

    return call
