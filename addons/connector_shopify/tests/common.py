"""Shared set-up of the Shopify tests: the repository's sandbox (a Shopify
simulator speaking the Admin GraphQL/REST API and sending signed webhooks)
in a background thread, a backend pointing at it, taxes and products."""

import json
import unittest

# (importing the core's test common puts the repository on sys.path)
from odoo.addons.integration_core.tests.common import (
    FAST_WEBHOOKS,
    IntegrationCase,
    IntegrationHttpCase,
)

try:
    from sandbox.shopify import specs
    from sandbox.testing import RunningSandbox
except ImportError:  # pragma: no cover - the sandbox ships with the repository
    RunningSandbox = specs = None

SHOP_TOKEN = "shpat_sandbox"
SHOP_SECRET = "sandbox-webhook-secret"
SKUS = ("TSHIRT-RED-XL", "MUG-WHITE", "CAP-BLUE")


def order_spec(**values):
    """A sandbox order: 2 T-shirts at 19.99 and a mug at 8.00 (21% VAT),
    10.00 off the order, 4.95 standard shipping (21% VAT), paid."""
    spec = specs.order_spec(
        specs.customer("ann@example.com", "Ann", "Lee"),
        [("TSHIRT-RED-XL", 2, "19.99"), ("MUG-WHITE", 1, "8.00")],
        discount="10.00",
    )
    spec.update(values)
    return spec


class ShopifyMixin:
    """A running sandbox, reset before each test, and a Shopify backend."""

    @classmethod
    def setup_shopify(cls):
        if RunningSandbox is None:
            raise unittest.SkipTest("the sandbox package is not importable")
        cls.sandbox = RunningSandbox(webhook_config=FAST_WEBHOOKS)
        cls.sandbox.start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.shop = cls.sandbox.shopify("demo")
        env = cls.env
        env.ref("base.EUR").active = True
        cls.warehouse = env["stock.warehouse"].search(
            [("company_id", "=", env.company.id)], limit=1
        )
        cls.backend = (
            env["integration.backend"]
            .sudo()
            .create(
                {
                    "name": "Shopify test",
                    "connector_type": "shopify",
                    "base_url": cls.shop.base_url,
                    "api_key": SHOP_TOKEN,
                    "webhook_secret": SHOP_SECRET,
                    "max_attempts": 3,
                    "retry_base_seconds": 1,
                    "rate_limit": 0,
                    "timeout_seconds": 10,
                    "shopify_warehouse_id": cls.warehouse.id,
                }
            )
        )
        cls.tax_21 = cls._sale_tax(21.0)
        cls.tax_6 = cls._sale_tax(6.0)
        cls.products = {
            sku: env["product.product"].create(
                {
                    "name": sku.replace("-", " ").title(),
                    "default_code": sku,
                    "type": "product",
                    "list_price": 1.0,
                    "invoice_policy": "order",
                }
            )
            for sku in SKUS
        }

    @classmethod
    def put_in_stock(cls, quantity):
        """``quantity`` of every test product in the warehouse's stock."""
        stock = cls.warehouse.lot_stock_id
        for product in cls.products.values():
            cls.env["stock.quant"]._update_available_quantity(product, stock, quantity)

    @classmethod
    def _sale_tax(cls, percent, included=False):
        return cls.env["account.tax"].create(
            {
                "name": f"Test VAT {percent}%{' incl.' if included else ''}",
                "amount": percent,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "price_include": included,
                "sequence": 1,
                "company_id": cls.env.company.id,
            }
        )

    def setUp(self):
        super().setUp()
        self.sandbox.reset(webhooks=FAST_WEBHOOKS)
        self.addCleanup(self.sandbox.clear_faults)

    # -- helpers -------------------------------------------------------------
    def messages(self, **domain):
        return self.env["integration.message"].search(
            [("backend_id", "=", self.backend.id)]
            + [(k, "=", v) for k, v in domain.items()],
            order="id",
        )

    def sale_of(self, shopify_order):
        return self.env["integration.binding"]._find(
            self.backend, "sale.order", shopify_order["id"]
        )

    def intake_order(self, order, topic="orders/create", backend=None):
        """Intake an order body the way the webhook does (same key)."""
        backend = backend or self.backend
        return self.env["integration.message"]._intake_webhook(
            backend,
            {"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": "w"},
            json.dumps(order).encode(),
        )

    def process_all(self, trap):
        """Run the trapped jobs (messages, retries) until none is left."""
        return self.perform_jobs(trap)


def deliver(picking, quantities=None):
    """Ship ``picking``: all of it, or ``{product: quantity}`` (the rest as a
    backorder)."""
    picking.action_assign()
    for move in picking.move_ids:
        quantity = move.product_uom_qty
        if quantities is not None:
            quantity = quantities.get(move.product_id, 0)
        move.quantity = quantity
        move.picked = True
    picking.with_context(skip_backorder=False)._action_done()
    return picking


class ShopifyCase(ShopifyMixin, IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shopify()


class ShopifyHttpCase(ShopifyMixin, IntegrationHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_shopify()
        cls.env["ir.config_parameter"].sudo().set_param("web.base.url", cls.base_url())

    def webhook_url(self):
        return f"{self.base_url()}/integration/webhook/{self.backend.id}"

    def subscribe_all(self):
        for topic in ("orders/create", "orders/updated", "orders/cancelled"):
            self.shop.subscribe(topic, self.webhook_url())
        self.shop.subscribe("refunds/create", self.webhook_url())
