"""The carrier's business signals on the Overview: shipped but not delivered
after the backend's days, failed or returned, delivered without proof,
delivered but not invoiced; per backend and company; each figure opens the
deliveries it counts. Deliveries are validated with the ORM and their
parcels' states set on their labels (no carrier needed)."""

from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.integration_core.tests.common import IntegrationCase
from odoo.addons.integration_core.tests.signals import BusinessSignalAssertions


@tagged("post_install", "-at_install")
class TestCarrierBusinessSignals(BusinessSignalAssertions, IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        Backend = env["integration.backend"].sudo()
        cls.carrier = Backend.create({"name": "Parcels", "connector_type": "carrier"})
        cls.other = Backend.create({"name": "Freight", "connector_type": "carrier"})
        cls.product = env["product.product"].create(
            {
                "name": "Signal teapot",
                "type": "consu",
                "invoice_policy": "delivery",
                "list_price": 20.0,
            }
        )
        cls.customer = env["res.partner"].create({"name": "Signal customer"})
        days = lambda n: fields.Datetime.now() - timedelta(days=n)  # noqa: E731

        cls.late = cls.shipped(days(5), "in_transit")
        cls.late_label = cls.shipped(days(4), "label_created")
        cls.recent = cls.shipped(days(1), "out_for_delivery")
        cls.failed = cls.shipped(days(6), "failure")
        cls.signed = cls.shipped(days(6), "delivered", signed_by="J. Doe")
        cls.unsigned = cls.shipped(days(6), "delivered")
        cls.invoiced = cls.shipped(days(6), "delivered", signed_by="A. Lee")
        cls.invoiced.sale_id._create_invoices()
        cls.elsewhere = cls.shipped(days(9), "in_transit", backend=cls.other)
        cls.stock_user = new_test_user(
            env,
            login="carrier_signals_stock",
            groups="stock.group_stock_user,integration_core.group_integration_user",
        )
        cls.clerk = new_test_user(
            env,
            login="carrier_signals_clerk",
            groups="base.group_user,integration_core.group_integration_user",
        )

    @classmethod
    def shipped(cls, done_at, delivery_state, signed_by=False, backend=None):
        """A sale order's delivery, validated at ``done_at``, with one label
        of ``backend`` in ``delivery_state``."""
        order = cls.env["sale.order"].create(
            {
                "partner_id": cls.customer.id,
                "order_line": [
                    Command.create({"product_id": cls.product.id, "product_uom_qty": 2})
                ],
            }
        )
        order.action_confirm()
        picking = order.picking_ids
        for move in picking.move_ids:
            move.quantity = move.product_uom_qty
            move.picked = True
        picking.button_validate()
        picking.date_done = done_at
        cls.env["carrier.shipment"].create(
            {
                "backend_id": (backend or cls.carrier).id,
                "picking_id": picking.id,
                "reference": f"signal-{picking.id}",
                "tracking_code": f"9400{picking.id}",
                "delivery_state": delivery_state,
                "signed_by": signed_by,
                "delivered_at": done_at if delivery_state == "delivered" else False,
            }
        )
        assert picking.state == "done", picking.state
        return picking

    def test_shipped_not_delivered_after_the_backends_days(self):
        self.assertEqual(self.carrier.carrier_signal_delivery_days, 3)
        self.assertEqual(
            self.open_signal(self.carrier, "not_delivered"),
            self.late | self.late_label,
        )
        self.carrier.carrier_signal_delivery_days = 0
        self.assertEqual(
            self.open_signal(self.carrier, "not_delivered"),
            self.late | self.late_label | self.recent,
        )
        self.assertEqual(
            self.signal_rows(self.carrier)["not_delivered"]["label"],
            "shipped, not delivered yet",
        )
        # another carrier's parcels are its own
        self.assertEqual(self.open_signal(self.other, "not_delivered"), self.elsewhere)

    def test_failed_without_proof_and_not_invoiced(self):
        self.assertEqual(self.open_signal(self.carrier, "failed"), self.failed)
        self.assertEqual(self.open_signal(self.carrier, "no_proof"), self.unsigned)
        self.assertEqual(self.unsigned.sale_id.invoice_status, "to invoice")
        self.assertEqual(
            self.open_signal(self.carrier, "not_invoiced"), self.signed | self.unsigned
        )
        self.signed.sale_id._create_invoices()
        self.assertEqual(self.open_signal(self.carrier, "not_invoiced"), self.unsigned)

    def test_who_opens_the_deliveries(self):
        self.assertEqual(
            self.open_signal(self.carrier, "no_proof", user=self.stock_user),
            self.unsigned,
        )
        rows = self.signal_rows(self.carrier, user=self.clerk)
        self.assertEqual(rows["failed"]["count"], 1)
        self.assertFalse(rows["failed"]["can_open"])
        with self.assertRaises(UserError):
            self.carrier.with_user(self.clerk).action_open_business_signal("failed")

    def test_the_signal_indexes_exist(self):
        self.env.cr.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname IN %s",
            [
                (
                    "stock_picking_carrier_no_proof_idx",
                    "sale_order_to_invoice_signal_idx",
                )
            ],
        )
        self.assertEqual(len(self.env.cr.fetchall()), 2)
