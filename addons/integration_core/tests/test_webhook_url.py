"""The webhook URL to register: one setting of the suite, shown on backends."""

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import Form, tagged

from .common import IntegrationCase

PARAM = "integration.webhook_base_url"


@tagged("post_install", "-at_install")
class TestWebhookUrl(IntegrationCase):
    def set_params(self, base=None, web="https://erp.example.com"):
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("web.base.url", web)
        params.set_param(PARAM, base or False)  # False deletes the parameter
        self.env.invalidate_all()

    def test_setting_names_the_url_of_every_backend(self):
        self.set_params("http://odoo:8069/")
        other = self.backend.copy({"name": "Second"})
        self.assertEqual(
            self.backend.webhook_url,
            f"http://odoo:8069/integration/webhook/{self.backend.id}",
        )
        self.assertEqual(
            other.webhook_url, f"http://odoo:8069/integration/webhook/{other.id}"
        )
        self.assertEqual(self.backend._webhook_url(), self.backend.webhook_url)

    def test_without_the_setting_the_database_address(self):
        self.set_params(None, web="https://erp.example.com/")
        self.assertEqual(
            self.backend.webhook_url,
            f"https://erp.example.com/integration/webhook/{self.backend.id}",
        )
        self.set_params("   ")  # blank counts as unset
        self.assertTrue(self.backend.webhook_url.startswith("https://erp.example.com/"))

    def test_follows_the_setting_when_it_changes(self):
        self.set_params("https://one.example.com")
        self.assertIn("one.example.com", self.backend.webhook_url)
        self.set_params("https://two.example.com")
        self.assertIn("two.example.com", self.backend.webhook_url)

    def test_a_new_backend_shows_none_until_saved(self):
        self.set_params("https://hooks.example.com")
        with Form(self.env["integration.backend"]) as form:
            form.name = "Not saved yet"
            self.assertFalse(form.webhook_url)
        self.assertTrue(form.record.webhook_url.endswith(f"/{form.record.id}"))

    def test_managers_see_it_desk_users_do_not(self):
        self.set_params("https://hooks.example.com")
        self.assertTrue(self.backend.with_user(self.manager).webhook_url)
        backend = self.backend.with_user(self.user)
        self.assertEqual(backend.name, self.backend.name)
        with self.assertRaises(AccessError):
            backend.read(["webhook_url"])

    def test_settings_store_the_parameter(self):
        settings = self.env["res.config.settings"].create(
            {"integration_webhook_base_url": "https://hooks.example.com"}
        )
        settings.execute()
        self.assertEqual(
            self.env["ir.config_parameter"].sudo().get_param(PARAM),
            "https://hooks.example.com",
        )
        self.env.invalidate_all()
        self.assertTrue(
            self.backend.webhook_url.startswith("https://hooks.example.com/")
        )
        self.assertEqual(
            self.env["res.config.settings"].create({}).integration_webhook_base_url,
            "https://hooks.example.com",
        )

    def test_settings_refuse_what_is_not_a_web_address(self):
        for bad in (
            "odoo:8069",
            "ftp://odoo.example.com",
            "https://",
            "https://a/?x=1",
        ):
            with self.subTest(bad=bad), self.assertRaises(ValidationError):
                self.env["res.config.settings"].create(
                    {"integration_webhook_base_url": bad}
                )

    def test_shown_in_settings_and_on_the_backend_form_of_managers(self):
        settings = self.env["res.config.settings"].get_views([(False, "form")])
        self.assertIn(
            'name="integration_webhook_base_url"',
            settings["views"]["form"]["arch"],
        )
        Backend = self.env["integration.backend"]
        manager_form = Backend.with_user(self.manager).get_views([(False, "form")])
        self.assertIn('name="webhook_url"', manager_form["views"]["form"]["arch"])
        user_form = Backend.with_user(self.user).get_views([(False, "form")])
        self.assertNotIn('name="webhook_url"', user_form["views"]["form"]["arch"])
