"""The demo's external side: what ``make run`` puts in a fresh sandbox.

The sandbox keeps its state in memory, so every start of the run command seeds
it again: a Shopify shop ``demo`` whose credentials and SKUs match the demo
data of ``connector_shopify`` (``addons/connector_shopify/demo``). Orders are
only created on request (``demo_orders``): the run command does it once, when
it has just created the demo database.
"""

from .shopify import specs
from .testing import SandboxClient

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


def seed_shopify(base_url):
    """Configure the demo shop and its catalog; returns its ShopifyControl."""
    shop = SandboxClient(base_url).shopify(SHOP)
    shop.configure(access_token=ACCESS_TOKEN, webhook_secret=WEBHOOK_SECRET)
    known = {level.get("sku") for level in shop.inventory()}
    for sku, (title, price) in PRODUCTS.items():
        if sku not in known:
            shop.create_product(title=title, sku=sku, price=price, inventory=20)
    return shop


def demo_orders(shop):
    """A paid order, an order awaiting payment and one with a SKU that Odoo
    does not know (a mapping exception on the desk)."""
    ann = specs.customer("ann.peeters@example.com", "Ann", "Peeters")
    bob = specs.customer("bob.martin@example.com", "Bob", "Martin")
    orders = [
        (ann, [("TSHIRT-RED-XL", 2, "19.99"), ("MUG-WHITE", 1, "8.00")], "paid"),
        (bob, [("CAP-BLUE", 3, "12.50")], "pending"),
        (ann, [("HOODIE-GREY-M", 1, "39.00"), ("MUG-WHITE", 2, "8.00")], "paid"),
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
