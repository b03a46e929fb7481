"""The demo's external side: what ``make run`` puts in a fresh sandbox.

The sandbox keeps its state in memory, so every start of the run command seeds
it again, matching the demo data of the connectors (``addons/*/demo``):

* a Shopify shop ``demo`` (credentials and SKUs of ``connector_shopify``);
* the WMS warehouse ``WEB`` of the web shop's warehouse, which ships each released
  order on its own after ``AUTO_SHIP_SECONDS`` (packages without tracking
  numbers: Odoo buys the labels), except the orders of caps, which it
  refuses (``REFUSED_AT_WMS``: on quality hold);
* the carrier account ``demo``, whose parcels walk to delivered on their own
  (signed by the recipient), except to a street containing ``Nowhere``
  (address not found);
* the bank ``demo`` with the company's account, whose payer pays every posted
  customer invoice by its reference within seconds, except the customer of
  ``WRONG_REFERENCES``, who writes a text of their own.

Orders are only created on request (``demo_orders``): the run command does it
once, when the demo Shopify backend has received nothing yet.
"""

from .carrier.control import CarrierControl
from .shopify import specs
from .testing import SandboxClient
from .wms.control import WmsControl

SHOP = "demo"
ACCESS_TOKEN = "shpat_demo"
WEBHOOK_SECRET = "sandbox-shopify-secret"
# SKU -> (title, price): the internal references of the demo products in Odoo
PRODUCTS = {
    "TSHIRT-RED-XL": ("T-shirt red XL", "19.99"),
    "MUG-WHITE": ("Mug white", "8.00"),
    "CAP-BLUE": ("Cap blue", "12.50"),
}
# SKUs the shop sells that Odoo does not know (the demo's mapping exception)
UNKNOWN_TITLES = {"HOODIE-GREY-M": "Hoodie grey M"}
TAX_RATE = "0.15"  # the sales tax of Odoo's generic demo chart

WAREHOUSE = "WEB"  # the code of the web shop's warehouse in Odoo
WMS_SECRET = "sandbox-wms-secret"
AUTO_SHIP_SECONDS = 10
# SKUs the 3PL refuses to ship (it holds the WMS's stock, the system of record
# of the stock: Odoo's stock of them stays as it is)
REFUSED_AT_WMS = {"CAP-BLUE": "CAP-BLUE is on quality hold at the warehouse"}
CARRIER_ACCOUNT = "demo"
CARRIER_SECRET = "sandbox-carrier-secret"
# The first tracking step after WALK_DELAY seconds (once Odoo has told Shopify
# of the shipment), then one every WALK_INTERVAL: delivered 5 steps later.
WALK_DELAY = 20
WALK_INTERVAL = 4
UNDELIVERABLE = "Nowhere"  # a street the carrier cannot find
BANK = "demo"
BANK_TOKEN = "sandbox-bank-token"
IBAN = "BE71096123456769"
PAYER_INTERVAL = 5
WRONG_REFERENCES = {"Dan Wouters": "Payment for my t-shirt and mugs, thanks"}


def seed_shopify(base_url):
    """Configure the demo shop and its catalog; returns its ShopifyControl."""
    shop = SandboxClient(base_url).shopify(SHOP)
    shop.configure(access_token=ACCESS_TOKEN, webhook_secret=WEBHOOK_SECRET)
    known = {level.get("sku") for level in shop.inventory()}
    for sku, (title, price) in PRODUCTS.items():
        if sku not in known:
            shop.create_product(title=title, sku=sku, price=price, inventory=20)
    return shop


def seed_wms(base_url, webhook_url, stock):
    """The WMS warehouse: its webhook, shipping on its own (but refusing the
    orders of ``REFUSED_AT_WMS``), and ``stock`` (``{sku: quantity}``,
    Odoo's)."""
    wms = WmsControl(SandboxClient(base_url), WAREHOUSE)
    wms.configure(
        webhook_url=webhook_url,
        webhook_secret=WMS_SECRET,
        auto_ship_seconds=AUTO_SHIP_SECONDS,
        own_labels=False,
        refuse_skus=REFUSED_AT_WMS,
    )
    wms.set_stock(
        [
            {"sku": sku, "quantity": quantity}
            for sku, quantity in sorted(stock.items())
            if quantity > 0
        ],
        replace=True,
    )
    return wms


def seed_carrier(base_url, webhook_url):
    """The carrier account: its webhook (once) and parcels walking on their
    own."""
    carrier = CarrierControl(SandboxClient(base_url), CARRIER_ACCOUNT)
    carrier.configure(
        auto_walk={
            "walk": "delivered",
            "delay": WALK_DELAY,
            "interval": WALK_INTERVAL,
            "by_street": {UNDELIVERABLE: "failure"},
        }
    )
    hooks = carrier.api("GET", "webhooks").json()["webhooks"]
    if not any(hook["url"] == webhook_url for hook in hooks):
        response = carrier.api(
            "POST",
            "webhooks",
            json={"webhook": {"url": webhook_url, "webhook_secret": CARRIER_SECRET}},
        )
        assert response.status_code == 201, response.text
    return carrier


def seed_bank(base_url, currency, odoo_url, db, login, password):
    """The bank: the company's account and the payer of Odoo's invoices."""
    bank = SandboxClient(base_url).bank(BANK)
    bank.create_account(IBAN, currency, "Current account")
    bank.set_payer(
        IBAN,
        odoo_url,
        db,
        login,
        password,
        interval=PAYER_INTERVAL,
        references=WRONG_REFERENCES,
    )
    return bank


def _customer(email, first_name, last_name, street=None):
    buyer = specs.customer(email, first_name, last_name)
    if street:
        buyer["default_address"]["address1"] = street
    return buyer


def demo_orders(shop):
    """Paid orders that travel to paid on their own, an order awaiting
    payment and one stuck at each kind of exception: a SKU Odoo does not know
    (mapping), caps the WMS refuses to ship, an address the carrier
    cannot find (delivery failure), a payment with a wrong reference (a
    candidate to confirm)."""
    ann = _customer("ann.peeters@example.com", "Ann", "Peeters")
    bob = _customer("bob.martin@example.com", "Bob", "Martin")
    carla = _customer(
        "carla.janssens@example.com", "Carla", "Janssens", "404 Nowhere Lane"
    )
    dan = _customer("dan.wouters@example.com", "Dan", "Wouters")
    eva = _customer("eva.claes@example.com", "Eva", "Claes")
    fien = _customer("fien.dubois@example.com", "Fien", "Dubois")
    gert = _customer("gert.lambert@example.com", "Gert", "Lambert")
    orders = [
        (ann, [("TSHIRT-RED-XL", 2, "19.99"), ("MUG-WHITE", 1, "8.00")], "paid"),
        (bob, [("CAP-BLUE", 3, "12.50")], "pending"),
        (ann, [("HOODIE-GREY-M", 1, "39.00"), ("MUG-WHITE", 2, "8.00")], "paid"),
        (eva, [("MUG-WHITE", 4, "8.00")], "paid"),
        (carla, [("TSHIRT-RED-XL", 1, "19.99")], "paid"),
        (fien, [("TSHIRT-RED-XL", 1, "19.99"), ("MUG-WHITE", 2, "8.00")], "paid"),
        (dan, [("TSHIRT-RED-XL", 1, "19.99"), ("MUG-WHITE", 3, "8.00")], "paid"),
        (gert, [("CAP-BLUE", 2, "12.50"), ("MUG-WHITE", 1, "8.00")], "paid"),
        (eva, [("TSHIRT-RED-XL", 3, "19.99")], "paid"),
    ]
    created = []
    for buyer, lines, status in orders:
        spec = specs.order_spec(
            buyer, lines, tax_rate=TAX_RATE, financial_status=status, currency="USD"
        )
        for line in spec["lines"]:
            if line["sku"] in UNKNOWN_TITLES:  # Shopify names its items
                line["title"] = UNKNOWN_TITLES[line["sku"]]
        created.append(shop.create_order(spec))
    return created
