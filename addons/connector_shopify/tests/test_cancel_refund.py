"""Cancellations and refunds in."""

import json

from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import trapped_jobs

from .common import ShopifyCase, deliver, order_spec


@tagged("post_install", "-at_install")
class TestCancelAndRefund(ShopifyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.put_in_stock(50)

    def import_body(self, body, topic):
        with trapped_jobs() as trap:
            message, _created = self.intake_order(body, topic)
            self.perform_jobs(trap)
        message.invalidate_recordset()
        return message

    def import_refund(self, refund):
        body = json.dumps(refund).encode()
        envelope = self.backend._webhook_envelope(
            {"X-Shopify-Topic": "refunds/create"}, body
        )
        with trapped_jobs() as trap:
            message, _created = self.env["integration.message"]._intake(
                self.backend,
                "refunds/create",
                envelope["idempotency_key"],
                body,
                external_id=envelope["external_id"],
                correlation_id=envelope["correlation_id"],
            )
            self.perform_jobs(trap)
        message.invalidate_recordset()
        return message

    def confirmed_order(self, **spec):
        order = self.shop.create_order(order_spec(**spec))
        message = self.import_body(order, "orders/create")
        self.assertEqual(message.state, "done", message.error_message)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "sale")
        return order, sale

    def test_cancel_before_shipping_cancels_the_order(self):
        order, sale = self.confirmed_order()
        cancelled = self.shop.cancel_order(order["id"], reason="customer")
        self.assertEqual(cancelled["financial_status"], "refunded")
        message = self.import_body(cancelled, "orders/cancelled")
        self.assertEqual(message.state, "done", message.error_message)
        self.assertFalse(message.business_exception)
        self.assertEqual(sale.state, "cancel")
        self.assertEqual(set(sale.picking_ids.mapped("state")), {"cancel"})
        refund = sale.shopify_refund_ids
        self.assertEqual(len(refund), 1)
        self.assertEqual(refund.outcome, "no_credit")
        # the refunds/create webhook of the same refund changes nothing
        (shopify_refund,) = cancelled["refunds"]
        again = self.import_refund(shopify_refund)
        self.assertEqual(again.state, "ignored")
        self.assertEqual(len(sale.shopify_refund_ids), 1)

    def test_cancel_after_shipping_is_a_business_exception(self):
        order, sale = self.confirmed_order()
        deliver(sale.picking_ids)
        cancelled = self.shop.cancel_order(order["id"], reason="fraud", refund=False)
        message = self.import_body(cancelled, "orders/cancelled")
        self.assertEqual(message.state, "done")
        self.assertTrue(message.needs_attention)
        self.assertIn("already shipped", message.business_exception)
        self.assertIn(order["name"], message.business_exception)
        self.assertEqual(sale.state, "sale")

    def test_refund_of_unshipped_units_credits_and_ships_less(self):
        order, sale = self.confirmed_order()
        refund = self.shop.refund(
            order["id"],
            {
                "lines": [
                    {"sku": "TSHIRT-RED-XL", "quantity": 1, "restock_type": "cancel"}
                ],
                "shipping": {"full_refund": True},
            },
        )
        message = self.import_refund(refund)
        self.assertEqual(message.state, "done", message.error_message)
        self.assertFalse(message.business_exception, message.business_exception)
        record = sale.shopify_refund_ids
        self.assertEqual(record.outcome, "credited")
        credit = record.credit_note_id
        self.assertEqual(message.res_model, "account.move")
        self.assertEqual(message.res_id, credit.id)
        self.assertEqual(credit.move_type, "out_refund")
        self.assertEqual(credit.state, "posted")
        refunded = sum(float(t["amount"]) for t in refund["transactions"])
        self.assertEqual(f"{credit.amount_total:.2f}", f"{refunded:.2f}")
        shirt_line = sale.order_line.filtered(
            lambda line: line.product_id == self.products["TSHIRT-RED-XL"]
        )
        self.assertEqual(shirt_line.product_uom_qty, 1)
        self.assertEqual(shirt_line.qty_invoiced, -1)
        move = sale.picking_ids.move_ids.filtered(
            lambda m: (
                m.product_id == self.products["TSHIRT-RED-XL"] and m.state != "cancel"
            )
        )
        self.assertEqual(sum(move.mapped("product_uom_qty")), 1)
        self.assertFalse(record.return_picking_ids)

    def test_refund_after_delivery_returns_restocked_units(self):
        order, sale = self.confirmed_order()
        deliver(sale.picking_ids)
        refund = self.shop.refund(
            order["id"],
            {"lines": [{"sku": "MUG-WHITE", "quantity": 1, "restock_type": "return"}]},
        )
        message = self.import_refund(refund)
        self.assertEqual(message.state, "done", message.error_message)
        record = sale.shopify_refund_ids
        (returned,) = record.return_picking_ids
        self.assertEqual(returned.picking_type_code, "incoming")
        self.assertEqual(returned.move_ids.product_id, self.products["MUG-WHITE"])
        self.assertEqual(returned.move_ids.product_uom_qty, 1)
        self.assertEqual(record.credit_note_id.state, "posted")
        mug_line = sale.order_line.filtered(
            lambda line: line.product_id == self.products["MUG-WHITE"]
        )
        self.assertEqual(mug_line.product_uom_qty, 1)  # shipped: not reduced

    def test_refund_arriving_before_its_order_imports_the_order(self):
        order = self.shop.create_order(order_spec())
        refund = self.shop.refund(
            order["id"],
            {"lines": [{"sku": "MUG-WHITE", "quantity": 1, "restock_type": "cancel"}]},
        )
        message = self.import_refund(refund)
        self.assertEqual(message.state, "done", message.error_message)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "sale")
        self.assertEqual(len(sale.shopify_refund_ids), 1)
        # then the order's own webhooks come in: nothing is applied twice
        updated = self.shop.order(order["id"])
        self.import_body(updated, "orders/updated")
        self.import_body(order, "orders/create")
        self.assertEqual(len(sale.shopify_refund_ids), 1)
        self.assertEqual(
            self.env["sale.order"].search_count(
                [("client_order_ref", "=", order["name"])]
            ),
            1,
        )

    def test_refunds_listed_in_an_update_are_applied_once(self):
        order, sale = self.confirmed_order()
        refund = self.shop.refund(
            order["id"],
            {"lines": [{"sku": "MUG-WHITE", "quantity": 1, "restock_type": "cancel"}]},
        )
        self.import_body(self.shop.order(order["id"]), "orders/updated")
        self.assertEqual(len(sale.shopify_refund_ids), 1)
        message = self.import_refund(refund)
        self.assertEqual(message.state, "ignored")
        self.assertEqual(len(sale.shopify_refund_ids), 1)
        self.assertEqual(
            self.env["account.move"].search_count(
                [("move_type", "=", "out_refund"), ("invoice_origin", "=", sale.name)]
            ),
            1,
        )
