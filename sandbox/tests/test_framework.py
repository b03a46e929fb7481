"""The framework is system-agnostic: a new system plugs in through the
registry and gets routing, fault injection and signed webhooks for free."""

import json

import pytest
import requests

from sandbox import app as app_module
from sandbox.core.signing import verify_hmac_sha256_b64
from sandbox.core.system import System
from sandbox.core.util import json_response, read_json
from sandbox.shopify import ShopifySystem
from sandbox.testing import RunningSandbox

from .conftest import FAST_WEBHOOKS


class EchoSystem(System):
    """Minimal example system (the shape WMS / carrier / bank follow)."""

    name = "echo"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.reset()

    def api_routes(self):
        return [("/<tenant>/v1/ping", "ping", ["GET"])]

    def control_routes(self):
        return [("/events", "emit", ["POST"])]

    def categories(self, request, handler, values):
        return {"api"}

    def fault_target(self, values):
        return values.get("tenant", "")

    def reset(self):
        with self.lock:
            self.pings = 0

    def ping(self, request, tenant):
        with self.lock:
            self.pings += 1
            return json_response({"tenant": tenant, "pings": self.pings})

    def emit(self, request):
        body = read_json(request)
        self.send_webhook("thing.happened", body["url"], {"n": 1}, "s3cret")
        return json_response({"queued": True}, 201)


@pytest.fixture
def with_echo(monkeypatch, receiver):
    monkeypatch.setattr(
        app_module, "system_classes", lambda: [ShopifySystem, EchoSystem]
    )
    with RunningSandbox(webhook_config=FAST_WEBHOOKS) as sb:
        yield sb


def test_new_system_plugs_in(with_echo, receiver):
    sb = with_echo
    assert {s["name"] for s in sb.health()["systems"]} == {"shopify", "echo"}
    assert requests.get(f"{sb.url}/echo/acme/v1/ping").json()["pings"] == 1
    sb.add_fault(
        system="echo",
        match="api",
        kind="http_status",
        status=502,
        target="acme",
        count=1,
    )
    assert requests.get(f"{sb.url}/echo/other/v1/ping").status_code == 200
    assert requests.get(f"{sb.url}/echo/acme/v1/ping").status_code == 502
    sb.add_fault(system="echo", match="webhook", kind="duplicate_delivery", count=1)
    requests.post(f"{sb.url}/_control/echo/events", json={"url": receiver.url})
    reqs = receiver.wait_for(2)
    for req in reqs:
        assert verify_hmac_sha256_b64(
            "s3cret", req["body"], req["headers"]["X-Integration-Signature"]
        )
        assert json.loads(req["body"]) == {"n": 1}
    assert len({r["headers"]["X-Integration-Delivery-Id"] for r in reqs}) == 1
    sb.reset()
    assert requests.get(f"{sb.url}/echo/acme/v1/ping").json()["pings"] == 1
