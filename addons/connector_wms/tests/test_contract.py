"""The contract in plain Python, without the ORM: builders, parsers,
validators, checksum, adapter, and CONTRACT.md saying the same as the code."""

import copy
import json
from decimal import Decimal
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from ..contract import (
    INBOUND_SCHEMAS,
    ContractAdapter,
    ContractError,
    adapter_for,
    cancel_body,
    envelope_of,
    parse_event,
    parse_order_status,
    parse_receipt,
    parse_shipment,
    parse_snapshot,
    receipt_body,
    register_adapter,
    release_body,
    snapshot_checksum,
)
from ..contract.document import MARKER, schema_appendix
from ..contract.schemas import MESSAGE_TYPE_SCHEMAS, schema_text

D = Decimal


def shipment_event(**data):
    body = {
        "event_id": "evt-1",
        "event_type": "shipment.confirmed",
        "occurred_at": "2026-12-01T10:00:00Z",
        "warehouse": "WH",
        "data": {
            "shipment_id": "SHP-1",
            "order_ref": "WH/OUT/00042",
            "sequence": 1,
            "final": True,
            "shipment_count": 1,
            "lines": [
                {"line_id": "7", "sku": "CAP-BLUE", "quantity": 2},
                {
                    "line_id": "8",
                    "sku": "VIAL",
                    "quantity": 5,
                    "lots": [
                        {"lot": "L1", "quantity": 3, "expiry_date": "2027-01-31"},
                        {"lot": "L2", "quantity": 2},
                    ],
                },
                {
                    "line_id": "9",
                    "sku": "PHONE",
                    "quantity": 2,
                    "serials": ["S1", "S2"],
                },
            ],
            "packages": [
                {
                    "package_ref": "BOX-1",
                    "weight_kg": 1.25,
                    "tracking_number": "1Z999",
                    "contents": [{"sku": "VIAL", "quantity": 5, "lot": "L1"}],
                }
            ],
        },
    }
    body["data"].update(data)
    return body


def receipt_event(event_id="evt-2"):
    return {
        "event_id": event_id,
        "event_type": "receipt.confirmed",
        "occurred_at": "2026-12-01T10:00:00Z",
        "data": {
            "receipt_id": "RCV-1",
            "receipt_ref": "WH/IN/00007",
            "sequence": 1,
            "final": False,
            "lines": [
                {
                    "sku": "VIAL",
                    "quantity_received": 5,
                    "quantity_rejected": 1,
                    "reject_reason": "damaged",
                    "lots": [{"lot": "L9", "quantity": 5}],
                }
            ],
        },
    }


def snapshot_event(lines, **data):
    body = {
        "event_id": "evt-9",
        "event_type": "stock.snapshot",
        "occurred_at": "2026-12-01T10:00:00+01:00",
        "data": {
            "snapshot_id": "snap-1",
            "as_of": "2026-12-01T09:00:00Z",
            "line_count": len(lines),
            "checksum": snapshot_checksum(lines),
            "lines": lines,
        },
    }
    body["data"].update(data)
    return body


# -- schemas -------------------------------------------------------------------
def test_every_schema_is_valid_draft_2020_12_and_stored_as_text():
    for code, schema in MESSAGE_TYPE_SCHEMAS.items():
        Draft202012Validator.check_schema(schema)
        assert json.loads(schema_text(code)) == schema


def test_contract_document_prints_the_schemas_of_the_code():
    text = (Path(__file__).parents[1] / "CONTRACT.md").read_text()
    assert MARKER in text
    assert text[text.index(MARKER) :].strip() == schema_appendix().strip()


# -- builders ----------------------------------------------------------------------
def test_release_body_follows_the_contract():
    body = release_body(
        "WH/OUT/00042",
        2,
        "WH/OUT/00042",
        {"name": "Ann Lee", "city": "Ghent", "country": "BE"},
        [{"line_id": 7, "sku": "CAP-BLUE", "quantity": D("2.0"), "uom": "Units"}],
        origin="S00042",
        carrier="DHL",
    )
    assert body["revision"] == 2
    assert body["lines"] == [
        {
            "line_id": "7",
            "sku": "CAP-BLUE",
            "name": None,
            "quantity": 2,
            "uom": "Units",
            "tracking": "none",
        }
    ]
    assert body["ship_to"]["city"] == "Ghent"
    assert (
        release_body(
            "R", 1, "R", {}, [{"line_id": 1, "sku": "X", "quantity": D("0.5")}]
        )["lines"][0]["quantity"]
        == 0.5
    )


def test_builders_refuse_what_the_contract_refuses():
    with pytest.raises(ContractError) as error:
        release_body("WH/OUT/1", 1, "WH/OUT/1", {"name": "A"}, [])
    assert "lines" in error.value.message
    with pytest.raises(ContractError):
        release_body(
            "WH/OUT/1",
            1,
            "WH/OUT/1",
            {"name": "A"},
            [{"line_id": 1, "sku": "X", "quantity": 0}],
        )
    assert cancel_body("WH/OUT/1", "customer") == {
        "order_ref": "WH/OUT/1",
        "reason": "customer",
    }
    body = receipt_body(
        "WH/IN/1", 1, "WH/IN/1", [{"line_id": 3, "sku": "X", "quantity": 4}]
    )
    assert body["supplier"]["name"] == "-"


# -- parsers -----------------------------------------------------------------------
def test_shipment_parsed_with_lots_serials_and_packages():
    shipment = parse_shipment(shipment_event())
    assert shipment.shipment_id == "SHP-1"
    assert shipment.quantities_by_sku() == {"CAP-BLUE": 2, "VIAL": 5, "PHONE": 2}
    vial = shipment.lines[1]
    assert [(lot.name, lot.quantity, str(lot.expiry_date)) for lot in vial.lots] == [
        ("L1", D(3), "2027-01-31"),
        ("L2", D(2), "None"),
    ]
    assert shipment.lines[2].serials == ["S1", "S2"]
    assert shipment.packages[0].weight_kg == D("1.25")
    assert shipment.tracking_numbers() == ["1Z999"]


@pytest.mark.parametrize(
    "change, words",
    [
        (
            {"lines": [{"sku": "PHONE", "quantity": 3, "serials": ["S1", "S2"]}]},
            "2 serial",
        ),
        (
            {
                "lines": [
                    {
                        "sku": "VIAL",
                        "quantity": 5,
                        "lots": [{"lot": "L1", "quantity": 4}],
                    }
                ]
            },
            "lots add up to 4",
        ),
        (
            {
                "lines": [{"sku": "CAP", "quantity": 1}],
                "packages": [
                    {"package_ref": "B", "contents": [{"sku": "CAP", "quantity": 2}]}
                ],
            },
            "2 of SKU 'CAP' packed",
        ),
        ({"shipment_count": 0}, "shipment_count"),
        ({"sequence": 3, "shipment_count": 2}, "2 shipment(s) in all"),
    ],
)
def test_shipment_inconsistencies_are_named(change, words):
    with pytest.raises(ContractError) as error:
        parse_shipment(shipment_event(**change))
    assert words in str(error.value)


def test_schema_violations_list_every_path():
    body = shipment_event()
    del body["data"]["order_ref"]
    body["data"]["lines"][0]["quantity"] = -1
    body["data"]["final"] = True
    del body["data"]["shipment_count"]
    with pytest.raises(ContractError) as error:
        parse_shipment(body)
    problems = error.value.problems
    assert any(p.startswith("$.data:") and "order_ref" in p for p in problems)
    assert any(p.startswith("$.data.lines[0].quantity") for p in problems)
    assert any("shipment_count" in p for p in problems)


def test_receipt_status_and_events():
    receipt = parse_receipt(receipt_event())
    assert (receipt.lines[0].quantity, receipt.lines[0].quantity_rejected) == (5, 1)
    status = parse_order_status(
        {
            "event_id": "evt-3",
            "event_type": "order.status",
            "occurred_at": "2026-12-01T10:00:00Z",
            "data": {
                "order_ref": "WH/OUT/1",
                "status": "cancel_refused",
                "reason": "picked",
            },
        }
    )
    assert (status.status, status.kind) == ("cancel_refused", "outbound")
    assert parse_event(shipment_event())[0] == "wms.shipment"
    with pytest.raises(ContractError, match="Unknown event type"):
        parse_event({"event_type": "order.exploded"})


def test_envelope_never_raises():
    assert envelope_of(json.dumps(shipment_event()).encode()) == {
        "event_id": "evt-1",
        "event_type": "shipment.confirmed",
        "message_type": "wms.shipment",
        "reference": "WH/OUT/00042",
    }
    for junk in (b"", b"{", b"[1]", b'{"event_id": {"a": 1}}', b"\xff\xfe"):
        envelope = envelope_of(junk)
        assert envelope["event_id"] is None and envelope["message_type"] is None


# -- snapshots ------------------------------------------------------------------------
def test_checksum_is_order_free_and_quantity_canonical():
    lines = [
        {"sku": "B", "lot": None, "location": "A1", "quantity": 2.50},
        {"sku": "A", "lot": "L1", "location": None, "quantity": 1},
    ]
    reordered = [dict(lines[1], quantity=1.0), dict(lines[0], quantity=2.5)]
    assert snapshot_checksum(lines) == snapshot_checksum(reordered)
    assert snapshot_checksum(lines) != snapshot_checksum(lines[:1])


def test_snapshot_refused_on_line_count_or_checksum():
    lines = [{"sku": "A", "quantity": 3}, {"sku": "A", "lot": "L1", "quantity": 2}]
    snapshot = parse_snapshot(snapshot_event(lines))
    assert snapshot.totals() == {("A", None): 3, ("A", "L1"): 2}
    truncated = snapshot_event(lines)
    truncated["data"]["lines"] = lines[:1]
    with pytest.raises(ContractError, match="declares 2 line"):
        parse_snapshot(truncated)
    altered = snapshot_event(lines)
    altered["data"]["lines"] = copy.deepcopy(lines)
    altered["data"]["lines"][0]["quantity"] = 4
    with pytest.raises(ContractError, match="checksum does not match"):
        parse_snapshot(altered)


# -- adapter ---------------------------------------------------------------------------
def test_contract_adapter_outcomes_and_a_replacement():
    adapter = adapter_for("contract")
    assert adapter.release({"order_ref": "X"}).path == "outbound-orders"
    assert (
        adapter.cancel({"order_ref": "WH/OUT/1"}).path
        == "outbound-orders/WH/OUT/1/cancel"
    )
    assert adapter.release_outcome(201, {})["status"] == "received"
    assert adapter.release_outcome(409, {"error": "order_locked"})["status"] == "locked"
    assert adapter.release_outcome(422, {"error": "invalid"})["status"] == "refused"
    assert adapter.cancel_outcome(200, {"status": "cancelled"})["status"] == "cancelled"
    assert (
        adapter.cancel_outcome(409, {"error": "already_picked"})["status"] == "refused"
    )
    assert adapter.cancel_outcome(404, {})["status"] == "cancelled"

    class Renamed(ContractAdapter):
        code = "test-3pl"

        def release(self, body):
            return super().release(body)._replace(path="v2/orders")

        def inbound_event(self, body):
            body = dict(body)
            return {"event_type": body.pop("topic"), **body}

    register_adapter(Renamed)
    try:
        assert adapter_for("test-3pl").release({}).path == "v2/orders"
        assert adapter_for("test-3pl").inbound_event({"topic": "order.status"}) == {
            "event_type": "order.status"
        }
    finally:
        from ..contract import adapter as module

        module._ADAPTERS.pop("test-3pl")
    assert isinstance(adapter_for("unknown"), ContractAdapter)
    assert set(INBOUND_SCHEMAS) == {
        "wms.shipment",
        "wms.receipt_confirmed",
        "wms.order_status",
        "wms.snapshot",
    }
