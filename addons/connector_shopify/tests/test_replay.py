"""Replay of Shopify orders: Shopify is the system of record for an order's
lines; a replay puts back what was changed by hand and leaves the rest."""

from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import trapped_jobs

from .common import ShopifyCase, order_spec
from .test_orders import bumped


@tagged("post_install", "-at_install")
class TestShopifyReplay(ShopifyCase):
    def import_order(self, order, topic="orders/create"):
        with trapped_jobs() as trap:
            message, _created = self.intake_order(order, topic)
            self.perform_jobs(trap)
        return message

    def replay(self, messages):
        with trapped_jobs() as trap:
            messages.with_user(self.manager).action_replay("checked against Shopify")
            self.perform_jobs(trap)
        messages.invalidate_recordset()

    def test_replay_restores_lines_edited_by_hand_and_makes_no_second_order(self):
        order = self.shop.create_order(order_spec(financial_status="pending"))
        message = self.import_order(order)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "draft")
        shirt = sale.order_line.filtered(
            lambda line: line.product_id.default_code == "TSHIRT-RED-XL"
        )
        shirt.product_uom_qty = 7  # by hand, in Odoo
        self.replay(message)
        self.assertEqual(message.state, "done", message.error_message)
        shirt = sale.order_line.filtered(
            lambda line: line.product_id.default_code == "TSHIRT-RED-XL"
        )
        self.assertEqual(shirt.product_uom_qty, 2)
        self.assertEqual(sale.amount_total, float(order["total_price"]))
        self.assertEqual(
            self.env["sale.order"].search_count(
                [("client_order_ref", "=", order["name"])]
            ),
            1,
        )

    def test_replay_of_a_right_confirmed_order_changes_nothing(self):
        order = self.shop.create_order(order_spec())
        message = self.import_order(order)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "sale")
        lines, pickings = sale.order_line, sale.picking_ids
        amounts = (sale.amount_untaxed, sale.amount_tax, sale.amount_total)
        self.replay(message)
        self.assertEqual(message.state, "done", message.error_message)
        self.assertFalse(message.business_exception)
        self.assertEqual(sale.order_line, lines)
        self.assertEqual(sale.picking_ids, pickings)
        self.assertEqual(
            (sale.amount_untaxed, sale.amount_tax, sale.amount_total), amounts
        )
        self.assertEqual(message.attempts, 2)

    def test_replay_of_an_older_version_never_undoes_a_newer_one(self):
        order = self.shop.create_order(order_spec(financial_status="pending"))
        first = self.import_order(order)
        paid = self.shop.update_order(order["id"], financial_status="paid")
        # (within the same second the sandbox keeps updated_at: another topic)
        self.import_order(bumped(paid), "orders/updated")
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "sale")
        self.replay(first)
        self.assertEqual(first.state, "ignored")
        self.assertIn("older than the one applied", first.ignore_reason)
        self.assertEqual(sale.state, "sale")
