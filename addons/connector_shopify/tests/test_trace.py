"""The order trace from the Shopify side: received, confirmed, shipped with
quantities and lots, fulfillment sent back, invoiced; waits; the step the
order waits at or is stuck at; opened by a clerk from a message; no other
company's order. Flow states are built with the ORM (the full flow through
the sandbox is the top-level tests' business)."""

import json
from datetime import timedelta

from odoo import fields
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.integration_core.tests.common import IntegrationCase

SHOPIFY_KEYS = {
    "shopify.received",
    "sale.confirmed",
    "stock.shipped",
    "shopify.fulfillment",
    "account.invoiced",
    "sale.invoiced",
}


def keys(steps, only=None):
    only = SHOPIFY_KEYS if only is None else only
    return [s["key"] for s in steps if s["key"] in only]


@tagged("post_install", "-at_install")
class TestOrderTrace(IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.shop = (
            env["integration.backend"]
            .sudo()
            .create(
                {
                    "name": "Trace shop",
                    "connector_type": "shopify",
                    "base_url": "http://127.0.0.1:9",
                    "api_key": "token",
                    "webhook_secret": "secret",
                }
            )
        )
        cls.warehouse = env["stock.warehouse"].search(
            [("company_id", "=", env.company.id)], limit=1
        )
        cls.product = env["product.product"].create(
            {
                "name": "Mug",
                "default_code": "MUG-TRACE",
                "type": "product",
                "list_price": 8.0,
                "invoice_policy": "order",
            }
        )
        env["stock.quant"]._update_available_quantity(
            cls.product, cls.warehouse.lot_stock_id, 10
        )
        cls.customer = env["res.partner"].create({"name": "Trace customer"})
        cls.clerk = new_test_user(
            env,
            login="trace_clerk",
            groups="integration_core.group_integration_user",
        )

    def _order(self, confirm=True):
        Message = self.env["integration.message"]
        message, _created = Message._intake(
            self.shop,
            "orders/create",
            f"order-{self.product.id}-{fields.Datetime.now()}-{id(self)}",
            json.dumps({"id": 1042}).encode(),
            external_id="1042",
            reference="#1042",
            enqueue=False,
        )
        sale = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "client_order_ref": "#1042",
                "warehouse_id": self.warehouse.id,
                "shopify_backend_id": self.shop.id,
                "shopify_order_id": "1042",
                "shopify_financial_status": "paid",
                "integration_correlation_id": message.correlation_id,
                "order_line": [
                    (0, 0, {"product_id": self.product.id, "product_uom_qty": 2})
                ],
            }
        )
        message.sudo()._mark_done(sale)
        # the chatter's tracking is written at commit: run it as a commit would
        self.env.cr.precommit.run()
        if confirm:
            sale.action_confirm()
            self.env.cr.precommit.run()
        return sale, message

    def _ship(self, sale):
        picking = sale.picking_ids
        picking.action_assign()
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        picking._action_done()
        return picking

    def test_a_quotation_waits_for_its_confirmation(self):
        sale, message = self._order(confirm=False)
        summary = sale._integration_trace_summary()
        steps = summary["steps"]
        self.assertEqual(keys(steps), ["shopify.received", "sale.confirmed"])
        received = steps[0]
        self.assertEqual(received["message_id"], message.id)
        self.assertEqual(received["at"], message.received_at)
        self.assertTrue(received["stuck"])
        self.assertEqual(steps[1]["status"], "next")
        self.assertIn("not confirmed yet (payment paid)", summary["headline"])

    def test_a_confirmed_order_waits_for_its_delivery(self):
        sale, _message = self._order()
        picking = sale.picking_ids
        now = fields.Datetime.now() + timedelta(hours=3)
        summary = sale._integration_trace_summary(now=now)
        steps = summary["steps"]
        self.assertEqual(
            keys(steps),
            [
                "shopify.received",
                "sale.confirmed",
                "stock.shipped",
                "shopify.fulfillment",
                "sale.invoiced",
            ],
        )
        confirmed = next(s for s in steps if s["key"] == "sale.confirmed")
        self.assertTrue(confirmed["at"])
        shipped = next(s for s in steps if s["key"] == "stock.shipped")
        self.assertFalse(shipped["at"])
        # the stuck step is where it waits; the next one has waited since
        stuck = [s for s in steps if s["stuck"]]
        self.assertEqual(len(stuck), 1)
        self.assertTrue(stuck[0]["at"])
        self.assertEqual(summary["steps"][summary["next"]]["key"], shipped["key"])
        self.assertEqual(shipped["wait"], "3 h")
        self.assertIn(f"{picking.name} not shipped yet", summary["headline"])
        # from the delivery: the same trace, the order's
        self.assertEqual(
            [s["key"] for s in picking._integration_trace()],
            [s["key"] for s in sale._integration_trace()],
        )

    def test_shipped_fulfilled_and_invoiced(self):
        sale, _message = self._order()
        picking = self._ship(sale)
        Message = self.env["integration.message"]
        sent, _c = Message._intake(
            self.shop,
            "fulfillment.create",
            f"fulfil-{picking.id}",
            b"{}",
            direction="out",
            correlation_id=sale.integration_correlation_id,
            enqueue=False,
        )
        sent.sudo()._mark_done(picking)
        picking.shopify_fulfillment_id = "gid://shopify/Fulfillment/1"
        invoice = sale._create_invoices()
        self.env.cr.precommit.run()
        invoice.action_post()
        self.env.cr.precommit.run()
        posted_at = invoice._integration_trace_tracked_at("state", "posted")
        self.assertTrue(posted_at)
        steps = sale._integration_trace()
        self.assertEqual(
            keys(steps),
            [
                "shopify.received",
                "sale.confirmed",
                "stock.shipped",
                "shopify.fulfillment",
                "account.invoiced",
            ],
        )
        shipped = next(s for s in steps if s["key"] == "stock.shipped")
        self.assertEqual(shipped["detail"], "2 x MUG-TRACE")
        self.assertEqual(shipped["at"], picking.date_done)
        fulfilled = next(s for s in steps if s["key"] == "shopify.fulfillment")
        self.assertEqual(fulfilled["message_id"], sent.id)
        invoiced = next(s for s in steps if s["key"] == "account.invoiced")
        self.assertEqual(invoiced["res_id"], invoice.id)
        self.assertIn(invoice.name, invoiced["detail"])
        self.assertEqual(invoiced["at"], posted_at)
        confirmed = next(s for s in steps if s["key"] == "sale.confirmed")
        self.assertEqual(
            confirmed["at"], sale._integration_trace_tracked_at("state", "sale")
        )
        times = [s["at"] for s in steps if s["at"]]
        self.assertEqual(times, sorted(times))
        self.assertTrue(all(s["wait_seconds"] >= 0 for s in steps[1:] if s["at"]))

    def test_a_refused_fulfillment_is_the_stuck_step(self):
        sale, _message = self._order()
        picking = self._ship(sale)
        failed, _c = self.env["integration.message"]._intake(
            self.shop,
            "fulfillment.create",
            f"fulfil-refused-{picking.id}",
            b"{}",
            direction="out",
            correlation_id=sale.integration_correlation_id,
            enqueue=False,
        )
        failed.sudo().write(
            {
                "state": "failed",
                "error_category": "business",
                "error_message": "Shopify refused the fulfillment",
                "res_model": "stock.picking",
                "res_id": picking.id,
            }
        )
        summary = sale._integration_trace_summary()
        stuck = summary["steps"][summary["stuck"]]
        self.assertEqual(stuck["key"], "shopify.fulfillment")
        self.assertEqual(stuck["status"], "exception")
        self.assertEqual(stuck["exception_ids"], [failed.id])
        self.assertEqual(summary["state"], "stuck")
        self.assertIn("Shopify refused the fulfillment", summary["headline"])

    def test_a_clerk_opens_the_trace_from_a_message(self):
        sale, message = self._order()
        as_clerk = message.with_user(self.clerk)
        steps = as_clerk._integration_trace()
        self.assertEqual(keys(steps)[:2], ["shopify.received", "sale.confirmed"])
        action = as_clerk.action_open_integration_trace()
        trace = (
            self.env["integration.trace"].with_user(self.clerk).browse(action["res_id"])
        )
        self.assertEqual(trace.name, sale.name)
        self.assertEqual(len(trace.step_ids), len(steps))
        # the message confirmed the order too: both steps are its
        origin = trace.step_ids.filtered("is_origin")
        self.assertEqual(origin.mapped("key"), ["shopify.received", "sale.confirmed"])
        origin = origin[0]
        self.assertEqual(trace.step_ids.filtered("stuck").status, "current")
        # the screen loads for the clerk, and each step opens its message
        form = Form(trace)
        self.assertTrue(form.headline)
        opened = origin.action_open_message()
        self.assertEqual(opened["res_id"], message.id)
        trace.action_refresh()
        self.assertEqual(len(trace.step_ids), len(steps))
        # the sale order's smart button is in its form
        arch = self.env["sale.order"].get_views([(False, "form")])["views"]["form"]
        self.assertIn("action_open_integration_trace", arch["arch"])

    def test_no_trace_of_another_company(self):
        other = self.env["res.company"].create({"name": "Other trace company"})
        sale, message = self._order(confirm=False)
        # moved as they would be made there (no write checks in the way)
        self.env.cr.execute(
            "UPDATE sale_order SET company_id = %s WHERE id = %s", (other.id, sale.id)
        )
        self.env.cr.execute(
            "UPDATE integration_message SET company_id = %s WHERE id = %s",
            (other.id, message.id),
        )
        self.env.invalidate_all()
        # the clerk works in the main company only
        self.assertEqual(sale.with_user(self.clerk)._integration_trace(), [])
        self.assertFalse(
            self.env["integration.message"]
            .with_user(self.clerk)
            .search([("id", "=", message.id)])
        )
