"""The EasyPost-compatible carrier: shipments and rates, buying once, real
label files, refunds, trackers walking through statuses, signed Event
webhooks and the faults (duplicates, out of order, lost, 5xx, 429, a timeout
after a purchase)."""

import hashlib
import hmac
import json
import time

import pytest
import requests

from sandbox.carrier.control import CarrierControl
from sandbox.carrier.labels import label_pdf, label_png, label_zpl
from sandbox.carrier.tracking import TEST_TRACKING_CODES, webhook_signature

SECRET = "whsec-carrier"


def shipment_spec(**values):
    spec = {
        "reference": "ODOO-1-PICK-7-PKG-3",
        "to_address": {
            "name": "Dana O'Neil",
            "street1": "417 Montgomery St",
            "city": "San Francisco",
            "state": "CA",
            "zip": "94104",
            "country": "US",
        },
        "from_address": {
            "company": "Distributor Inc",
            "street1": "1 Warehouse Way",
            "city": "Salt Lake City",
            "state": "UT",
            "zip": "84101",
            "country": "US",
        },
        "parcel": {"weight": 32},
        "options": {"label_format": "PDF"},
    }
    spec.update(values)
    return spec


@pytest.fixture
def carrier(sandbox):
    return CarrierControl(sandbox, "demo")


def create(carrier, **values):
    resp = carrier.api("POST", "shipments", json={"shipment": shipment_spec(**values)})
    assert resp.status_code == 201, resp.text
    return resp.json()


def buy(carrier, shipment, service="Priority"):
    rate = next(r for r in shipment["rates"] if r["service"] == service)
    return carrier.api(
        "POST", f"shipments/{shipment['id']}/buy", json={"rate": {"id": rate["id"]}}
    )


def subscribe(carrier, url, secret=SECRET):
    resp = carrier.api(
        "POST", "webhooks", json={"webhook": {"url": url, "webhook_secret": secret}}
    )
    assert resp.status_code == 201
    assert "webhook_secret" not in resp.json()
    return resp.json()


# -- pure parts -----------------------------------------------------------------
def test_pdf_label_is_a_well_formed_pdf():
    pdf = label_pdf("9400100000000000000000", "USPS", "Priority", ["Dana O'Neil"])
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    # the xref offsets point at the objects they name
    xref_at = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[xref_at:].startswith(b"xref")
    entries = pdf[xref_at:].split(b"\n")[3:8]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry.split()[0])
        assert pdf[offset:].startswith(b"%d 0 obj" % number)
    assert b"(TRACKING # 9400100000000000000000)" in pdf
    assert b"O'Neil" in pdf


def test_zpl_and_png_labels():
    zpl = label_zpl("1Z999", "UPS", "Ground", ["Dana"])
    assert zpl.startswith(b"^XA") and zpl.rstrip().endswith(b"^XZ")
    assert b"^FD1Z999^FS" in zpl
    assert label_png().startswith(b"\x89PNG\r\n\x1a\n")


def test_signature_is_easyposts_hex_hmac_with_a_prefix():
    body = b'{"id":"evt_1"}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert webhook_signature("s3cret", body) == f"hmac-sha256-hex={expected}"
    # the secret is NFKD-normalised first (a full-width letter = its ASCII)
    assert webhook_signature("\uff53" + "3cret", body) == webhook_signature(
        "s3cret", body
    )


# -- API ------------------------------------------------------------------------
def test_auth_basic_or_bearer_and_errors(carrier):
    url = f"{carrier.base_url}/shipments"
    assert requests.get(url, timeout=5).status_code == 401
    bad = requests.get(url, auth=("wrong", ""), timeout=5)
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "APIKEY.INVALID"
    bearer = requests.get(
        url, headers={"Authorization": f"Bearer {carrier.api_key}"}, timeout=5
    )
    assert bearer.status_code == 200


def test_shipment_with_rates_and_validation_errors(carrier):
    shipment = create(carrier)
    assert shipment["id"].startswith("shp_") and shipment["object"] == "Shipment"
    assert shipment["postage_label"] is None and shipment["tracking_code"] is None
    rates = {(r["carrier"], r["service"]): r for r in shipment["rates"]}
    assert ("USPS", "Priority") in rates and ("UPS", "Ground") in rates
    priority = rates[("USPS", "Priority")]
    assert priority["object"] == "Rate" and priority["currency"] == "USD"
    assert priority["rate"] == "10.46"  # 7.90 + 0.08 x 32 oz
    assert priority["shipment_id"] == shipment["id"]
    # only the carrier accounts asked for
    only_ups = create(carrier, carrier_accounts=["ca_ups_demo"])
    assert {r["carrier"] for r in only_ups["rates"]} == {"UPS"}
    # a weightless parcel, a missing street
    bad = carrier.api(
        "POST", "shipments", json={"shipment": shipment_spec(parcel={"weight": 0})}
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "PARCEL.WEIGHT.INVALID"
    spec = shipment_spec()
    spec["to_address"] = dict(spec["to_address"], street1="")
    bad = carrier.api("POST", "shipments", json={"shipment": spec})
    assert bad.status_code == 422
    assert bad.json()["error"]["errors"][0]["field"] == "to_address.street1"


def test_buy_once_label_pdf_and_zpl_and_find_by_reference(carrier):
    shipment = create(carrier)
    bought = buy(carrier, shipment)
    assert bought.status_code == 200, bought.text
    bought = bought.json()
    assert bought["selected_rate"]["service"] == "Priority"
    code = bought["tracking_code"]
    assert code and bought["tracker"]["tracking_code"] == code
    assert bought["tracker"]["status"] == "pre_transit"
    label = bought["postage_label"]
    assert label["object"] == "PostageLabel"
    assert label["label_file_type"] == "application/pdf"
    pdf = requests.get(label["label_url"], timeout=5)
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and code.encode() in pdf.content
    # buying again is refused; one purchase only
    again = buy(carrier, shipment)
    assert again.status_code == 422
    assert (
        again.json()["error"]["message"] == "Postage already exists for this shipment."
    )
    assert len(carrier.purchases()) == 1
    # retrieved by its reference (EasyPost allows id or reference)
    found = carrier.api("GET", "shipments/ODOO-1-PICK-7-PKG-3").json()
    assert found["id"] == shipment["id"] and found["tracking_code"] == code
    assert carrier.api("GET", "shipments/NO-SUCH-REF").status_code == 404
    # ZPL on demand
    zpl = carrier.api("GET", f"shipments/{shipment['id']}/label?file_format=ZPL").json()
    zpl_file = requests.get(zpl["postage_label"]["label_zpl_url"], timeout=5)
    assert zpl_file.content.startswith(b"^XA")
    # list: newest first, purchased filter
    create(carrier, reference="OTHER")
    listed = carrier.api("GET", "shipments?purchased=true").json()
    assert [s["id"] for s in listed["shipments"]] == [shipment["id"]]
    assert listed["has_more"] is False


def test_timeout_after_purchase_still_bought(carrier):
    shipment = create(carrier)
    carrier.buy_timeouts(count=1, seconds=0.2)
    answer = buy(carrier, shipment)
    assert answer.status_code == 504
    # the label was bought: the shipment, found again, has it
    found = carrier.api("GET", f"shipments/{shipment['reference']}").json()
    assert found["postage_label"] and found["tracking_code"]
    assert len(carrier.purchases()) == 1


def test_refund_states(carrier):
    shipment = create(carrier)
    code = buy(carrier, shipment).json()["tracking_code"]
    refunded = carrier.api("POST", f"shipments/{shipment['id']}/refund").json()
    assert refunded["refund_status"] == "submitted"
    # asked again: still submitted, one Refund object
    carrier.api("POST", f"shipments/{shipment['id']}/refund")
    refunds = carrier.api(
        "POST",
        "refunds",
        json={"refund": {"carrier": "USPS", "tracking_codes": [code]}},
    ).json()
    assert len(refunds) == 1 and refunds[0]["status"] == "submitted"
    assert refunds[0]["object"] == "Refund"
    carrier.refund_result(shipment["id"], "rejected")
    after = carrier.api("GET", f"shipments/{shipment['id']}").json()
    assert after["refund_status"] == "rejected"
    assert (
        carrier.api("GET", f"refunds/{refunds[0]['id']}").json()["status"] == "rejected"
    )
    # a rejected refund cannot be asked again; a parcel in transit cannot be
    again = carrier.api("POST", f"shipments/{shipment['id']}/refund")
    assert again.status_code == 422
    other = create(carrier, reference="R2")
    other_code = buy(carrier, other).json()["tracking_code"]
    carrier.advance(other_code, walk="in_transit")
    refused = carrier.api("POST", f"shipments/{other['id']}/refund")
    assert refused.status_code == 422
    assert "in transit" in refused.json()["error"]["message"]


def test_test_tracking_codes(carrier):
    for code, status in TEST_TRACKING_CODES.items():
        resp = carrier.api(
            "POST",
            "trackers",
            json={"tracker": {"tracking_code": code, "carrier": "USPS"}},
        )
        tracker = resp.json()
        assert tracker["status"] == status, code
        assert tracker["tracking_details"], code
    # creating the same tracker again returns it
    again = carrier.api(
        "POST", "trackers", json={"tracker": {"tracking_code": "EZ4000000004"}}
    )
    assert again.status_code == 200
    listed = carrier.api("GET", "trackers?tracking_codes=EZ4000000004").json()
    assert [t["tracking_code"] for t in listed["trackers"]] == ["EZ4000000004"]


def test_walk_delivered_sends_signed_ordered_events(carrier, sandbox, receiver):
    subscribe(carrier, receiver.url)
    shipment = create(carrier)
    code = buy(carrier, shipment).json()["tracking_code"]
    result = carrier.advance(code, walk="delivered", signed_by="D. O'NEIL")
    assert result["tracker"]["status"] == "delivered"
    assert result["tracker"]["signed_by"] == "D. O'NEIL"
    requests_ = receiver.wait_for(result["steps"])
    sandbox.drain()
    statuses = []
    for request in requests_:
        body = request["body"]
        assert request["headers"]["X-Hmac-Signature"] == webhook_signature(SECRET, body)
        event = json.loads(body)
        assert event["object"] == "Event" and event["description"] == "tracker.updated"
        assert event["id"].startswith("evt_")
        assert event["result"]["object"] == "Tracker"
        statuses.append(event["result"]["status"])
    assert statuses == [
        "in_transit",
        "in_transit",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    last = json.loads(requests_[-1]["body"])["result"]
    assert [d["status"] for d in last["tracking_details"]][0] == "pre_transit"
    assert (
        last["tracking_details"][-1]["tracking_location"]["object"]
        == "TrackingLocation"
    )
    # the shipment follows its tracker
    assert (
        carrier.api("GET", f"shipments/{shipment['id']}").json()["status"]
        == "delivered"
    )


def test_failure_and_return_walks(carrier):
    first = buy(carrier, create(carrier, reference="F")).json()["tracking_code"]
    tracker = carrier.advance(first, walk="failure")["tracker"]
    assert tracker["status"] == "failure"
    assert tracker["status_detail"] == "address_not_found"
    second = buy(carrier, create(carrier, reference="R")).json()["tracking_code"]
    assert carrier.advance(second, walk="return_to_sender")["tracker"]["status"] == (
        "return_to_sender"
    )
    # an explicit step with the carrier's time; an older one sorts before
    third = buy(carrier, create(carrier, reference="X")).json()["tracking_code"]
    carrier.advance(third, status="in_transit", datetime="2030-01-02T10:00:00Z")
    tracker = carrier.advance(
        third, status="pre_transit", datetime="2030-01-01T10:00:00Z"
    )
    assert tracker["tracker"]["status"] == "in_transit"


def test_walk_over_time(carrier, receiver):
    subscribe(carrier, receiver.url)
    code = buy(carrier, create(carrier)).json()["tracking_code"]
    carrier.advance(code, walk="out_for_delivery", interval=0.05)
    receiver.wait_for(4, timeout=5)
    tracker = carrier.api("GET", f"trackers?tracking_codes={code}").json()["trackers"][
        0
    ]
    assert tracker["status"] == "out_for_delivery"


def test_webhook_faults_duplicate_out_of_order_lost(carrier, sandbox, receiver):
    subscribe(carrier, receiver.url)
    code = buy(carrier, create(carrier)).json()["tracking_code"]
    sandbox.add_fault(system="carrier", kind="duplicate_delivery", count=1)
    carrier.advance(code, status="in_transit", status_detail="arrived_at_facility")
    receiver.wait_for(2)
    ids = [json.loads(b["body"])["id"] for b in receiver.requests]
    assert ids[0] == ids[1]  # the same event twice
    # lost: the event exists at the carrier, nobody receives it
    carrier.lose_webhooks(1)
    carrier.advance(code, status="out_for_delivery", status_detail="out_for_delivery")
    sandbox.drain()
    assert len(receiver.requests) == 2
    assert carrier.events()[-1]["result"]["status"] == "out_for_delivery"
    # out of order: held, then released newest first
    sandbox.add_fault(system="carrier", kind="out_of_order", count=2)
    carrier.advance(code, status="out_for_delivery", status_detail="out_for_delivery")
    carrier.advance(code, status="delivered", status_detail="arrived_at_destination")
    requests_ = receiver.wait_for(4)
    later = [json.loads(r["body"])["result"]["status"] for r in requests_[2:]]
    assert later == ["delivered", "out_for_delivery"]


def test_receiver_5xx_is_retried(carrier, sandbox, receiver):
    subscribe(carrier, receiver.url)
    receiver.fail_first = 2
    code = buy(carrier, create(carrier)).json()["tracking_code"]
    carrier.advance(code, status="in_transit")
    requests_ = receiver.wait_for(3)
    assert len({json.loads(r["body"])["id"] for r in requests_}) == 1
    sandbox.drain()


def test_api_429_and_5xx(carrier, sandbox):
    sandbox.add_fault(
        system="carrier", match="api", kind="rate_limit", seconds=1, count=1
    )
    limited = carrier.api("GET", "shipments")
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    sandbox.add_fault(
        system="carrier", match="buy", kind="http_status", status=503, count=1
    )
    shipment = create(carrier)
    assert buy(carrier, shipment).status_code == 503
    assert carrier.purchases() == []  # a 5xx before buying bought nothing
    assert buy(carrier, shipment).status_code == 200


def test_reset_cancels_walks(carrier, sandbox):
    code = buy(carrier, create(carrier)).json()["tracking_code"]
    carrier.advance(code, walk="delivered", interval=0.2)
    sandbox.reset()
    time.sleep(0.3)
    assert carrier.state()["events"] == 0


def test_auto_walk_delivers_bought_parcels_signed_and_fails_by_street(
    carrier, receiver
):
    subscribe(carrier, receiver.url)
    carrier.configure(auto_walk={"interval": 0.01, "by_street": {"nowhere": "failure"}})
    good = buy(carrier, create(carrier)).json()["tracking_code"]
    bad_address = dict(shipment_spec()["to_address"], street1="1 Nowhere Lane")
    bad = buy(carrier, create(carrier, to_address=bad_address)).json()["tracking_code"]
    # delivered: 5 steps after the label; failure: 4
    receiver.wait_for(9, timeout=10)
    trackers = {
        t["tracking_code"]: t for t in carrier.api("GET", "trackers").json()["trackers"]
    }
    assert trackers[good]["status"] == "delivered"
    assert trackers[good]["signed_by"] == "DANA O'NEIL"
    assert trackers[bad]["status"] == "failure"
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    assert {b["description"] for b in bodies} == {"tracker.updated"}
    assert all(r["headers"].get("X-Hmac-Signature") for r in receiver.requests)
    with pytest.raises(AssertionError):
        carrier.configure(auto_walk={"walk": "teleported"})
