"""The demo seed of ``make run``: repeatable, and matching what Odoo's demo
data expects (token, secret, SKUs)."""

from sandbox import demo


def test_seed_is_repeatable_and_orders_use_known_and_unknown_skus(sandbox):
    shop = demo.seed_shopify(sandbox.url)
    demo.seed_shopify(sandbox.url)  # every start seeds again: nothing doubles
    levels = shop.inventory()
    assert sorted(level["sku"] for level in levels) == sorted(demo.PRODUCTS)
    assert shop.info()["access_token"] == demo.ACCESS_TOKEN
    orders = demo.demo_orders(shop)
    assert [order["financial_status"] for order in orders] == [
        "paid",
        "pending",
        "paid",
    ]
    skus = {line["sku"] for order in orders for line in order["line_items"]}
    assert skus - set(demo.PRODUCTS) == {"HOODIE-GREY-M"}
