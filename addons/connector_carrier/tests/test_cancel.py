"""Cancel that voids: the refund is requested, its state shows on the
picking, a rejected refund is a business exception, the void label stays."""

from .common import CarrierCase

DESK = "carrier.refund.rejected"


class TestCancel(CarrierCase):
    def test_cancel_requests_the_refund_and_keeps_the_label(self):
        picking = self.ship()
        shipment = picking.carrier_shipment_ids
        label = shipment.label_attachment_id
        code = shipment.tracking_code
        picking.cancel_shipment()
        self.assertEqual(shipment.state, "voided")
        self.assertEqual(shipment.refund_status, "submitted")
        self.assertEqual(picking.integration_refund_state, "submitted")
        self.assertFalse(picking.carrier_tracking_ref)
        self.assertTrue(label.exists())  # the void label stays on record
        remote = self.remote.api("GET", f"shipments/{shipment.shipment_ext_id}").json()
        self.assertEqual(remote["refund_status"], "submitted")
        # the carrier refunds it; the refund poll reads it
        self.remote.refund_result(shipment.shipment_ext_id, "refunded")
        self.backend._poll(self.backend._sync_rule("refund"))
        self.assertEqual(picking.integration_refund_state, "refunded")
        # shipping again buys a new label under a new reference
        picking.carrier_id.send_shipping(picking)
        new = picking.carrier_shipment_ids - shipment
        self.assertEqual(len(new), 1)
        self.assertNotEqual(new.tracking_code, code)
        self.assertTrue(new.reference.endswith("-2"))
        self.assertEqual(len(self.remote.purchases()), 2)

    def test_cancel_voids_the_return_label_too(self):
        self.carrier.return_label_on_delivery = True
        picking = self.ship()
        back = picking.carrier_return_shipment_ids
        self.assertEqual(back.state, "bought")
        picking.cancel_shipment()
        self.assertEqual(picking.carrier_shipment_ids.state, "voided")
        self.assertEqual((back.state, back.refund_status), ("voided", "submitted"))
        remote = self.remote.api("GET", f"shipments/{back.shipment_ext_id}").json()
        self.assertEqual(remote["refund_status"], "submitted")

    def test_rejected_later_is_a_business_exception(self):
        picking = self.ship()
        shipment = picking.carrier_shipment_ids
        picking.cancel_shipment()
        self.remote.refund_result(shipment.shipment_ext_id, "rejected")
        self.backend._poll(self.backend._sync_rule("refund"))
        self.assertEqual(picking.integration_refund_state, "rejected")
        item = self.env["integration.message"].search([("message_type", "=", DESK)])
        self.assertEqual(len(item), 1)
        self.assertTrue(item.needs_attention)
        self.assertIn(f"Refund of label {shipment.tracking_code}", item.error_message)
        self.assertEqual((item.res_model, item.res_id), ("stock.picking", picking.id))
        item.action_retry()  # still rejected at the carrier
        self.assertTrue(item.needs_attention)

    def test_refused_at_once_keeps_the_tracking_number(self):
        picking = self.ship()
        shipment = picking.carrier_shipment_ids
        self.advance(shipment, walk="in_transit")
        picking.cancel_shipment()
        self.assertEqual(shipment.state, "bought")
        self.assertEqual(shipment.refund_status, "rejected")
        self.assertEqual(picking.carrier_tracking_ref, shipment.tracking_code)
        item = self.env["integration.message"].search([("message_type", "=", DESK)])
        self.assertIn("in transit cannot be refunded", item.business_exception)
