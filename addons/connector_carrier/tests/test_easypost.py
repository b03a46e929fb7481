"""The pure EasyPost mapping (no ORM): signatures, statuses and their order,
trackers and events, rates, labels, the desk's problem lines."""

import hashlib
import hmac
import json
from datetime import datetime
from pathlib import Path

import pytest

from ..tools import easypost as ep

FIXTURES = Path(__file__).parent / "fixtures"


def load(name):
    return json.loads((FIXTURES / name).read_text())


def test_signature_matches_easypost_scheme():
    body = b'{"id":"evt_1","object":"Event"}'
    digest = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    header = f"hmac-sha256-hex={digest}"
    assert ep.signature("secret", body) == header
    assert ep.verify_signature("secret", body, header)
    assert ep.verify_signature("secret", body, f"  {header} ")
    assert not ep.verify_signature("secret", body + b" ", header)
    assert not ep.verify_signature("other", body, header)
    assert not ep.verify_signature("secret", body, None)
    assert not ep.verify_signature("", body, header)
    assert not ep.verify_signature("secret", body, digest)  # prefix required
    # NFKD: a compatibility character in the secret signs as its plain form
    assert ep.signature("\ufb01le", body) == ep.signature("file", body)


def test_delivery_states_from_status_and_detail():
    assert ep.delivery_state("pre_transit") == "label_created"
    assert ep.delivery_state("in_transit", "arrived_at_facility") == "in_transit"
    assert ep.delivery_state("in_transit", "delivery_exception") == "exception"
    assert ep.delivery_state("return_to_sender") == "returned"
    assert ep.delivery_state("failure", "address_not_found") == "failure"
    assert ep.delivery_state("error") == "exception"
    assert ep.delivery_state(None) == "unknown"
    assert ep.delivery_state("something_new") == "unknown"
    assert ep.is_final("delivered") and ep.is_final("return_to_sender")
    assert not ep.is_final("failure") and not ep.is_final("in_transit")


def test_status_order_time_first_then_stage():
    t1, t2 = datetime(2030, 1, 1, 10), datetime(2030, 1, 1, 11)
    assert ep.is_newer(t2, "in_transit", t1, "delivered")  # later time wins
    assert not ep.is_newer(t1, "delivered", t2, "in_transit")  # older never
    assert ep.is_newer(t1, "delivered", t1, "out_for_delivery")  # same time
    assert not ep.is_newer(t1, "delivered", t1, "delivered")  # same version
    assert ep.is_newer(t1, "pre_transit", None, None)


def test_event_fixture_conformance():
    values = ep.event_values(load("tracker_updated_delivered.json"))
    assert values["event_id"] == "evt_3c0a5b6e4b2a11ee9a7f1b2c3d4e5f60"
    assert values["tracking_code"] == "EZ4000000004"
    assert values["status"] == "delivered"
    assert values["delivery_state"] == "delivered"
    assert values["final"] is True
    assert values["signed_by"] == "John Tester"
    # the delivered detail's time, with its offset, in UTC
    assert values["delivered_at"] == datetime(2030, 3, 4, 22, 2, 10)
    assert values["status_at"] == datetime(2030, 3, 4, 22, 2, 10)
    assert values["delivered_place"] == "CHARLESTON, SC 29401, US"
    assert [d["status"] for d in values["details"]] == [
        "pre_transit",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    assert values["details"][0]["location"] == ""
    assert values["details"][1]["location"] == "COLUMBIA, SC 29201"
    # one key per detail, stable across events that repeat the history
    keys = [d["key"] for d in values["details"]]
    assert len(set(keys)) == 4
    again = ep.event_values(load("tracker_updated_delivered.json"))
    assert [d["key"] for d in again["details"]] == keys


def test_bad_events_say_what_is_wrong():
    event = load("tracker_updated_delivered.json")
    with pytest.raises(ep.PayloadError, match="not an EasyPost Event"):
        ep.event_values([event])
    with pytest.raises(ep.PayloadError, match="is not tracker.updated"):
        ep.event_values(dict(event, description="batch.updated"))
    with pytest.raises(ep.PayloadError, match="not a Tracker"):
        ep.event_values(dict(event, result={"object": "Shipment"}))
    broken = json.loads(json.dumps(event))
    broken["result"]["tracking_details"][0]["datetime"] = "yesterday"
    with pytest.raises(ep.PayloadError, match="'yesterday' is not a date"):
        ep.event_values(broken)
    no_code = json.loads(json.dumps(event))
    no_code["result"]["tracking_code"] = ""
    with pytest.raises(ep.PayloadError, match="no tracking_code"):
        ep.event_values(no_code)


def test_envelope_never_raises():
    assert ep.envelope(None) == {}
    assert ep.envelope([1]) == {}
    assert ep.envelope({"id": 5, "result": "x"}) == {
        "event_id": None,
        "description": None,
        "tracking_code": None,
    }
    env = ep.envelope(load("tracker_updated_delivered.json"))
    assert env["event_id"].startswith("evt_") and env["tracking_code"] == "EZ4000000004"


def test_pick_rate():
    rates = [
        {
            "id": "rate_a",
            "carrier": "USPS",
            "service": "Priority",
            "rate": "10.46",
            "carrier_account_id": "ca_usps",
        },
        {
            "id": "rate_b",
            "carrier": "USPS",
            "service": "GroundAdvantage",
            "rate": "7.00",
            "carrier_account_id": "ca_usps",
        },
        {
            "id": "rate_c",
            "carrier": "UPS",
            "service": "Ground",
            "rate": "9.10",
            "carrier_account_id": "ca_ups",
        },
    ]
    assert ep.pick_rate(rates, ["USPS:Priority"])["id"] == "rate_a"
    assert ep.pick_rate(rates, ["Ground"])["id"] == "rate_c"
    assert ep.pick_rate(rates, ["FedEx:Overnight", "UPS:Ground"])["id"] == "rate_c"
    assert ep.pick_rate(rates, ["FedEx:Overnight"]) is None
    assert ep.pick_rate(rates)["id"] == "rate_b"  # cheapest
    assert ep.pick_rate(rates, carrier_accounts=["ca_ups"])["id"] == "rate_c"
    assert ep.pick_rate([]) is None
    assert ep.service_code(rates[0]) == "USPS:Priority"


def test_labels_shipments_money_weights():
    label = {
        "label_url": "https://x/l.pdf",
        "label_file_type": "application/pdf",
        "label_pdf_url": None,
        "label_zpl_url": "https://x/l.zpl",
    }
    assert ep.label_url(label, "PDF") == "https://x/l.pdf"
    assert ep.label_url(label, "ZPL") == "https://x/l.zpl"
    assert (
        ep.label_url({"label_file_type": "image/png", "label_url": "u"}, "PDF") is None
    )
    shipment = {
        "id": "shp_1",
        "tracking_code": "9400",
        "postage_label": label,
        "refund_status": None,
        "selected_rate": {
            "carrier": "USPS",
            "service": "Priority",
            "rate": "10.46",
            "currency": "USD",
        },
        "tracker": {"id": "trk_1", "public_url": "https://track/9400"},
    }
    assert ep.purchased(shipment)
    assert not ep.purchased(dict(shipment, refund_status="submitted"))
    assert not ep.purchased(dict(shipment, postage_label=None))
    values = ep.shipment_values(shipment)
    assert values["price"] == 10.46 and values["service"] == "USPS:Priority"
    assert values["tracker_ext_id"] == "trk_1"
    assert str(ep.money("10.46")) == "10.46"
    for bad in ("ten", "NaN", None):
        with pytest.raises(ep.PayloadError):
            ep.money(bad)
    assert ep.ounces(1, "kg") == 35.3
    assert ep.ounces(2, "lb") == 32.0
    assert ep.ounces(0, "kg") == 0.1  # never a weightless parcel


def test_problem_line_for_the_desk():
    assert (
        ep.problem_text(
            "EZ4000000004",
            "Dana O'Neil",
            "failure",
            "Address not found",
            "address_not_found",
        )
        == "Parcel EZ4000000004 to Dana O'Neil: address not found"
    )
    assert (
        ep.problem_text("EZ5", "Ann", "returned", "Returned to sender", "return")
        == "Parcel EZ5 to Ann: returned to sender"
    )
    assert ep.problem_text("EZ6", None, "exception", "", "") == (
        "Parcel EZ6 to the customer: exception"
    )


def test_error_text():
    body = {
        "error": {
            "code": "ADDRESS.VERIFY.FAILURE",
            "message": "to_address: street1 cannot be blank.",
            "errors": [{"field": "to_address.street1", "message": "cannot be blank"}],
        }
    }
    assert ep.error_text(body) == (
        "to_address: street1 cannot be blank.; to_address.street1 cannot be blank"
    )
    assert ep.error_text("oops") == ""
