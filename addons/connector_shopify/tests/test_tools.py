"""The connector's plain-Python pieces, without Odoo."""

from datetime import datetime
from decimal import Decimal

import pytest

from ..tools import graphql, money, order_mapping, pagination, refund_mapping, stock
from ..tools.dates import parse_datetime, version_key

D = Decimal


def _money(amount, currency="EUR"):
    return {
        "shop_money": {"amount": amount, "currency_code": currency},
        "presentment_money": {"amount": amount, "currency_code": currency},
    }


def _order(**values):
    order = {
        "id": 5001,
        "name": "#1042",
        "updated_at": "2026-07-01T12:00:00+01:00",
        "created_at": "2026-07-01T11:59:00+01:00",
        "currency": "EUR",
        "taxes_included": False,
        "financial_status": "paid",
        "email": "ann@example.com",
        "total_price": "44.37",
        "customer": {"id": 77, "email": "ann@example.com", "first_name": "Ann"},
        "line_items": [
            {
                "id": 1,
                "sku": "TSHIRT-RED-XL",
                "name": "T-shirt",
                "quantity": 2,
                "price": "19.99",
                "tax_lines": [{"title": "VAT", "rate": 0.21, "price": "6.40"}],
                "discount_allocations": [{"amount": "9.52"}],
            },
            {
                "id": 2,
                "sku": None,
                "title": "Gift wrap",
                "quantity": 1,
                "price": "2.00",
                "tax_lines": [],
                "discount_allocations": [{"amount": "0.48"}],
            },
        ],
        "shipping_lines": [
            {
                "id": 9,
                "title": "Standard",
                "code": "STD",
                "price": "4.95",
                "tax_lines": [{"title": "VAT", "rate": 0.21, "price": "1.04"}],
            }
        ],
    }
    order.update(values)
    return order


def test_money_is_decimal_and_prefers_shop_money():
    assert money.to_decimal("199.00") == D("199.00")
    assert money.to_decimal(195.66) == D("195.66")  # refund lines are numbers
    assert money.to_decimal(None) == 0
    item = {"price": "1.00", "price_set": _money("0.90")}
    assert money.shop_amount(item, "price") == D("0.90")
    assert money.shop_amount({"price": "1.00"}, "price") == D("1.00")
    assert money.cents(D("2.345")) == D("2.35")
    with pytest.raises(ValueError):
        money.to_decimal("abc")


def test_exact_discount_percent():
    # 2 x 19.99 = 39.98 less 9.52 -> 30.46: a two-decimal percentage exists
    percent = money.exact_discount_percent(D("19.99"), 2, D("30.46"))
    assert percent is not None
    assert money.cents(D("39.98") * (1 - percent / 100)) == D("30.46")
    assert money.exact_discount_percent(D("10"), 1, D("10.00")) == 0
    # 699.95 less 113.50: no two-decimal percentage lands on 586.45 ...
    assert money.exact_discount_percent(D("699.95"), 1, D("586.45")) is None
    # ... but one with six decimals does
    assert money.exact_discount_percent(D("699.95"), 1, D("586.45"), digits=6)


def test_dates_are_naive_utc_and_version_keys_agree():
    assert parse_datetime("2026-07-01T12:00:00+01:00") == datetime(2026, 7, 1, 11)
    assert parse_datetime("2026-07-01T11:00:00Z") == datetime(2026, 7, 1, 11)
    assert parse_datetime(None) is None
    assert version_key("2026-07-01T12:00:00+01:00") == version_key(
        "2026-07-01T11:00:00Z"
    )


def test_parse_order_lines_discounts_taxes_shipping():
    order = order_mapping.parse_order(_order())
    assert order["name"] == "#1042"
    assert order["version"] == "2026-07-01T11:00:00Z"
    shirt, wrap = order["lines"]
    assert shirt["sku"] == "TSHIRT-RED-XL"
    assert shirt["gross"] == D("39.98")
    assert shirt["discount"] == D("9.52")
    assert shirt["net"] == D("30.46")
    assert shirt["taxes"] == [{"title": "VAT", "rate": D("0.21"), "amount": D("6.40")}]
    assert wrap["sku"] == "" and wrap["title"] == "Gift wrap"
    (shipping,) = order["shipping_lines"]
    assert shipping["net"] == D("4.95")
    figures = order_mapping.payload_figures(order)
    assert figures == {"untaxed": D("36.93"), "tax": D("7.44"), "total": D("44.37")}
    assert order["customer"]["id"] == "77"


def test_line_discount_from_allocations_not_total_discount():
    data = _order()
    data["line_items"][0]["total_discount"] = "0.00"  # order-level discounts
    assert order_mapping.parse_order(data)["lines"][0]["discount"] == D("9.52")
    del data["line_items"][0]["discount_allocations"]
    data["line_items"][0]["total_discount"] = "1.00"  # older API shape
    assert order_mapping.parse_order(data)["lines"][0]["discount"] == D("1.00")


def test_parse_order_rejects_what_no_order_can_be_made_of():
    with pytest.raises(order_mapping.OrderDataError):
        order_mapping.parse_order({"name": "#1"})
    with pytest.raises(order_mapping.OrderDataError):
        order_mapping.parse_order(_order(line_items=[]))


def test_explain_total_difference():
    order = order_mapping.parse_order(_order())
    assert order_mapping.explain_total_difference(order, 36.93, 7.44, 44.37) is None
    text = order_mapping.explain_total_difference(order, 36.93, 7.45, 44.38)
    assert "by +0.01" in text and "taxes differ" in text
    broken = order_mapping.parse_order(_order(total_price="40.00"))
    text = order_mapping.explain_total_difference(broken, 36.93, 7.44, 44.37)
    assert "total_price says 40.00" in text


def test_tax_code():
    assert order_mapping.tax_code("VAT", 0.21) == "VAT 21%"
    assert order_mapping.tax_code("County tax", 0.025) == "County tax 2.5%"


def test_parse_refund_numbers_and_negative_adjustments():
    refund = refund_mapping.parse_refund(
        {
            "id": 11,
            "order_id": 5001,
            "refund_line_items": [
                {
                    "line_item_id": 1,
                    "quantity": 1,
                    "restock_type": "return",
                    "location_id": 3,
                    "subtotal": 15.23,
                    "subtotal_set": _money("15.23"),
                    "total_tax": 3.2,
                    "total_tax_set": _money("3.20"),
                }
            ],
            "order_adjustments": [
                {"kind": "shipping_refund", "amount": "-4.95", "tax_amount": "-1.04"}
            ],
            "transactions": [
                {"kind": "refund", "status": "success", "amount": "24.42"}
            ],
        }
    )
    (line,) = refund["lines"]
    assert line["subtotal"] == D("15.23") and line["tax"] == D("3.20")
    assert refund["shipping"][0]["amount"] == D("4.95")
    assert refund["refunded_amount"] == D("24.42")
    assert refund_mapping.refund_figures(refund)["total"] == D("24.42")
    with pytest.raises(refund_mapping.RefundDataError):
        refund_mapping.parse_refund({"id": 1})


def test_link_header():
    header = (
        '<https://s/admin/api/2026-07/orders.json?limit=50&page_info=abc>; rel="next", '
        "<https://s/admin/api/2026-07/orders.json?limit=50&page_info=xyz>; "
        'rel="previous"'
    )
    links = pagination.parse_link_header(header)
    assert links["next"].endswith("page_info=abc")
    assert links["previous"].endswith("page_info=xyz")
    assert pagination.next_page_url(None) is None
    assert pagination.next_page_url('<https://s/x?page_info=1>; rel="previous"') is None


def test_graphql_helpers():
    assert graphql.gid("Location", 5) == "gid://shopify/Location/5"
    assert graphql.gid("Location", "gid://shopify/Location/5").endswith("/5")
    assert graphql.legacy_id("gid://shopify/LineItem/42") == "42"
    assert graphql.topic_enum("orders/create") == "ORDERS_CREATE"
    query, variables = graphql.variants_by_sku(["A-1", "B 2"])
    assert variables["query"] == 'sku:A-1 OR sku:"B 2"'
    assert "productVariants" in query
    chunks = list(graphql.chunked(range(600), 250))
    assert [len(c) for c in chunks] == [250, 250, 100]


def test_inventory_set_input_guards_and_limits():
    variables = graphql.inventory_set_input(
        [
            {"inventory_item_id": 1, "location_id": 2, "quantity": 7, "previous": 10},
            {"inventory_item_id": 3, "location_id": 2, "quantity": 0, "previous": None},
        ],
        reference="gid://odoo/x/1",
    )
    first, second = variables["input"]["quantities"]
    assert first["changeFromQuantity"] == 10
    assert "changeFromQuantity" in second and second["changeFromQuantity"] is None
    assert variables["input"]["referenceDocumentUri"] == "gid://odoo/x/1"
    with pytest.raises(ValueError):
        graphql.inventory_set_input([{}] * 251)
    errors = [
        {
            "code": "CHANGE_FROM_QUANTITY_STALE",
            "field": ["input", "quantities", "1", "changeFromQuantity"],
        },
        {"code": "INVALID_LOCATION", "field": ["input", "quantities", "0"]},
    ]
    assert graphql.stale_indexes(errors) == {1}


def test_check_response_and_throttling():
    assert graphql.check_response({"data": {"shop": {"name": "x"}}}) == {
        "shop": {"name": "x"}
    }
    throttled = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": 502,
                "throttleStatus": {"currentlyAvailable": 2, "restoreRate": 50},
            }
        },
    }
    with pytest.raises(graphql.GraphQLProblem) as caught:
        graphql.check_response(throttled)
    assert caught.value.throttled and caught.value.retry_after >= 10


def test_plan_fulfillment_partial_and_only_open_orders():
    fulfillment_orders = [
        {
            "id": "gid://shopify/FulfillmentOrder/1",
            "status": "CLOSED",
            "lineItems": {"nodes": []},
        },
        {
            "id": "gid://shopify/FulfillmentOrder/2",
            "status": "OPEN",
            "lineItems": {
                "nodes": [
                    {
                        "id": "gid://shopify/FulfillmentOrderLineItem/21",
                        "remainingQuantity": 2,
                        "lineItem": {"id": "gid://shopify/LineItem/100"},
                    },
                    {
                        "id": "gid://shopify/FulfillmentOrderLineItem/22",
                        "remainingQuantity": 1,
                        "lineItem": {"id": "gid://shopify/LineItem/101"},
                    },
                ]
            },
        },
    ]
    plan, missing = graphql.plan_fulfillment(fulfillment_orders, {"100": 1, "102": 3})
    assert plan == [
        (
            "gid://shopify/FulfillmentOrder/2",
            [("gid://shopify/FulfillmentOrderLineItem/21", 1)],
        )
    ]
    assert missing == {"102": 3}
    variables = graphql.fulfillment_input(plan, {"number": "1Z", "company": None})
    assert variables["fulfillment"]["trackingInfo"] == {"number": "1Z"}


def test_stock_plan_only_changes():
    changes = stock.plan_changes({"a": 5, "b": 3, "c": -2}, {"a": 5, "b": 4})
    assert changes == [("b", 3, 4), ("c", 0, None)]
    assert stock.sellable_quantity(7.0, 2.0) == 5
    assert stock.sellable_quantity(1.0, 3.0) == 0


def test_state_digest_sees_content_not_delivery_path():
    data = _order()
    digest = order_mapping.state_digest(data)
    assert order_mapping.parse_order(data)["digest"] == digest
    assert order_mapping.state_digest(dict(data, tags="x")) == digest
    assert order_mapping.state_digest(dict(data, financial_status="refunded")) != digest
    assert order_mapping.state_digest(dict(data, refunds=[{"id": 3}])) != digest


def test_tax_amounts_inconsistent_with_their_rates_are_named():
    data = _order()
    data["line_items"][0]["tax_lines"][0]["price"] = "3.98"  # not 21% of 30.46
    data["total_price"] = "41.95"
    order = order_mapping.parse_order(data)
    (found,) = order_mapping.inconsistent_tax_lines(order)
    assert found[2] == D("6.40")
    text = order_mapping.explain_total_difference(order, 36.93, 7.44, 44.37)
    assert "not its rates" in text and "TSHIRT-RED-XL" in text


def test_fulfillment_of_tracking_skips_cancelled_and_other_numbers():
    fulfillments = [
        {"id": "gid://F/1", "status": "CANCELLED", "trackingInfo": [{"number": "A"}]},
        {"id": "gid://F/2", "status": "SUCCESS", "trackingInfo": [{"number": "B"}]},
        {"id": "gid://F/3", "status": "SUCCESS", "trackingInfo": [{"number": "A"}]},
    ]
    assert graphql.fulfillment_of_tracking(fulfillments, ["A"]) == "gid://F/3"
    assert graphql.fulfillment_of_tracking(fulfillments, ["C", "B"]) == "gid://F/2"
    assert graphql.fulfillment_of_tracking(fulfillments, ["Z"]) is None
    # no tracking number: nothing to recognise a fulfillment by
    assert graphql.fulfillment_of_tracking(fulfillments, [None]) is None
    assert graphql.fulfillment_of_tracking(None, ["A"]) is None
