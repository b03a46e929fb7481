"""The simulated WMS: the contract's calls, its own stock, shipments (full,
split, lots, serials, packages), receipts, refused cancels, signed webhooks,
the events poll, snapshots, and the framework's faults."""

import hashlib
import json
import threading

import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from sandbox.core.signing import hmac_sha256_b64
from sandbox.testing import RunningSandbox
from sandbox.wms.control import WmsControl
from sandbox.wms.system import snapshot_checksum

AUTH = {"Authorization": "Bearer sandbox-wms-token"}
SECRET = "sandbox-wms-secret"
FAST = {"backoff_seconds": 0.05, "backoff_factor": 1.0, "max_attempts": 3}


class Receiver:
    """A local endpoint that records the webhooks it gets."""

    def __init__(self):
        self.bodies = []
        self.headers = []
        self.event = threading.Event()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/hook"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @Request.application
    def _app(self, request):
        self.bodies.append(request.get_data())
        self.headers.append(dict(request.headers))
        self.event.set()
        return Response("{}", status=200, content_type="application/json")

    def events(self):
        return [json.loads(body) for body in self.bodies]

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


def release(wms, ref="WH/OUT/00001", revision=1, lines=None):
    body = {
        "order_ref": ref,
        "revision": revision,
        "reference": ref,
        "ship_to": {"name": "Ann Lee"},
        "lines": lines
        or [
            {
                "line_id": "1",
                "sku": "CAP-BLUE",
                "quantity": 3,
                "uom": "Units",
                "tracking": "none",
            },
            {
                "line_id": "2",
                "sku": "VIAL",
                "quantity": 4,
                "uom": "Units",
                "tracking": "lot",
            },
        ],
    }
    return requests.post(
        f"{wms.base_url}/outbound-orders", json=body, headers=AUTH, timeout=5
    )


def test_release_is_idempotent_by_revision_and_needs_the_token():
    with RunningSandbox() as sb:
        wms = WmsControl(sb, "WH")
        url = f"{wms.base_url}/outbound-orders"
        assert requests.post(url, json={}, timeout=5).status_code == 401
        first = release(wms)
        assert first.status_code == 201
        assert first.json()["status"] == "received"
        assert release(wms).status_code == 200  # same revision again: the same
        stale = requests.post(url, json={}, headers=AUTH, timeout=5)
        assert stale.status_code == 422
        assert "order_ref is required" in stale.json()["problems"]
        assert release(wms, revision=2).status_code == 200
        old = release(wms, revision=1)
        assert old.status_code == 409
        assert old.json()["error"] == "stale_revision"
        info = requests.get(f"{wms.base_url}/", headers=AUTH, timeout=5).json()
        assert info["contract_version"] == "1"


def test_ship_split_with_lots_serials_packages_and_signed_webhooks():
    with RunningSandbox(webhook_config=FAST) as sb, Receiver() as hook:
        wms = WmsControl(sb, "WH")
        wms.configure(webhook_url=hook.url)
        wms.set_stock(
            [
                {"sku": "CAP-BLUE", "quantity": 10},
                {
                    "sku": "VIAL",
                    "lot": "L2",
                    "quantity": 2,
                    "expiry_date": "2027-06-01",
                    "tracking": "lot",
                },
                {
                    "sku": "VIAL",
                    "lot": "L1",
                    "quantity": 3,
                    "expiry_date": "2027-01-01",
                },
            ]
        )
        release(wms)
        events = wms.ship(
            "WH/OUT/00001",
            shipments=[
                {"lines": [{"line_id": "1", "sku": "CAP-BLUE", "quantity": 1}]},
                {
                    "lines": [
                        {"line_id": "1", "sku": "CAP-BLUE", "quantity": 2},
                        {"line_id": "2", "sku": "VIAL", "quantity": 4},
                    ],
                    "packages": [
                        {
                            "package_ref": "BOX-1",
                            "weight_kg": 2.5,
                            "tracking_number": "1Z999",
                            "contents": [{"sku": "VIAL", "quantity": 4}],
                        }
                    ],
                },
            ],
        )
        sb.drain(timeout=10)
        first, second = (e["data"] for e in events)
        assert (first["sequence"], first["final"]) == (1, False)
        assert (second["sequence"], second["final"], second["shipment_count"]) == (
            2,
            True,
            2,
        )
        # lots taken first-expiry-first, with their expiry dates
        assert second["lines"][1]["lots"] == [
            {"lot": "L1", "quantity": 3, "expiry_date": "2027-01-01"},
            {"lot": "L2", "quantity": 1, "expiry_date": "2027-06-01"},
        ]
        assert first["packages"][0]["tracking_number"]
        stock = {(x["sku"], x["lot"]): x["quantity"] for x in wms.stock()}
        assert stock == {("CAP-BLUE", None): 7, ("VIAL", "L2"): 1}
        got = hook.events()
        # order.status acknowledged, then the two shipments, all signed
        assert [e["event_type"] for e in got] == [
            "order.status",
            "shipment.confirmed",
            "shipment.confirmed",
        ]
        for body, headers in zip(hook.bodies, hook.headers, strict=True):
            assert headers["X-Integration-Signature"] == hmac_sha256_b64(SECRET, body)
        # cancel after shipping: refused, nothing changes
        refused = requests.post(
            f"{wms.base_url}/outbound-orders/WH/OUT/00001/cancel",
            json={"reason": "customer"},
            headers=AUTH,
            timeout=5,
        )
        assert refused.status_code == 409
        assert refused.json()["error"] == "already_picked"
        # and the changes of a shipped order are refused
        assert release(wms, revision=2).json()["error"] == "order_locked"


def test_serials_are_one_per_unit_and_cancel_before_picking_works():
    with RunningSandbox() as sb:
        wms = WmsControl(sb, "WH")
        wms.set_stock(
            [
                {"sku": "PHONE", "lot": f"SN{n}", "quantity": 1, "tracking": "serial"}
                for n in range(3)
            ]
        )
        release(
            wms,
            "OUT-A",
            lines=[
                {
                    "line_id": "9",
                    "sku": "PHONE",
                    "quantity": 2,
                    "uom": "Units",
                    "tracking": "serial",
                }
            ],
        )
        shipped = wms.ship("OUT-A")[0]["data"]
        assert shipped["lines"][0]["serials"] == ["SN0", "SN1"]
        release(wms, "OUT-B")
        url = f"{wms.base_url}/outbound-orders/OUT-B/cancel"
        assert requests.post(url, json={}, headers=AUTH, timeout=5).json() == {
            "order_ref": "OUT-B",
            "status": "cancelled",
        }
        release(wms, "OUT-C")
        wms.pick("OUT-C")
        url = f"{wms.base_url}/outbound-orders/OUT-C/cancel"
        assert requests.post(url, json={}, headers=AUTH, timeout=5).status_code == 409
        missing = f"{wms.base_url}/outbound-orders/NOPE/cancel"
        assert (
            requests.post(missing, json={}, headers=AUTH, timeout=5).status_code == 404
        )


def test_receipts_events_poll_and_lost_webhooks():
    with RunningSandbox(webhook_config=FAST) as sb, Receiver() as hook:
        wms = WmsControl(sb, "WH")
        wms.configure(webhook_url=hook.url, lose_webhooks=1)
        body = {
            "receipt_ref": "WH/IN/00001",
            "revision": 1,
            "reference": "WH/IN/00001",
            "lines": [
                {
                    "line_id": "5",
                    "sku": "VIAL",
                    "quantity": 6,
                    "uom": "Units",
                    "tracking": "lot",
                }
            ],
        }
        assert (
            requests.post(
                f"{wms.base_url}/inbound-receipts", json=body, headers=AUTH, timeout=5
            ).status_code
            == 201
        )
        event = wms.receive(
            "WH/IN/00001",
            lines=[
                {
                    "line_id": "5",
                    "sku": "VIAL",
                    "quantity_received": 5,
                    "quantity_rejected": 1,
                    "reject_reason": "damaged",
                    "lots": [{"lot": "L9", "quantity": 5, "expiry_date": "2028-01-01"}],
                }
            ],
        )
        release(wms, "OUT-X")  # its acknowledgement is sent
        sb.drain(timeout=10)
        # the receipt's webhook was lost; the poll lists it
        assert [e["event_type"] for e in hook.events()] == ["order.status"]
        assert wms.state()["lost"] == [event["event_id"]]
        page = requests.get(
            f"{wms.base_url}/events", params={"limit": 1}, headers=AUTH, timeout=5
        ).json()
        assert [e["event_id"] for e in page["events"]] == [event["event_id"]]
        assert page["has_more"] is True
        rest = requests.get(
            f"{wms.base_url}/events",
            params={"after": page["next_cursor"]},
            headers=AUTH,
            timeout=5,
        ).json()
        assert [e["event_type"] for e in rest["events"]] == ["order.status"]
        assert rest["has_more"] is False
        assert {(x["sku"], x["lot"]): x["quantity"] for x in wms.stock()} == {
            ("VIAL", "L9"): 5
        }


def test_snapshots_pushed_and_pulled_by_pages_with_checksum():
    with RunningSandbox(webhook_config=FAST) as sb, Receiver() as hook:
        wms = WmsControl(sb, "WH")
        wms.configure(webhook_url=hook.url)
        wms.set_stock([{"sku": f"SKU-{n:03d}", "quantity": n + 1} for n in range(5)])
        start = requests.post(
            f"{wms.base_url}/stock-snapshots", headers=AUTH, timeout=5
        ).json()
        assert start["line_count"] == 5
        lines, cursor = [], None
        while True:
            params = {"page_size": 2, **({"cursor": cursor} if cursor else {})}
            page = requests.get(
                f"{wms.base_url}/stock-snapshots/{start['snapshot_id']}",
                params=params,
                headers=AUTH,
                timeout=5,
            ).json()
            lines += page["lines"]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert len(lines) == 5
        assert snapshot_checksum(lines) == start["checksum"]
        # the checksum is the contract's: sorted "sku|lot|location|qty" lines
        text = "\n".join(sorted(f"{x['sku']}||STOCK|{x['quantity']}" for x in lines))
        assert start["checksum"] == hashlib.sha256(text.encode()).hexdigest()
        good = wms.push_snapshot()
        bad = wms.push_snapshot(corrupt="line_count")
        sb.drain(timeout=10)
        assert good["data"]["line_count"] == len(good["data"]["lines"])
        assert bad["data"]["line_count"] == len(bad["data"]["lines"]) + 1
        assert [e["event_type"] for e in hook.events()] == ["stock.snapshot"] * 2


def test_faults_duplicates_and_out_of_order_deliveries():
    with RunningSandbox(webhook_config=FAST) as sb, Receiver() as hook:
        wms = WmsControl(sb, "WH")
        wms.configure(webhook_url=hook.url, auto_acknowledge=False)
        sb.add_fault(system="wms", match="api", kind="http_status", status=503, count=1)
        assert release(wms).status_code == 503
        sb.add_fault(system="wms", match="api", kind="rate_limit", seconds=1, count=1)
        limited = release(wms)
        assert limited.status_code == 429 and limited.headers["Retry-After"]
        assert release(wms).status_code == 201  # nothing was stored by the faults
        sb.add_fault(system="wms", match="webhook", kind="duplicate_delivery", count=1)
        (dup,) = wms.ship(
            "WH/OUT/00001",
            final=False,
            shipments=[{"lines": [{"line_id": "1", "sku": "CAP-BLUE", "quantity": 1}]}],
        )
        sb.drain(timeout=10)
        assert [e["event_id"] for e in hook.events()] == [dup["event_id"]] * 2
        # out of order: the two shipments arrive newest first
        sb.add_fault(system="wms", match="webhook", kind="out_of_order", count=2)
        events = wms.ship(
            "WH/OUT/00001",
            shipments=[
                {"lines": [{"line_id": "1", "sku": "CAP-BLUE", "quantity": 2}]},
                {"lines": [{"line_id": "2", "sku": "VIAL", "quantity": 4}]},
            ],
        )
        sb.drain(timeout=10)
        first, second = (e["event_id"] for e in events)
        assert [e["event_id"] for e in hook.events()][2:] == [second, first]
        assert [e["data"]["sequence"] for e in events] == [2, 3]
        wms.resend(first)
        sb.drain(timeout=10)
        assert [e["event_id"] for e in hook.events()][-1] == first


def test_auto_ship_without_own_labels_and_refusing_what_stock_lacks():
    with RunningSandbox(webhook_config=FAST) as sb, Receiver() as hook:
        wms = WmsControl(sb, "WH")
        wms.configure(
            webhook_url=hook.url,
            auto_ship_seconds=0,
            own_labels=False,
            refuse_short=True,
        )
        wms.set_stock([{"sku": "CAP-BLUE", "quantity": 5}])
        lines = [{"line_id": "1", "sku": "CAP-BLUE", "quantity": 3}]
        release(wms, "WH/OUT/00001", lines=lines)
        release(wms, "WH/OUT/00002", lines=lines)  # 2 caps left: refused
        sb.drain()
        for _round in range(200):
            if len(hook.events()) >= 4:
                break
            hook.event.clear()
            hook.event.wait(0.05)
        by_order = {}
        for event in hook.events():
            by_order.setdefault(event["data"]["order_ref"], []).append(event)
        shipped = by_order["WH/OUT/00001"][-1]
        assert shipped["event_type"] == "shipment.confirmed"
        assert shipped["data"]["packages"][0]["tracking_number"] is None
        refused = by_order["WH/OUT/00002"][-1]
        assert refused["event_type"] == "order.status"
        assert refused["data"]["status"] == "refused"
        assert refused["data"]["reason"] == "not enough stock: CAP-BLUE (2 of 3)"
        assert wms.state()["orders"]["WH/OUT/00002"] == "refused"
        # a SKU the WMS refuses, whatever its stock
        wms.configure(refuse_skus={"CAP-BLUE": "CAP-BLUE is on quality hold"})
        wms.set_stock([{"sku": "CAP-BLUE", "quantity": 5}])
        release(wms, "WH/OUT/00003", lines=lines)
        for _round in range(200):
            if len(hook.events()) >= 6:
                break
            hook.event.clear()
            hook.event.wait(0.05)
        refused = [
            e for e in hook.events() if e["data"]["order_ref"] == "WH/OUT/00003"
        ][-1]
        assert refused["data"]["status"] == "refused"
        assert refused["data"]["reason"] == "CAP-BLUE is on quality hold"
