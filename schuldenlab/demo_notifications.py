"""Demo steps of notifications: subscribe a local webhook receiver, submit a project, show the delivery."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from schuldenlab.demo_data import KNOWN_PROJECTS

SUBMITTED = "nl.schuldenlab.project.submitted.v1"


def _receiver() -> tuple[ThreadingHTTPServer, list[dict]]:
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            received.append({"headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def _how_to(url: str) -> None:
    print("  To receive webhooks, subscribe a public https URL:")
    print(f"    curl -X POST {url}/v1/subscriptions \\")
    print("         -H \"Authorization: Bearer $(schuldenlab token --role integrator)\" \\")
    print(f"         -H 'content-type: application/json' -d '{{\"url\": \"https://example.org/hook\", "
          f"\"event_types\": [\"{SUBMITTED}\"]}}'")
    print("  A receiver on this machine needs SCHULDENLAB_WEBHOOK_ALLOWED_HOSTS=127.0.0.1 for notifications.")


def run(client: httpx.Client, urls: dict[str, str], token: Callable[[str], str], state: dict) -> None:
    notifications = urls["notifications"]
    integrator = {"Authorization": f"Bearer {token('integrator')}"}
    server, received = _receiver()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        r = client.post(f"{notifications}/v1/subscriptions", headers=integrator,
                        json={"url": url, "event_types": [SUBMITTED], "description": "demo receiver"})
        if r.status_code == 422:
            print(f"  a local receiver ({url}) is refused: {r.json().get('detail')}")
            _how_to(notifications)
            return
        r.raise_for_status()
        subscription = r.json()
        print(f"  subscribed {url} to {SUBMITTED}; its whsec_ secret is in the answer, shown only once")

        dossier = copy.deepcopy(KNOWN_PROJECTS[0])
        dossier["name"] = f"{dossier['name']} (webhook demo)"
        project = client.post(f"{urls['catalogue']}/v1/projects", json=dossier)
        project.raise_for_status()
        print(f"  submitted {dossier['name']!r} on catalogue")

        deadline = time.monotonic() + 15
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
        if not received:
            raise TimeoutError("no webhook arrived within 15 s")
        first = received[0]
        event = json.loads(first["body"])
        print(f"  webhook received: {event['type']} for {event['subject']}")
        for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            print(f"    {name}: {first['headers'][name][:60]}")

        deliveries_url = f"{notifications}/v1/subscriptions/{subscription['id']}/deliveries"
        deliveries = client.get(deliveries_url, headers=integrator).json()["items"]
        while any(d["status"] == "pending" for d in deliveries) and time.monotonic() < deadline:
            time.sleep(0.1)  # the receiver has answered; the worker records the outcome a moment later
            deliveries = client.get(deliveries_url, headers=integrator).json()["items"]
        for d in deliveries:
            print(f"  delivery {d['id']}: {d['status']}, {d['attempts']} attempt(s), last status "
                  f"{d['last_status_code']}")
        client.delete(f"{notifications}/v1/subscriptions/{subscription['id']}", headers=integrator)
        print("  unsubscribed the demo receiver")
    finally:
        server.shutdown()
        server.server_close()
