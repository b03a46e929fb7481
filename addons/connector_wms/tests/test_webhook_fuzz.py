"""Hostile but correctly signed WMS webhooks, every event type of the
contract: never a 5xx, every body stored verbatim once per event id, every
failure a readable one-line error, no traceback (``WebhookFuzzMixin``)."""

import json

from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import WebhookFuzzMixin
from odoo.addons.integration_core.tools.signing import compute_signature

from .common import WMS_SECRET, WmsHttpCase
from .test_contract import receipt_event, shipment_event, snapshot_event


@tagged("post_install", "-at_install")
class TestWmsWebhookFuzz(WebhookFuzzMixin, WmsHttpCase):
    fuzz_bodies = 500

    def fuzz_samples(self):
        receipt = receipt_event()
        status = {
            "event_id": "evt-s",
            "event_type": "order.status",
            "occurred_at": "2026-12-01T10:00:00Z",
            "data": {"order_ref": "WH/OUT/00001", "status": "acknowledged"},
        }
        snapshot = snapshot_event(
            [
                {"sku": "CAP-BLUE", "quantity": 10},
                {"sku": "VIAL", "lot": "L7", "quantity": 3},
            ]
        )
        return [
            ("shipment.confirmed", shipment_event()),
            ("receipt.confirmed", receipt),
            ("order.status", status),
            ("stock.snapshot", snapshot),
        ]

    def fuzz_stamp(self, topic, body, n):
        """An event id of its own, so that no mutation hides as a duplicate."""
        return dict(json.loads(json.dumps(body)), event_id=f"evt-fuzz-{n}")

    def fuzz_headers(self, topic, body, n):
        return {
            "Content-Type": "application/json",
            "X-Integration-Signature": compute_signature(WMS_SECRET, body),
            "X-Integration-Event": topic,
        }

    def test_signed_garbage_is_stored_and_explained_never_a_5xx(self):
        messages = self.assert_fuzzed_webhooks_are_explained()
        self.assertGreaterEqual(len(messages), 480)
        self.assertTrue(messages.filtered(lambda m: m.error_category == "validation"))
