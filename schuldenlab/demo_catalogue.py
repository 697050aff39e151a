"""The catalogue's demo steps: submit the known proven projects of DOMAIN.md ("aanmelden")."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from schuldenlab.demo_data import KNOWN_PROJECTS


def run(client: httpx.Client, urls: dict[str, str], token: Callable[[str], str], state: dict) -> None:
    catalogue = urls["catalogue"]
    projects: dict[str, str] = state.setdefault("projects", {})
    for dossier in KNOWN_PROJECTS:
        response = client.post(f"{catalogue}/v1/projects", json=dossier)
        if response.status_code != 201:
            raise RuntimeError(f"submitting {dossier['name']} failed: {response.status_code} {response.text}")
        accepted = response.json()
        projects[dossier["name"]] = accepted["id"]
        phases = ", ".join(dossier["phases"])
        print(f"catalogue: submitted {dossier['name']!r} ({phases}) as {accepted['id']}, "
              f"status {accepted['status']}, revision {accepted['revision']}")
    listed = client.get(f"{catalogue}/v1/catalogue").json()["items"]
    print(f"catalogue: {len(projects)} project(s) submitted; {len(listed)} proven project(s) listed so far "
          "(they are listed once the portfolio board finds them proven)")
