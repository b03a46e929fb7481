"""The Shopify backend: configuration, connection, webhooks in and out."""

import json
from unittest.mock import patch

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import trapped_jobs
from odoo.addons.integration_core.tools.signing import compute_signature

from ..models import integration_backend
from .common import SHOP_SECRET, ShopifyCase, ShopifyHttpCase, order_spec


@tagged("post_install", "-at_install")
class TestShopifyBackend(ShopifyCase):
    def test_defaults_api_version_and_sync_rules(self):
        self.assertEqual(self.backend.api_version, "2026-07")
        self.assertEqual(self.backend.channel, "root.integration.shopify")
        rules = {r.business_object: r for r in self.backend.sync_rule_ids}
        self.assertEqual(rules["sale_order"].system_of_record, "external")
        self.assertEqual(rules["sale_order"].direction, "import")
        self.assertEqual(rules["sale_order"].mode, "scheduled")
        self.assertEqual(rules["partner"].system_of_record, "external")
        for odoo_owned in ("product", "stock_level", "tracking"):
            self.assertEqual(rules[odoo_owned].system_of_record, "odoo")
        self.assertEqual(rules["stock_level"].direction, "export")
        self.assertEqual(rules["stock_level"].mode, "micro_batch")

    def test_connection_with_access_token(self):
        text = self.backend._test_connection()
        self.assertIn("demo.myshopify.com", text)
        self.assertIn("2026-07", text)
        action = self.backend.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        call = self.env["integration.call.log"].search(
            [("backend_id", "=", self.backend.id)], limit=1
        )
        self.assertEqual(call.http_status, 200)
        self.assertIn("/admin/api/2026-07/graphql.json", call.request_summary)
        self.assertEqual(self.backend.health, "ok")

    def test_wrong_token_is_refused_and_never_logged(self):
        self.backend.api_key = "shpat_wrong_token"
        action = self.backend.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertEqual(self.backend.auth_failures, 1)
        self.assertEqual(self.backend.health, "degraded")
        logs = self.env["integration.call.log"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertTrue(logs)
        for text in (
            logs.mapped("url")
            + logs.mapped("request_summary")
            + logs.mapped("response_summary")
            + logs.mapped("error_message")
        ):
            self.assertNotIn("shpat_wrong_token", text or "")
        for text in (
            self.env["integration.message"]
            .search([("backend_id", "=", self.backend.id)])
            .mapped("error_detail")
        ):
            self.assertNotIn("shpat_wrong_token", text or "")

    def test_client_credentials_token_is_fetched_and_renewed(self):
        backend = self.backend.copy(
            {
                "name": "Shopify client credentials",
                "shopify_auth": "client_credentials",
                "api_key": "sandbox-client-id",
                "api_secret": "sandbox-client-secret",
                "base_url": self.shop.base_url,
            }
        )
        self.assertIn("demo", backend._test_connection())
        self.shop.expire_tokens()
        # the cached token is refused once, renewed, and the call goes through
        self.assertIn("demo", backend._test_connection())
        token_calls = self.env["integration.call.log"].search(
            [("backend_id", "=", backend.id), ("call_type", "=", "shopify.token")]
        )
        self.assertEqual(len(token_calls), 2)
        for text in token_calls.mapped("response_summary"):
            self.assertNotIn("shpat_", text or "")

    def test_register_webhooks_once(self):
        # the suite's webhook base URL, not the address users log in at
        params = self.env["ir.config_parameter"].sudo()
        params.set_param("web.base.url", "http://localhost:8069")
        params.set_param("integration.webhook_base_url", "https://odoo.example.com")
        created, existing = self.backend._shopify_register_webhooks()
        self.assertEqual(
            created,
            ["orders/create", "orders/updated", "orders/cancelled", "refunds/create"],
        )
        self.assertEqual(existing, [])
        subscriptions = self.shop.subscriptions()
        url = f"https://odoo.example.com/integration/webhook/{self.backend.id}"
        self.assertEqual({s["address"] for s in subscriptions}, {url})
        self.assertEqual(self.backend.webhook_url, url)  # what the form shows
        self.assertEqual(len(subscriptions), 4)
        created, existing = self.backend._shopify_register_webhooks()
        self.assertEqual(created, [])
        self.assertEqual(len(existing), 4)
        self.assertEqual(len(self.shop.subscriptions()), 4)

    def test_buttons_are_for_managers(self):
        backend = self.backend.with_user(self.user)  # desk user
        for action in (
            "action_shopify_register_webhooks",
            "action_shopify_fetch_locations",
            "action_shopify_export_stock_now",
        ):
            with self.assertRaises(AccessError):
                getattr(backend, action)()

    def test_read_locations_and_map_each_warehouse_once(self):
        self.shop.create_location(name="Ghent DC", city="Gent", country_code="BE")
        locations = self.backend._shopify_fetch_locations()
        self.assertEqual(
            sorted(locations.mapped("name")), ["Ghent DC", "Sandbox Warehouse"]
        )
        # reading again updates, never duplicates
        self.assertEqual(self.backend._shopify_fetch_locations(), locations)
        first, second = locations.sorted("name")
        first.warehouse_ids = self.warehouse
        with self.assertRaises(ValidationError):
            second.warehouse_ids = self.warehouse

    def test_graphql_waits_for_its_cost_budget_and_rest_keeps_a_bucket(self):
        status = {"currentlyAvailable": 50, "restoreRate": 50, "maximumAvailable": 1000}
        self.backend._shopify_cost_seen(
            {"extensions": {"cost": {"throttleStatus": status}}}
        )
        with patch.object(integration_backend.time, "sleep") as sleep:
            self.backend._shopify_cost_wait()
        (wait,), _kwargs = sleep.call_args
        self.assertAlmostEqual(wait, 2.0, delta=0.2)  # (150 - 50) / 50
        self.backend.rate_limit = 2
        rest = self.backend._shopify_client()
        self.assertEqual(rest.rate_limiter.capacity, 40)
        self.assertIsNone(self.backend._shopify_client(graphql_call=True).rate_limiter)

    def test_envelope_keys_orders_by_id_and_updated_at(self):
        body = json.dumps({"id": 42, "updated_at": "2026-07-01T12:00:00+01:00"})
        envelope = self.backend._webhook_envelope(
            {"X-Shopify-Topic": "orders/updated", "X-Shopify-Webhook-Id": "abc"},
            body.encode(),
        )
        self.assertEqual(envelope["message_type"], "orders/updated")
        self.assertEqual(envelope["idempotency_key"], "order:42:2026-07-01T11:00:00Z")
        self.assertEqual(envelope["external_id"], "42")
        self.assertEqual(envelope["correlation_id"], "shopify-order-42")
        refund = self.backend._webhook_envelope(
            {"X-Shopify-Topic": "refunds/create"},
            json.dumps({"id": 7, "order_id": 42}).encode(),
        )
        self.assertEqual(refund["idempotency_key"], "refund:7")
        self.assertEqual(refund["correlation_id"], "shopify-order-42")
        broken = self.backend._webhook_envelope(
            {"X-Shopify-Topic": "orders/create", "X-Shopify-Webhook-Id": "w1"},
            b"{not json",
        )
        self.assertEqual(broken["idempotency_key"], "webhook:w1")


@tagged("post_install", "-at_install")
class TestShopifyWebhookIntake(ShopifyHttpCase):
    def _post(self, body, secret=SHOP_SECRET, topic="orders/create", webhook_id="w"):
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        return self.url_open(
            f"/integration/webhook/{self.backend.id}",
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": compute_signature(secret, body),
                "X-Shopify-Webhook-Id": webhook_id,
                "X-Shopify-Shop-Domain": "demo.myshopify.com",
            },
            timeout=30,
        )

    def test_bad_signature_is_refused_and_stores_nothing(self):
        response = self._post({"id": 1, "updated_at": "2026-07-01T10:00:00Z"}, "no")
        self.assertEqual(response.status_code, 401)
        self.assertFalse(self.messages())

    def test_duplicate_delivery_counts_on_the_first_message(self):
        order = {"id": 5, "updated_at": "2026-07-01T10:00:00Z", "line_items": []}
        with trapped_jobs():
            first = self._post(order, webhook_id="a")
            second = self._post(order, webhook_id="b")  # same version, new id
        self.assertEqual(first.status_code, 200)
        self.assertFalse(first.json()["duplicate"])
        self.assertTrue(second.json()["duplicate"])
        message = self.messages()
        self.assertEqual(len(message), 1)
        self.assertEqual(message.duplicate_count, 1)
        self.assertEqual(message.idempotency_key, "order:5:2026-07-01T10:00:00Z")

    def test_signed_but_malformed_body_is_stored_and_fails_with_the_reason(self):
        with trapped_jobs() as trap:
            response = self._post(b'{"id": 9, "line_', webhook_id="broken")
            self.perform_jobs(trap)
        self.assertEqual(response.status_code, 200)
        message = self.messages()
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_category, "validation")
        self.assertIn("not valid JSON", message.error_message)

    def test_sandbox_webhook_reaches_odoo(self):
        self.shop.subscribe("orders/create", self.webhook_url())
        with trapped_jobs():
            order = self.shop.create_order(order_spec())
            self.sandbox.drain(timeout=30)
        (delivery,) = self.sandbox.deliveries(topic="orders/create")
        self.assertEqual(delivery["state"], "delivered")
        message = self.messages()
        self.assertEqual(message.external_id, str(order["id"]))
        self.assertEqual(message.message_type, "orders/create")
