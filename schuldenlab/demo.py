"""`schuldenlab demo`: the known proven projects of DOMAIN.md walked through a running platform."""

from __future__ import annotations

import json
import sys

import httpx
from servicekit.config import Settings

from schuldenlab.demo_data import KNOWN_PROJECTS


def run_demo(settings: Settings) -> int:
    catalogue = settings.url_of("catalogue")
    with httpx.Client(timeout=10) as client:
        for dossier in KNOWN_PROJECTS:
            response = client.post(f"{catalogue}/v1/projects", json=dossier)
            if response.status_code != 201:
                print(f"submitting {dossier['name']} failed: {response.status_code} {response.text}", file=sys.stderr)
                return 1
            print(f"submitted {dossier['name']}: {json.dumps(response.json())}")
    return 0
