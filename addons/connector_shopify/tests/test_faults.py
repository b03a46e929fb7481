"""Faults: with Shopify answering 429, 5xx or timing out, nothing is lost or
duplicated, and everything completes once the fault clears."""

import json

from odoo.tests import tagged

from odoo.addons.integration_core.exceptions import TransientError
from odoo.addons.integration_core.tests.common import trapped_jobs

from .common import ShopifyCase, ShopifyHttpCase, deliver, order_spec

NO_WAIT = {"Retry-After": "0"}


@tagged("post_install", "-at_install")
class TestFaults(ShopifyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.put_in_stock(50)

    def setUp(self):
        super().setUp()
        # a fast-refilling GraphQL bucket: throttling waits stay short
        self.shop.configure(
            graphql_throttle={"maximum_available": 1000, "restore_rate": 2000}
        )

    def fault(self, **rule):
        rule.setdefault("system", "shopify")
        return self.sandbox.add_fault(**rule)

    def test_polling_through_rate_limits_and_server_errors(self):
        orders = [self.shop.create_order(order_spec()) for _i in range(4)]
        rule = self.backend._sync_rule("sale_order")
        # more 503s than the client retries: this run fails, cursor unchanged
        self.fault(
            match="rest", kind="http_status", status=503, count=4, headers=NO_WAIT
        )
        with trapped_jobs(), self.assertRaises(TransientError):
            with self.env.cr.savepoint():
                self.backend._poll(rule)
        self.assertFalse(rule.cursor)
        # 429s within the retries: waited for, then answered
        self.fault(match="rest", kind="rate_limit", seconds=0.1, count=2)
        with trapped_jobs() as trap:
            self.assertEqual(self.backend._poll(rule), 4)
            self.perform_jobs(trap)
        for order in orders:
            self.assertEqual(self.sale_of(order).state, "sale")
        self.assertEqual(len(self.messages(message_type="orders/updated")), 4)

    def test_stock_export_retries_until_shopify_answers(self):
        self.shop.create_product(
            title="Catalogue",
            variants=[
                {"sku": sku, "price": "1.00", "inventory": 0} for sku in self.products
            ],
        )
        location = self.backend._shopify_fetch_locations()
        location.warehouse_ids = self.warehouse
        self.env.cr.flush()
        self.env["integration.outbox"].search([]).unlink()
        self.env["stock.quant"]._update_available_quantity(
            self.products["MUG-WHITE"], self.warehouse.lot_stock_id, -7
        )
        # 5 x 503: the first attempt (1 call + 3 retries) fails, the message
        # waits for its retry, which gets through
        self.fault(
            match="graphql", kind="http_status", status=503, count=5, headers=NO_WAIT
        )
        with trapped_jobs() as trap:
            message = self.env["shopify.stock.exporter"]._queue_export(self.backend)
            self.perform_jobs(trap)
        message.invalidate_recordset()
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(message.attempts, 2)
        (level,) = self.shop.inventory(sku="MUG-WHITE")
        self.assertEqual(level["available"], 43)
        changes = self.shop.inventory_changes(source="graphql", sku="MUG-WHITE")
        self.assertEqual(len(changes), 1)

    def test_throttled_queries_wait_and_go_through(self):
        self.fault(match="graphql", kind="rate_limit", count=1)
        text = self.backend._test_connection()
        self.assertIn("demo", text)

    def test_fulfillment_survives_timeouts_and_is_made_once(self):
        order = self.shop.create_order(order_spec())
        with trapped_jobs() as trap:
            self.intake_order(order)
            self.perform_jobs(trap)
        sale = self.sale_of(order)
        self.backend.timeout_seconds = 1
        self.fault(match="graphql", kind="timeout", seconds=2, count=5)
        with trapped_jobs() as trap:
            deliver(sale.picking_ids)
            self.env.cr.flush()  # the commit: the outbox queues its flush
            self.perform_jobs(trap)
        message = self.messages(message_type="fulfillment.create")
        self.assertEqual(message.state, "done", message.error_message)
        self.assertGreater(message.attempts, 1)
        self.assertEqual(len(self.shop.fulfillments(order_id=order["id"])), 1)

    def test_refund_before_order_with_shopify_down_is_retried(self):
        order = self.shop.create_order(order_spec())
        refund = self.shop.refund(
            order["id"],
            {"lines": [{"sku": "MUG-WHITE", "quantity": 1, "restock_type": "cancel"}]},
        )
        self.backend.max_attempts = 5
        self.fault(
            match="rest", kind="http_status", status=502, count=6, headers=NO_WAIT
        )
        body = json.dumps(refund).encode()
        with trapped_jobs() as trap:
            message, _created = self.env["integration.message"]._intake(
                self.backend, "refunds/create", f"refund:{refund['id']}", body
            )
            self.perform_jobs(trap)
        message.invalidate_recordset()
        self.assertEqual(message.state, "done", message.error_message)
        sale = self.sale_of(order)
        self.assertEqual(len(sale.shopify_refund_ids), 1)
        self.assertEqual(
            self.env["sale.order"].search_count(
                [("client_order_ref", "=", order["name"])]
            ),
            1,
        )


@tagged("post_install", "-at_install")
class TestWebhookFaults(ShopifyHttpCase):
    def test_out_of_order_and_duplicate_deliveries_make_one_cancelled_order(self):
        self.subscribe_all()
        order = self.shop.create_order(order_spec())
        self.sandbox.drain(timeout=30)
        self.sandbox.add_fault(
            system="shopify", match="webhook", kind="out_of_order", count=3
        )
        self.sandbox.add_fault(
            system="shopify", match="webhook", kind="duplicate_delivery", count=2
        )
        with trapped_jobs() as trap:
            self.shop.update_order(order["id"], note="ring twice")
            self.shop.cancel_order(order["id"], reason="customer")
            self.sandbox.release_held()
            self.sandbox.drain(timeout=30)
            self.perform_jobs(trap)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "cancel")
        self.assertEqual(
            self.env["sale.order"].search_count(
                [("client_order_ref", "=", order["name"])]
            ),
            1,
        )
        messages = self.messages()
        self.assertFalse(messages.filtered(lambda m: m.state in ("failed", "dead")))
        self.assertEqual(len(sale.shopify_refund_ids), 1)
