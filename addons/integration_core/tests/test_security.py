"""Credentials for managers only; desk users act, managers configure;
companies do not see each other's integration data."""

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import IntegrationCase, make_backend


@tagged("post_install", "-at_install")
class TestSecurity(IntegrationCase):
    def test_credentials_are_for_managers_only(self):
        self.backend.sudo().api_key = "shpat_very_secret"
        as_user = self.backend.with_user(self.user)
        self.assertEqual(as_user.name, "Test backend")
        with self.assertRaises(AccessError):
            as_user.read(["api_key"])
        with self.assertRaises(AccessError):
            as_user.read(["webhook_secret"])
        self.assertNotIn("api_key", as_user.fields_get())
        as_manager = self.backend.with_user(self.manager)
        self.assertEqual(as_manager.api_key, "shpat_very_secret")
        exportable = as_manager.fields_get(attributes=["exportable"])
        for name in ("api_key", "api_secret", "webhook_secret"):
            self.assertFalse(exportable[name]["exportable"], name)

    def test_secrets_from_environment(self):
        import os

        os.environ["INTEGRATION_TEST_TOKEN"] = "from-env-123"
        try:
            self.backend.sudo().api_key = "env:INTEGRATION_TEST_TOKEN"
            self.assertEqual(self.backend._get_secret("api_key"), "from-env-123")
        finally:
            del os.environ["INTEGRATION_TEST_TOKEN"]

    def test_desk_user_cannot_configure_or_edit_payloads(self):
        message, _c = self.intake({"id": 50, "name": "business"})
        self.process(message)
        with self.assertRaises(AccessError):
            self.backend.with_user(self.user).write({"name": "Renamed"})
        with self.assertRaises(AccessError):
            message.with_user(self.user).write({"payload": "{}"})
        with self.assertRaises(AccessError):
            self.env["integration.sync.rule"].with_user(self.user).create(
                {"backend_id": self.backend.id, "business_object": "product"}
            )
        message.with_user(self.manager).write({"payload": '{"id": 50, "name": "Z"}'})

    def test_company_b_sees_nothing_of_company_a(self):
        company_b = self.env["res.company"].create({"name": "Company B"})
        user_b = new_test_user(
            self.env,
            login="user_b",
            groups="integration_core.group_integration_manager",
            company_id=company_b.id,
            company_ids=[(6, 0, company_b.ids)],
        )
        message, _c = self.intake({"id": 51, "name": "Lea"})
        self.process(message)
        self.map_value("country", "BE", self.env.ref("base.be"))
        self.env["integration.sync.rule"].create(
            {"backend_id": self.backend.id, "business_object": "product"}
        )
        own = make_backend(self.env, name="B backend", company_id=company_b.id)
        for model in (
            "integration.backend",
            "integration.message",
            "integration.binding",
            "integration.value.map",
            "integration.sync.rule",
        ):
            as_b = self.env[model].with_user(user_b)
            records = as_b.search([])
            self.assertFalse(
                records.filtered(lambda r: r.company_id == self.env.company),
                f"{model} of company A visible to company B",
            )
        self.assertEqual(
            self.env["integration.backend"].with_user(user_b).search([]), own
        )
        with self.assertRaises(AccessError):
            message.with_user(user_b).read(["name"])
