"""Our REST JSON has the keys of real Shopify payloads.

Reads the shared conformance samples in place (never copied into the
repository) and skips when the folder is absent.
"""

import json
from pathlib import Path

import pytest

from .conftest import ORDER_SPEC

SAMPLES = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "shopify"
REAL = SAMPLES / "real_webhook_captures"
DOCS = SAMPLES / "official_docs_examples_2024-01"
# fields Shopify deprecated/removed in later API versions
IGNORED = {
    "gateway",
    "processing_method",
    "accepts_marketing",
    "accepts_marketing_updated_at",
    "marketing_opt_in_level",
}

pytestmark = pytest.mark.skipif(not SAMPLES.is_dir(), reason="no conformance data")


def _missing(reference, ours):
    return sorted(set(reference) - set(ours) - IGNORED)


@pytest.mark.parametrize(
    "sample",
    [
        REAL / "orders_cancelled__activepieces_new-cancelled-order.json",
        REAL / "orders_create__activepieces_new-order.json",
        DOCS / "order" / "order__test_8__GET__orders_450789469_json.json",
    ],
    ids=lambda p: p.name,
)
def test_order_json_has_real_keys(shop, sample):
    ref = json.loads(sample.read_text())
    ref = ref.get("order", ref)
    order = shop.create_order(ORDER_SPEC)
    shop.refund(
        order["id"],
        {
            "lines": [{"sku": "MUG-WHITE", "quantity": 1}],
            "shipping": {"full_refund": True},
        },
    )
    order = shop.order(order["id"])
    assert _missing(ref, order) == []
    assert _missing(ref["line_items"][0], order["line_items"][0]) == []
    assert _missing(ref.get("customer") or {}, order["customer"]) == []
    assert _missing(ref.get("shipping_address") or {}, order["shipping_address"]) == []
    if ref["shipping_lines"]:
        assert _missing(ref["shipping_lines"][0], order["shipping_lines"][0]) == []
    if ref["refunds"]:
        ours, theirs = order["refunds"][0], ref["refunds"][0]
        assert _missing(theirs, ours) == []
        assert (
            _missing(theirs["refund_line_items"][0], ours["refund_line_items"][0]) == []
        )
        assert _missing(theirs["transactions"][0], ours["transactions"][0]) == []
        # money types follow the samples: numbers here, strings in *_set
        assert isinstance(ours["refund_line_items"][0]["subtotal"], (int, float))
        assert isinstance(ours["order_adjustments"][0]["amount"], str)
    for key in ("total_price", "subtotal_price", "total_tax", "total_discounts"):
        assert isinstance(order[key], str)
        assert order[key + "_set"]["shop_money"]["amount"] == order[key]


def test_location_and_fulfillment_order_keys(shop):
    ref = json.loads(
        (DOCS / "location" / "location__test_1__GET__locations_json.json").read_text()
    )["locations"][0]
    ours = shop.rest_get("locations.json").json()["locations"][0]
    assert _missing(ref, ours) == []
    fo_file = (
        DOCS
        / "fulfillment_order"
        / (
            "fulfillment_order__test_1__GET__orders_450789469_fulfillment_orders_json.json"
        )
    )
    ref_fo = json.loads(fo_file.read_text())["fulfillment_orders"][0]
    order = shop.create_order(ORDER_SPEC)
    fo = shop.rest_get(f"orders/{order['id']}/fulfillment_orders.json").json()[
        "fulfillment_orders"
    ][0]
    assert _missing(ref_fo["line_items"][0], fo["line_items"][0]) == []
    assert sorted(set(ref_fo) - set(fo)) == []
