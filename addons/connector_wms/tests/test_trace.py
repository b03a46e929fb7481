"""The WMS's steps of an order's trace: reserved, released, acknowledged,
shipped with quantities and lots (replacing Odoo's own "shipped"), in time
order with their waits, and where the delivery waits. Built with the ORM."""

import json
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import IntegrationCase

WMS_KEYS = {
    "wms.reserved",
    "wms.released",
    "wms.acknowledged",
    "wms.shipped",
    "stock.shipped",
}


@tagged("post_install", "-at_install")
class TestWmsTrace(IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        cls.wms = (
            env["integration.backend"]
            .sudo()
            .create(
                {
                    "name": "Trace WMS",
                    "connector_type": "wms",
                    "base_url": "http://127.0.0.1:9",
                    "api_key": "token",
                    "webhook_secret": "secret",
                }
            )
        )
        cls.warehouse = env["stock.warehouse"].search(
            [("company_id", "=", env.company.id)], limit=1
        )
        cls.warehouse.wms_backend_id = cls.wms
        cls.vial = env["product.product"].create(
            {
                "name": "Vial",
                "default_code": "VIAL-TRACE",
                "type": "product",
                "tracking": "lot",
            }
        )
        cls.lot = env["stock.lot"].create(
            {"name": "L-TRACE", "product_id": cls.vial.id, "company_id": env.company.id}
        )
        env["stock.quant"]._update_available_quantity(
            cls.vial, cls.warehouse.lot_stock_id, 5, lot_id=cls.lot
        )
        cls.customer = env["res.partner"].create({"name": "WMS trace customer"})

    def _delivery(self):
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": self.warehouse.out_type_id.id,
                "partner_id": self.customer.id,
                "location_id": self.warehouse.lot_stock_id.id,
                "location_dest_id": self.env.ref("stock.stock_location_customers").id,
                "move_ids": [
                    (
                        0,
                        0,
                        {
                            "name": "Vial",
                            "product_id": self.vial.id,
                            "product_uom_qty": 2,
                            "product_uom": self.vial.uom_id.id,
                            "location_id": self.warehouse.lot_stock_id.id,
                            "location_dest_id": self.env.ref(
                                "stock.stock_location_customers"
                            ).id,
                        },
                    )
                ],
            }
        )
        picking.action_confirm()
        picking.action_assign()
        return picking

    def _released(self, picking, at):
        picking.write(
            {
                "wms_state": "released",
                "wms_released_at": at,
                "wms_order_ref": picking.name,
            }
        )
        message, _c = self.env["integration.message"]._intake(
            self.wms,
            "wms.release",
            f"release-{picking.id}",
            b"{}",
            direction="out",
            enqueue=False,
        )
        message.sudo()._mark_done(picking)
        return message

    def _status(self, picking, status, at):
        body = {
            "event_id": f"ev-{picking.id}-{status}",
            "event_type": "order.status",
            "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "data": {"order_ref": picking.name, "status": status},
        }
        message, _c = self.env["integration.message"]._intake(
            self.wms,
            "wms.order_status",
            body["event_id"],
            json.dumps(body).encode(),
            enqueue=False,
        )
        message.sudo()._mark_done(picking)
        return message

    def test_released_not_shipped_yet(self):
        picking = self._delivery()
        self.assertEqual(picking.state, "assigned")
        released_at = fields.Datetime.now() - timedelta(hours=3)
        release = self._released(picking, released_at)
        summary = picking._integration_trace_summary()
        steps = [s for s in summary["steps"] if s["key"] in WMS_KEYS]
        self.assertEqual(
            [s["key"] for s in steps], ["wms.reserved", "wms.released", "wms.shipped"]
        )
        released = steps[1]
        self.assertEqual(released["at"], released_at)
        self.assertEqual(released["message_id"], release.id)
        self.assertTrue(released["stuck"])
        self.assertEqual(released["status"], "current")
        self.assertEqual(steps[2]["status"], "next")
        self.assertEqual(steps[2]["wait"], "3 h")
        # Odoo's own "shipped" gives way to the WMS's
        self.assertNotIn("stock.shipped", [s["key"] for s in summary["steps"]])
        self.assertEqual(
            summary["headline"], "Released to the WMS 3 h ago, not shipped yet."
        )

    def test_acknowledged_and_shipped_with_lots(self):
        picking = self._delivery()
        start = fields.Datetime.now() - timedelta(hours=5)
        self._released(picking, start)
        ack = self._status(picking, "acknowledged", start + timedelta(minutes=20))
        # the WMS's confirmation: quantities and lots, then the shipment record
        picking.move_line_ids.write({"quantity": 2, "lot_id": self.lot.id})
        picking.move_ids.picked = True
        picking.with_context(wms_confirmation=True)._action_done()
        shipped_at = start + timedelta(hours=2)
        confirmation, _c = self.env["integration.message"]._intake(
            self.wms, "wms.shipment", f"ship-{picking.id}", b"{}", enqueue=False
        )
        confirmation.sudo()._mark_done(picking)
        picking.wms_state = "shipped"
        self.env["wms.shipment"].create(
            {
                "name": "Shipment 1",
                "backend_id": self.wms.id,
                "external_id": f"S-{picking.id}",
                "order_ref": picking.name,
                "sequence": 1,
                "final": True,
                "shipment_count": 1,
                "shipped_at": shipped_at,
                "picking_id": picking.id,
                "message_id": confirmation.id,
                "package_ids": [(0, 0, {"name": "P1", "tracking_number": "1Z9"})],
            }
        )
        steps = [s for s in picking._integration_trace() if s["key"] in WMS_KEYS]
        self.assertEqual(
            [s["key"] for s in steps],
            ["wms.reserved", "wms.released", "wms.acknowledged", "wms.shipped"],
        )
        acknowledged, shipped = steps[2], steps[3]
        self.assertEqual(acknowledged["message_id"], ack.id)
        self.assertEqual(acknowledged["at"], start + timedelta(minutes=20))
        self.assertEqual(acknowledged["wait_seconds"], 20 * 60)
        self.assertEqual(shipped["at"], shipped_at)
        self.assertEqual(shipped["message_id"], confirmation.id)
        self.assertIn("2 x VIAL-TRACE (lot L-TRACE)", shipped["detail"])
        self.assertIn("P1 (1Z9)", shipped["detail"])
        self.assertEqual(shipped["wait"], "1 h")
        self.assertFalse(any(s["status"] == "next" for s in steps))
