"""The demo seed of ``make run``: repeatable, and matching what Odoo's demo
data expects (token, secret, SKUs)."""

from sandbox import demo
from sandbox.carrier.control import CarrierControl
from sandbox.wms.control import WmsControl


def test_seed_is_repeatable_and_orders_use_known_and_unknown_skus(sandbox):
    shop = demo.seed_shopify(sandbox.url)
    demo.seed_shopify(sandbox.url)  # every start seeds again: nothing doubles
    levels = shop.inventory()
    assert sorted(level["sku"] for level in levels) == sorted(demo.PRODUCTS)
    assert shop.info()["access_token"] == demo.ACCESS_TOKEN
    orders = demo.demo_orders(shop)
    statuses = [order["financial_status"] for order in orders]
    assert statuses.count("pending") == 1
    assert statuses.count("paid") == len(orders) - 1
    skus = {line["sku"] for order in orders for line in order["line_items"]}
    assert skus - set(demo.PRODUCTS) == {"HOODIE-GREY-M"}
    # one order to a street the carrier cannot find
    streets = [order["shipping_address"]["address1"] for order in orders]
    assert sum(demo.UNDELIVERABLE in street for street in streets) == 1


def test_wms_carrier_and_bank_seeds_are_repeatable(sandbox):
    stock = {"MUG-WHITE": 60, "CAP-BLUE": 25, "TSHIRT-RED-XL": 0}
    for _start in range(2):
        demo.seed_wms(sandbox.url, "http://odoo.invalid/hook/1", stock)
        demo.seed_carrier(sandbox.url, "http://odoo.invalid/hook/2")
        bank = demo.seed_bank(
            sandbox.url, "USD", "http://odoo.invalid", "db", "admin", "admin"
        )
    wms = WmsControl(sandbox, demo.WAREHOUSE)
    state = wms.state()
    assert state["auto_ship_seconds"] == demo.AUTO_SHIP_SECONDS
    assert state["refuse_skus"] == demo.REFUSED_AT_WMS and not state["own_labels"]
    assert sorted((x["sku"], x["quantity"]) for x in wms.stock()) == [
        ("CAP-BLUE", 25),
        ("MUG-WHITE", 60),
    ]
    carrier = CarrierControl(sandbox, demo.CARRIER_ACCOUNT)
    assert carrier.state()["webhooks"] == 1
    assert carrier.state()["auto_walk"]["by_street"] == {demo.UNDELIVERABLE: "failure"}
    assert bank.state()["accounts"] == {demo.IBAN: 0}
    bank.stop_payer()
