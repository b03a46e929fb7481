"""Invoicing policy: on proof of delivery (delivered quantities only, posted
if so set), on shipment, manual; the shipping line at the actual price
(Real cost); a label above the quote beyond the tolerance on the desk."""

from .common import CarrierCase


class TestInvoicing(CarrierCase):
    def deliver(self, picking):
        for shipment in picking.carrier_shipment_ids:
            tracker = self.advance(shipment, walk="delivered", signed_by="DANA")
            self.deliver_event(self.event_body(tracker))

    def test_manual_by_default(self):
        picking = self.ship()
        self.deliver(picking)
        self.assertFalse(picking.integration_invoice_id)
        self.assertFalse(picking.sale_id.invoice_ids)

    def test_on_delivery_bills_what_arrived_only(self):
        self.backend.write(
            {"carrier_invoice_policy": "on_delivery", "carrier_post_invoices": True}
        )
        order = self.make_order()
        picking = self.ship(
            order, quantities={"MUG": 1, "TEAPOT": 1}, packages=[{"MUG"}, {"TEAPOT"}]
        )
        backorder = order.picking_ids - picking
        picking.integration_correlation_id = "order-42"
        first, second = picking.carrier_shipment_ids
        self.deliver_event(self.event_body(self.advance(first, walk="delivered")))
        self.assertFalse(order.invoice_ids)  # one parcel of two delivered
        self.deliver_event(self.event_body(self.advance(second, walk="delivered")))
        invoice = picking.integration_invoice_id
        self.assertTrue(invoice)
        self.assertEqual(invoice.state, "posted")
        if "integration_correlation_id" in invoice._fields:
            # the delivery's correlation id, not the tracking event's
            self.assertEqual(invoice.integration_correlation_id, "order-42")
        quantities = {
            line.product_id.default_code or "SHIP": line.quantity
            for line in invoice.invoice_line_ids
        }
        self.assertEqual(quantities, {"MUG": 1, "TEAPOT": 1, "SHIP": 1})
        # the same event again, or a later one, makes no second invoice
        self.deliver_event(self.event_body(self.tracker(second)), key="evt_again")
        self.assertEqual(len(order.invoice_ids), 1)
        # the backorder's own delivery bills the rest, without shipping again
        self.set_done(backorder)
        self.validate(backorder)
        self.deliver(backorder)
        rest = backorder.integration_invoice_id
        self.assertEqual(
            {
                line.product_id.default_code: line.quantity
                for line in rest.invoice_line_ids
            },
            {"MUG": 1},
        )

    def test_on_shipment_draft_and_real_cost(self):
        self.carrier.write(
            {"integration_invoice_policy": "on_shipment", "invoice_policy": "real"}
        )
        order = self.make_order()
        picking = self.ship(order)
        invoice = picking.integration_invoice_id
        self.assertEqual(invoice.state, "draft")
        shipping = invoice.invoice_line_ids.filtered(
            lambda line: line.product_id == self.ship_product
        )
        label = picking.carrier_shipment_ids
        self.assertAlmostEqual(shipping.price_unit, label.price_company, places=2)

    def test_label_above_quote_is_on_the_desk(self):
        order = self.make_order(quote=8.0)  # the label costs 7.90 + 0.08 x 88.2 oz
        picking = self.ship(order)
        item = self.env["integration.message"].search(
            [("message_type", "=", "carrier.label.price")]
        )
        self.assertEqual(len(item), 1)
        self.assertIn("above the quoted 8.00 by more than 10%", item.error_message)
        self.assertEqual(item.res_id, picking.id)
        within = self.make_order()  # the quote is the rate: within tolerance
        self.ship(within)
        self.assertEqual(
            self.env["integration.message"].search_count(
                [("message_type", "=", "carrier.label.price")]
            ),
            1,
        )
