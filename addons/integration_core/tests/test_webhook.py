"""Webhook intake through real HTTP: signature, limits, storage, duplicates."""

import json

from odoo.tests import tagged

from ..tools.signing import SIGNATURE_HEADER
from .common import IntegrationHttpCase, trapped_jobs


@tagged("post_install", "-at_install")
class TestWebhookIntake(IntegrationHttpCase):
    def messages(self):
        return self.env["integration.message"].search(
            [("backend_id", "=", self.backend.id)]
        )

    def test_signed_request_is_stored_verbatim_and_processed_in_a_job(self):
        body = '{"id": 60,  "name": "Mia"}'  # odd spacing must survive
        with trapped_jobs() as trap:
            response = self.post_webhook(body, **{"X-Correlation-Id": "corr-60"})
            self.assertEqual(response.status_code, 200, response.text)
            reply = response.json()
            self.assertFalse(reply["duplicate"])
            message = self.messages()
            self.assertEqual(message.id, reply["message_id"])
            self.assertEqual(message.payload, body)
            self.assertEqual(message.state, "received", "work happens in the job")
            self.assertEqual(message.correlation_id, "corr-60")
            self.assertEqual(
                json.loads(message.headers)["X-Integration-Topic"], "partner.upsert"
            )
            trap.assert_jobs_count(1)
            self.perform_jobs(trap)
        self.assertEqual(message.state, "done")

    def test_bad_or_missing_signature_is_401_and_stores_nothing(self):
        with self.assertLogs(
            "odoo.addons.integration_core.controllers.webhook", level="WARNING"
        ) as logs:
            bad = self.post_webhook(
                {"id": 61, "name": "x"}, headers={SIGNATURE_HEADER: "Zm9v"}
            )
            missing = self.post_webhook({"id": 62, "name": "x"}, sign=False)
            again = self.post_webhook({"id": 63, "name": "x"}, sign=False)
        self.assertEqual(
            [bad.status_code, missing.status_code, again.status_code], [401, 401, 401]
        )
        self.assertFalse(self.messages())
        self.assertEqual(len(logs.output), 1, "warnings are rate limited")

    def test_unknown_or_archived_backend_is_404(self):
        self.backend.active = False
        self.assertEqual(self.post_webhook({"id": 64, "name": "x"}).status_code, 404)
        response = self.url_open("/integration/webhook/999999", data=b"{}")
        self.assertEqual(response.status_code, 404)

    def test_body_over_the_limit_is_413_and_stores_nothing(self):
        self.backend.max_payload_kb = 1
        response = self.post_webhook({"id": 65, "name": "x" * 2000})
        self.assertEqual(response.status_code, 413)
        self.assertFalse(self.messages())

    def test_malformed_body_is_stored_and_fails_with_a_reason(self):
        with trapped_jobs() as trap:
            response = self.post_webhook(b"<html>not json</html>")
            self.assertEqual(response.status_code, 200)
            self.perform_jobs(trap)
        message = self.messages()
        self.assertEqual(message.payload, "<html>not json</html>")
        self.assertEqual(message.state, "failed")
        self.assertIn("not valid JSON", message.error_message)

    def test_duplicate_delivery_answers_2xx_and_counts(self):
        body = json.dumps({"id": 66, "name": "Nia"})
        key = {"X-Integration-Idempotency-Key": "delivery-66"}
        with trapped_jobs() as trap:
            first = self.post_webhook(body, headers=key)
            second = self.post_webhook(body, headers=key)
            trap.assert_jobs_count(1)
            self.perform_jobs(trap)
        self.assertEqual((first.status_code, second.status_code), (200, 200))
        self.assertTrue(second.json()["duplicate"])
        message = self.messages()
        self.assertEqual(len(message), 1)
        self.assertEqual(message.duplicate_count, 1)
        self.assertEqual(
            self.env["res.partner"].search_count([("name", "=", "Nia")]), 1
        )

    def test_unknown_topic_is_stored_and_explained(self):
        with trapped_jobs() as trap:
            self.post_webhook({"id": 67}, topic="something.else")
            self.perform_jobs(trap)
        message = self.messages()
        self.assertEqual(message.state, "failed")
        self.assertIn("unknown message type 'something.else'", message.error_message)
