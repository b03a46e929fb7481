"""Fixtures: one in-process sandbox per session, reset before every test,
and a tiny webhook receiver."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sandbox.testing import RunningSandbox

FAST_WEBHOOKS = {
    "backoff_seconds": 0.05,
    "backoff_factor": 1.0,
    "timeout": 2.0,
    "max_attempts": 4,
}


@pytest.fixture(scope="session")
def running_sandbox():
    with RunningSandbox() as sb:
        yield sb


@pytest.fixture
def sandbox(running_sandbox):
    running_sandbox.reset(webhooks=FAST_WEBHOOKS)
    yield running_sandbox
    running_sandbox.clear_faults()


@pytest.fixture
def shop(sandbox):
    return sandbox.shopify("demo")


class Receiver:
    """Collects webhook POSTs; can fail the first N with a status."""

    def __init__(self):
        self.requests = []
        self.fail_first = 0
        self.fail_status = 500
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server API
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": body}
                    )
                    failing = receiver.fail_first > 0
                    if failing:
                        receiver.fail_first -= 1
                status = receiver.fail_status if failing else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} webhooks, got {len(self.requests)}")

    def bodies(self):
        with self._lock:
            return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.close()


ORDER_SPEC = {
    "customer": {"email": "ann@example.com", "first_name": "Ann", "last_name": "Lee"},
    "lines": [
        {"sku": "TSHIRT-RED-XL", "quantity": 1, "price": "10.00", "tax_rate": "0.21"},
        {"sku": "TSHIRT-BLUE-L", "quantity": 1, "price": "10.00", "tax_rate": "0.21"},
        {"sku": "MUG-WHITE", "quantity": 1, "price": "10.00", "tax_rate": "0.21"},
    ],
    "discount": {"code": "TENOFF", "type": "fixed_amount", "value": "10.00"},
    "shipping": {
        "title": "Standard",
        "code": "STD",
        "price": "5.00",
        "tax_rate": "0.21",
    },
    "financial_status": "paid",
    "currency": "EUR",
}
