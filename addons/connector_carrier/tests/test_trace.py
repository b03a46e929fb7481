"""The carrier's steps of an order's trace: label and tracking, each
tracking event at the carrier's time, delivered with its proof (replacing
the "delivered" event), a delivery failure as the stuck step. Built with
the ORM."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import IntegrationCase

CARRIER_KEYS = {"carrier.label", "carrier.tracking", "carrier.delivered"}


@tagged("post_install", "-at_install")
class TestCarrierTrace(IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.carrier_backend = (
            env["integration.backend"]
            .sudo()
            .create(
                {
                    "name": "Trace carrier",
                    "connector_type": "carrier",
                    "base_url": "http://127.0.0.1:9",
                    "api_key": "token",
                    "webhook_secret": "secret",
                }
            )
        )
        warehouse = env["stock.warehouse"].search(
            [("company_id", "=", env.company.id)], limit=1
        )
        cls.picking = env["stock.picking"].create(
            {
                "picking_type_id": warehouse.out_type_id.id,
                "partner_id": env["res.partner"].create({"name": "Parcel to"}).id,
                "location_id": warehouse.lot_stock_id.id,
                "location_dest_id": env.ref("stock.stock_location_customers").id,
            }
        )
        cls.t0 = fields.Datetime.now() - timedelta(days=2)
        cls.shipment = env["carrier.shipment"].create(
            {
                "backend_id": cls.carrier_backend.id,
                "company_id": env.company.id,
                "picking_id": cls.picking.id,
                "reference": f"trace-{cls.picking.id}",
                "tracking_code": "EZ1000TRACE",
                "service": "USPS:Priority",
                "price": 7.5,
                "currency_name": "USD",
            }
        )

    def setUp(self):
        super().setUp()
        # the label was bought when the parcel left, before its events
        self.env.cr.execute(
            "UPDATE carrier_shipment SET create_date = %s WHERE id = %s",
            (self.t0, self.shipment.id),
        )
        self.shipment.invalidate_recordset(["create_date"])

    def _event(self, status, state, hours, key=None, message=""):
        return self.env["carrier.tracking.event"].create(
            {
                "shipment_id": self.shipment.id,
                "key": key or f"{status}-{hours}",
                "status": status,
                "delivery_state": state,
                "message": message,
                "location": "Ghent",
                "event_time": self.t0 + timedelta(hours=hours),
            }
        )

    def _tracker_message(self, key, hours):
        message, _c = self.env["integration.message"]._intake(
            self.carrier_backend, "tracker.updated", key, b"{}", enqueue=False
        )
        message.sudo()._mark_done(self.picking)
        message.sudo().write({"received_at": self.t0 + timedelta(hours=hours)})
        return message

    def test_tracking_timeline_and_delivery_with_proof(self):
        first = self._tracker_message("trk-1", 1.5)
        last = self._tracker_message("trk-2", 30.5)
        self._event("in_transit", "in_transit", 1, message="Accepted")
        self._event("out_for_delivery", "out_for_delivery", 28)
        self._event("delivered", "delivered", 30, message="Delivered")
        self.shipment.write(
            {
                "delivery_state": "delivered",
                "status": "delivered",
                "delivered_at": self.t0 + timedelta(hours=30),
                "signed_by": "A. Lee",
                "delivered_place": "Front door",
            }
        )
        steps = [
            s for s in self.picking._integration_trace() if s["key"] in CARRIER_KEYS
        ]
        self.assertEqual(
            [s["label"] for s in steps],
            [
                "Label and tracking",
                "Tracking: In transit",
                "Tracking: Out for delivery",
                "Delivered with proof",
            ],
        )
        self.assertIn("EZ1000TRACE (USPS:Priority, 7.50 USD)", steps[0]["detail"])
        self.assertEqual(steps[1]["message_id"], first.id)
        self.assertEqual(steps[2]["wait"], "27 h")
        delivered = steps[3]
        self.assertEqual(delivered["message_id"], last.id)
        self.assertEqual(delivered["wait_seconds"], 2 * 3600)
        self.assertIn("signed by A. Lee at Front door", delivered["detail"])
        # nothing more is expected of the carrier
        self.assertFalse([s for s in steps if not s["at"]])
        self.assertFalse([s for s in steps if s["exception_ids"]])

    def test_a_delivery_failure_is_the_stuck_step(self):
        self._event("in_transit", "in_transit", 1)
        self._event("failure", "failure", 20, message="Address not found")
        self.shipment.write({"delivery_state": "failure", "status": "failure"})
        item = self.env["integration.message"]._desk_item_raise(
            self.carrier_backend,
            "carrier.delivery.failure",
            self.picking,
            "Parcel EZ1000TRACE: address not found",
            key=f"carrier.shipment,{self.shipment.id}",
        )
        summary = self.picking._integration_trace_summary()
        stuck = summary["steps"][summary["stuck"]]
        self.assertEqual(stuck["label"], "Tracking: Delivery failure")
        self.assertEqual(stuck["exception_ids"], [item.id])
        self.assertEqual(summary["state"], "stuck")
        self.assertIn("address not found", summary["headline"])
        # the item is claimed by its step, not repeated as a step of its own
        self.assertNotIn("exception", [s["key"] for s in summary["steps"]])
        # the parcel is not delivered yet: expected, after the failure
        expected = [s for s in summary["steps"] if s["key"] == "carrier.delivered"]
        self.assertEqual(len(expected), 1)
        self.assertFalse(expected[0]["at"])
        self.assertIn(expected[0]["status"], ("next", "pending"))
