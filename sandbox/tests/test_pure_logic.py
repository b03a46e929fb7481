"""Unit tests of the pure pieces (no HTTP)."""

import base64
import hashlib
import hmac
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from graphql import parse

from sandbox.core.faults import FaultError, FaultInjector
from sandbox.core.ratelimit import LeakyBucket
from sandbox.core.util import IdGenerator
from sandbox.core.webhooks import DEFAULT_CONFIG, backoff_delay
from sandbox.shopify.cost import find_operation, query_cost
from sandbox.shopify.cursors import CursorError, encode_cursor, paginate
from sandbox.shopify.graphql_api import SCHEMA
from sandbox.shopify.money import allocate, prorate
from sandbox.shopify.orders import build_order, build_refund, refresh_order_totals
from sandbox.shopify.search import SearchQuery
from sandbox.shopify.webhooks import sign, topic_to_rest, verify

from .conftest import ORDER_SPEC

D = Decimal


class Ctx:
    currency = "EUR"
    offset_minutes = 60
    domain = "demo.myshopify.com"

    def __init__(self):
        self.ids = IdGenerator(5_000_000_000_000)

    def new_id(self):
        return self.ids.next()

    def resolve_line(self, line):
        return {"sku": line.get("sku"), "title": line.get("title") or line.get("sku")}

    def customer(self, spec):
        return {
            "id": 1,
            "email": spec.get("email"),
            "first_name": spec.get("first_name"),
        }


NOW = datetime(2026, 1, 2, 10, 0, tzinfo=timezone.utc)


def test_allocate_splits_cents_exactly():
    assert allocate(D("10.00"), [1, 1, 1]) == [D("3.34"), D("3.33"), D("3.33")]
    shares = allocate(D("7.01"), [D("10"), D("20"), D("30.50")])
    assert sum(shares) == D("7.01")
    assert allocate(D("-1.00"), [1, 1, 1]) == [D("-0.34"), D("-0.33"), D("-0.33")]
    assert allocate(D("1.00"), [0, 0]) == [D("0.50"), D("0.50")]


def test_prorate_is_cumulative():
    parts = [prorate(D("20.00"), 1, 3, already) for already in range(3)]
    assert sum(parts) == D("20.00")
    assert parts == [D("6.67"), D("6.66"), D("6.67")]


def test_order_totals_discount_split_and_tax():
    order = build_order(ORDER_SPEC, Ctx(), 1001, NOW)
    allocs = [li["discount_allocations"][0]["amount"] for li in order["line_items"]]
    assert allocs == ["3.34", "3.33", "3.33"]
    taxes = [li["tax_lines"][0]["price"] for li in order["line_items"]]
    # 6.66 * 0.21 = 1.3986 and 6.67 * 0.21 = 1.4007, rounded per line
    assert taxes == ["1.40", "1.40", "1.40"]
    assert order["line_items"][0]["tax_lines"][0]["rate"] == 0.21
    assert order["total_line_items_price"] == "30.00"
    assert order["subtotal_price"] == "20.00"
    assert order["total_discounts"] == "10.00"
    assert order["shipping_lines"][0]["tax_lines"][0]["price"] == "1.05"
    assert order["total_tax"] == "5.25"
    assert order["tax_lines"] == [
        {
            "title": "VAT",
            "price": "5.25",
            "rate": 0.21,
            "channel_liable": False,
            "price_set": order["total_tax_set"],
        }
    ]
    assert order["total_price"] == "30.25"
    assert order["total_price_set"]["shop_money"] == {
        "amount": "30.25",
        "currency_code": "EUR",
    }
    assert order["discount_codes"] == [
        {"code": "TENOFF", "amount": "10.00", "type": "fixed_amount"}
    ]
    # order-level allocations are not in line total_discount (Shopify quirk)
    assert order["line_items"][0]["total_discount"] == "0.00"
    assert order["name"] == "#1001" and order["order_number"] == 1001
    assert order["created_at"] == "2026-01-02T11:00:00+01:00"
    assert order["id"] > 2**32


def test_order_totals_taxes_included_and_percentage():
    spec = {
        "taxes_included": True,
        "lines": [
            {"sku": "A", "quantity": 2, "price": "60.50", "tax_rate": "0.21"},
            {"sku": "B", "quantity": 1, "price": "12.10", "tax_rate": "0.06"},
        ],
        "discount": {"type": "percentage", "value": "10"},
        "shipping": {"price": "6.05", "tax_rate": "0.21"},
    }
    order = build_order(spec, Ctx(), 1002, NOW)
    # base 133.10, 10% = 13.31 split 121.00 : 12.10 -> 12.10 / 1.21
    allocs = [li["discount_allocations"][0]["amount"] for li in order["line_items"]]
    assert allocs == ["12.10", "1.21"]
    taxes = [li["tax_lines"][0]["price"] for li in order["line_items"]]
    assert taxes == ["18.90", "0.62"]  # 108.90*0.21/1.21, 10.89*0.06/1.06
    assert order["subtotal_price"] == "119.79"
    assert order["total_tax"] == "20.57"  # + shipping 6.05*0.21/1.21 = 1.05
    assert order["total_price"] == "125.84"  # taxes already inside the prices
    assert order["discount_applications"][0]["value"] == "10.0"


def test_refund_amounts_and_current_totals():
    ctx = Ctx()
    order = build_order(ORDER_SPEC, ctx, 1001, NOW)
    sale = {"id": 1, "kind": "sale", "status": "success", "amount": "30.25"}
    line = order["line_items"][0]
    refund, restocks = build_refund(
        order,
        {
            "lines": [
                {"line_item_id": line["id"], "quantity": 1, "restock_type": "return"}
            ]
        },
        [sale],
        ctx.new_id,
        NOW,
        60,
    )
    rli = refund["refund_line_items"][0]
    assert rli["subtotal"] == 6.66 and rli["total_tax"] == 1.4
    assert rli["subtotal_set"]["shop_money"]["amount"] == "6.66"
    assert refund["transactions"][0]["amount"] == "8.06"
    assert refund["transactions"][0]["parent_id"] == 1
    assert restocks[0][1:3] == (1, "return")
    order["refunds"].append(refund)
    refresh_order_totals(order)
    assert order["current_total_price"] == "22.19"
    assert order["current_subtotal_price"] == "13.34"
    assert order["line_items"][0]["current_quantity"] == 0


def test_search_query_parsing():
    fields = {
        "updated_at": lambda r: r["updated_at"],
        "sku": lambda r: r["skus"],
        "status": lambda r: r["status"],
    }
    query = SearchQuery(
        "updated_at:>='2026-01-01T00:00:00Z' AND (sku:A* OR sku:B) -status:cancelled",
        fields,
    )
    rec = {
        "updated_at": datetime(2026, 1, 2, tzinfo=timezone.utc),
        "skus": ["ABC"],
        "status": "open",
    }
    assert query.matches(rec)
    assert not query.matches(dict(rec, status="cancelled"))
    assert not query.matches(dict(rec, skus=["C"]))
    assert not query.matches(
        dict(rec, updated_at=datetime(2025, 1, 1, tzinfo=timezone.utc))
    )
    odd = SearchQuery("nosuchfield:1 sku:B", fields)
    assert odd.warnings[0]["field"] == "nosuchfield"
    assert odd.matches(dict(rec, skus=["B"]))


def test_cursor_pagination():
    items = list(range(1, 8))
    page, has_next, has_prev = paginate(items, lambda i: (i,), first=3)
    assert page == [1, 2, 3] and has_next and not has_prev
    page, has_next, has_prev = paginate(
        items, lambda i: (i,), first=3, after=encode_cursor((3,))
    )
    assert page == [4, 5, 6] and has_next and has_prev
    page, _n, _p = paginate(items, lambda i: (i,), last=2, before=encode_cursor((4,)))
    assert page == [2, 3]
    page, _n, _p = paginate(items, lambda i: (i,), first=2, reverse=True)
    assert page == [7, 6]
    with pytest.raises(CursorError):
        paginate(items, lambda i: (i,), first=251)
    with pytest.raises(CursorError):
        paginate(items, lambda i: (i,), first=1, after="garbage")


def test_leaky_bucket():
    now = [0.0]
    bucket = LeakyBucket(40, 2, clock=lambda: now[0])
    assert all(bucket.try_consume(1) for _ in range(40))
    assert not bucket.try_consume(1)
    assert bucket.wait_time(1) == pytest.approx(0.5)
    now[0] += 1.0
    assert bucket.available == pytest.approx(2)
    assert bucket.try_consume(2) and not bucket.try_consume(1)
    bucket.refund(100)
    assert bucket.available == 40


def test_signing():
    body = b'{"id":1}'
    expected = base64.b64encode(
        hmac.new(b"secret", body, hashlib.sha256).digest()
    ).decode()
    assert sign("secret", body) == expected
    assert verify("secret", body, expected)
    assert not verify("other", body, expected)
    assert topic_to_rest("ORDERS_PARTIALLY_FULFILLED") == "orders/partially_fulfilled"
    assert topic_to_rest("refunds/create") == "refunds/create"


def test_query_cost():
    doc = parse(
        "query Q($n: Int) { shop { name } orders(first: $n) { edges { node { id "
        "totalPriceSet { shopMoney { amount } } lineItems(first: 5) { nodes { sku } } "
        "} } pageInfo { hasNextPage } } }"
    )
    op = find_operation(doc)
    # shop 1 + orders 2 + 10 * (node 1 + money 2 + lineItems (2 + 5*1))
    assert query_cost(SCHEMA, doc, op, {"n": 10}) == 1 + 2 + 10 * (1 + 2 + 7)
    data = {
        "shop": {"name": "x"},
        "orders": {
            "edges": [
                {
                    "node": {
                        "id": "1",
                        "totalPriceSet": {"shopMoney": {"amount": "1"}},
                        "lineItems": {"nodes": [{"sku": "A"}]},
                    }
                }
            ],
            "pageInfo": {"hasNextPage": False},
        },
    }
    assert query_cost(SCHEMA, doc, op, {"n": 10}, data) == 1 + 2 + (1 + 2 + 3)
    mutation = parse(
        'mutation { webhookSubscriptionDelete(id: "x") { userErrors { message } } }'
    )
    assert query_cost(SCHEMA, mutation, find_operation(mutation)) == 10


def test_fault_rules():
    faults = FaultInjector(known_systems={"shopify"})
    with pytest.raises(FaultError):
        faults.add({"system": "shopify", "match": "graphql", "kind": "nope"})
    with pytest.raises(FaultError):
        faults.add({"system": "wms", "match": "rest", "kind": "latency"})
    with pytest.raises(FaultError):
        faults.add({"match": "graphql", "kind": "duplicate_delivery"})
    rule = faults.add(
        {"system": "shopify", "match": "graphql", "kind": "http_status", "count": 2}
    )
    assert faults.match_request("shopify", {"rest"}, "/shopify/x/orders.json") is None
    assert faults.match_request("shopify", {"graphql"}, "/x") is rule
    assert faults.match_request("shopify", {"graphql"}, "/x") is rule
    assert faults.match_request("shopify", {"graphql"}, "/x") is None
    path_rule = faults.add({"match": r"/orders/\d+\.json$", "kind": "latency"})
    assert (
        faults.match_request(
            "shopify", {"rest"}, "/shopify/d/admin/api/2026-07/orders/12.json"
        )
        is path_rule
    )
    assert backoff_delay(3, DEFAULT_CONFIG) == 4.0


def test_line_discount_applies_before_order_discount():
    spec = {
        "lines": [
            {"sku": "A", "quantity": 2, "price": "19.99", "tax_rate": "0.21"},
            {
                "sku": "B",
                "quantity": 1,
                "price": "8.00",
                "tax_rate": "0.06",
                "discount": "1.00",
            },
        ],
        "discount": {"title": "Staff", "type": "percentage", "value": "15"},
    }
    order = build_order(spec, Ctx(), 1003, NOW)
    a, b = order["line_items"]
    # 15% of (39.98 + 7.00) = 7.05, split 6.00 / 1.05 by largest remainder
    assert [x["amount"] for x in a["discount_allocations"]] == ["6.00"]
    assert [x["amount"] for x in b["discount_allocations"]] == ["1.00", "1.05"]
    assert b["total_discount"] == "1.00"  # only the line-level discount
    assert a["tax_lines"][0]["price"] == "7.14"  # 33.98 * 0.21
    assert b["tax_lines"][0]["price"] == "0.36"  # 5.95 * 0.06
    assert order["total_discounts"] == "8.05"
    assert order["total_price"] == "47.43"  # 39.93 + 7.50 tax
    assert order["discount_codes"] == [
        {"code": "", "amount": "7.05", "type": "percentage"}
    ]
