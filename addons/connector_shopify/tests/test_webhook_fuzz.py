"""Hostile but correctly signed Shopify webhooks, every topic: never a 5xx,
every body stored verbatim once per key, every failure a readable one-line
error, no traceback in the log (``WebhookFuzzMixin``)."""

import json

from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import WebhookFuzzMixin
from odoo.addons.integration_core.tools.signing import compute_signature

from .common import SHOP_SECRET, ShopifyHttpCase, order_spec


@tagged("post_install", "-at_install")
class TestShopifyWebhookFuzz(WebhookFuzzMixin, ShopifyHttpCase):
    fuzz_bodies = 520

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # What is under test is reading the body: quotations are enough.
        cls.backend.shopify_confirm_policy = "never"

    def fuzz_samples(self):
        """One valid body per topic, as the sandbox's shop sends them."""
        order = self.shop.create_order(order_spec())
        refund = self.shop.refund(
            order["id"],
            {"lines": [{"sku": "MUG-WHITE", "quantity": 1, "restock_type": "cancel"}]},
        )
        cancelled = self.shop.cancel_order(
            self.shop.create_order(order_spec())["id"], reason="customer"
        )
        return [
            ("orders/create", order),
            ("orders/updated", order),
            ("orders/cancelled", cancelled),
            ("refunds/create", refund),
        ]

    def fuzz_stamp(self, topic, body, n):
        """Ids of its own: a mutation elsewhere must be processed, not
        counted as a duplicate of the valid body."""
        body = json.loads(json.dumps(body))
        body["id"] = 9_000_000 + n
        if topic.startswith("refunds/"):
            body["order_id"] = 8_000_000 + n
        return body

    def fuzz_headers(self, topic, body, n):
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": compute_signature(SHOP_SECRET, body),
            "X-Shopify-Webhook-Id": f"fuzz-{n}",
            "X-Shopify-Shop-Domain": "demo.myshopify.com",
        }

    def test_signed_garbage_is_stored_and_explained_never_a_5xx(self):
        messages = self.assert_fuzzed_webhooks_are_explained()
        self.assertGreaterEqual(len(messages), 500)
        # the generator reached both outcomes: orders read, bodies refused
        self.assertTrue(messages.filtered(lambda m: m.state == "done"))
        self.assertTrue(messages.filtered(lambda m: m.error_category == "validation"))
