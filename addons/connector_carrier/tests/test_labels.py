"""Rates and labels through the sandbox: exactly once per package."""

from .common import CarrierCase


class TestLabels(CarrierCase):
    def test_rate_on_the_sale_order(self):
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "order_line": [
                    (
                        0,
                        0,
                        {"product_id": self.products["MUG"].id, "product_uom_qty": 2},
                    )
                ],
            }
        )
        rate = self.carrier.rate_shipment(order)
        self.assertTrue(rate["success"], rate)
        # 1 kg = 35.3 oz: 7.90 + 0.08 x 35.3 = 10.72 USD (company currency USD)
        self.assertAlmostEqual(rate["price"], 10.72, places=2)

    def test_validation_buys_one_label(self):
        picking = self.ship()
        shipments = picking.carrier_shipment_ids
        self.assertEqual(len(shipments), 1)
        self.assertEqual(picking.carrier_tracking_ref, shipments.tracking_code)
        self.assertEqual(len(self.remote.purchases()), 1)
        attachment = shipments.label_attachment_id
        self.assertEqual(
            attachment.name,
            f"LabelShipping-integration_carrier-{shipments.tracking_code}.pdf",
        )
        self.assertTrue(attachment.raw.startswith(b"%PDF"))
