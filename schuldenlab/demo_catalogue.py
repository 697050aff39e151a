"""The catalogue's demo steps: submit the known proven projects of DOMAIN.md ("aanmelden")."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from schuldenlab.demo_data import KNOWN_PROJECTS


def run(client: httpx.Client, urls: dict[str, str], token: Callable[[str], str], state: dict) -> None:
    catalogue = urls["catalogue"]
    projects: dict[str, str] = state.setdefault("projects", {})
    # The submitter's key (answered once) is what lets a submitter resubmit or read its unlisted dossier.
    keys: dict[str, str] = state.setdefault("submitter_keys", {})
    for dossier in KNOWN_PROJECTS:
        response = client.post(f"{catalogue}/v1/projects", json=dossier)
        if response.status_code != 201:
            raise RuntimeError(f"submitting {dossier['name']} failed: {response.status_code} {response.text}")
        accepted = response.json()
        projects[dossier["name"]] = accepted["id"]
        keys[dossier["name"]] = accepted["resubmission_token"]
        phases = ", ".join(dossier["phases"])
        print(f"catalogue: submitted {dossier['name']!r} ({phases}) as {accepted['id']}, "
              f"status {accepted['status']}, revision {accepted['revision']}")
    name, project_id = next(iter(projects.items()))
    own = client.get(f"{catalogue}/v1/projects/{project_id}", headers={"X-Resubmission-Token": keys[name]})
    public = client.get(f"{catalogue}/v1/projects/{project_id}")
    print(f"catalogue: the submitter of {name!r} reads its dossier with its key ({own.status_code}, "
          f"{len(own.json())} fields); the public sees {sorted(public.json())} until it is listed")
    listed = client.get(f"{catalogue}/v1/catalogue").json()["items"]
    print(f"catalogue: {len(projects)} project(s) submitted; {len(listed)} proven project(s) listed so far "
          "(they are listed once the portfolio board finds them proven)")
