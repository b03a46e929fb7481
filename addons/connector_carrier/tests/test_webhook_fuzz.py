"""Hostile but correctly signed carrier webhooks (``tracker.updated``
Events): never a 5xx, every body stored verbatim once per event id, every
failure a readable one-line error, no traceback (``WebhookFuzzMixin``)."""

import json

from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import WebhookFuzzMixin

from ..tools import easypost as ep
from .common import SECRET, CarrierHttpCase


@tagged("post_install", "-at_install")
class TestCarrierWebhookFuzz(WebhookFuzzMixin, CarrierHttpCase):
    fuzz_bodies = 300

    def fuzz_samples(self):
        shipment = self.ship().carrier_shipment_ids[:1]
        tracker = self.advance(shipment, status="in_transit")
        return [("tracker.updated", json.loads(self.event_body(tracker)))]

    def fuzz_stamp(self, topic, body, n):
        return dict(json.loads(json.dumps(body)), id=f"evt_fuzz_{n}")

    def fuzz_headers(self, topic, body, n):
        return {
            "Content-Type": "application/json",
            ep.SIGNATURE_HEADER: ep.signature(SECRET, body),
        }

    def test_signed_garbage_is_stored_and_explained_never_a_5xx(self):
        messages = self.assert_fuzzed_webhooks_are_explained()
        self.assertGreaterEqual(len(messages), 290)
