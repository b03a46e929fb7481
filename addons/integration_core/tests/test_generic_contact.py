"""The generic connector's contact upsert, end to end through HTTP."""

import json

from odoo.tests import tagged

from .common import IntegrationHttpCase, trapped_jobs


@tagged("post_install", "-at_install")
class TestGenericContact(IntegrationHttpCase):
    def test_upsert_by_binding_then_email_never_duplicates(self):
        existing = self.env["res.partner"].create(
            {"name": "Old Name", "email": "rita@example.com"}
        )
        with trapped_jobs() as trap:
            self.post_webhook(
                {
                    "id": "C1",
                    "name": "Rita",
                    "email": "RITA@example.com",
                    "country": "be",
                },
                topic="contact.upsert",
            )
            self.post_webhook(
                json.dumps({"id": "C1", "name": "Rita Moreno", "city": "Gent"}),
                topic="contact.upsert",
            )
            self.perform_jobs(trap)
        messages = self.env["integration.message"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertEqual(messages.mapped("state"), ["done", "done"])
        self.assertEqual(set(messages.mapped("res_id")), {existing.id})
        self.assertEqual(existing.name, "Rita Moreno")
        self.assertEqual(existing.city, "Gent")
        self.assertEqual(existing.country_id, self.env.ref("base.be"))

    def test_ping(self):
        response = self.url_open("/integration/ping")
        self.assertEqual(response.json(), {"status": "ok"})
