"""Cancel in two phases, order status events, receipts announced and
confirmed (lots, rejected quantities, backorders)."""

import json

from odoo.tests import tagged

from ..contract.schemas import schema_text
from .common import WmsCase, trapped_jobs


def status_event(ref, status, event_id, occurred_at="2026-12-01T10:00:00Z", **data):
    return {
        "event_id": event_id,
        "event_type": "order.status",
        "occurred_at": occurred_at,
        "data": {"order_ref": ref, "status": status, **data},
    }


@tagged("post_install", "-at_install")
class TestCancel(WmsCase):
    def released_delivery(self, quantity=2):
        self.put(self.cap, quantity)
        picking = self.released(self.delivery([(self.cap, quantity)]))
        self.assertEqual(picking.wms_state, "released")
        return picking

    def cancel(self, picking):
        with trapped_jobs() as trap:
            picking.action_cancel()
            self.assertEqual(picking.state, "assigned")  # asked, not cancelled
            self.assertEqual(picking.wms_state, "cancel_requested")
            self.perform_jobs(trap)
        return self.messages(message_type="wms.cancel")[-1]

    def test_cancel_confirmed_by_the_wms_cancels(self):
        picking = self.released_delivery()
        message = self.cancel(picking)
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(message.direction, "out")
        self.assertEqual(picking.state, "cancel")
        self.assertEqual(picking.wms_state, "cancelled")
        self.assertEqual(self.wms.order(picking.name)["status"], "cancelled")

    def test_cancel_refused_cancels_nothing(self):
        picking = self.released_delivery()
        self.wms.pick(picking.name)
        message = self.cancel(picking)
        self.assertEqual(message.state, "done")
        self.assertTrue(message.needs_attention)
        self.assertEqual(
            message.error_message,
            f"Delivery {picking.name}: the WMS refused to cancel it (order "
            f"{picking.name} is already picked). Nothing was cancelled; the WMS "
            "will ship it.",
        )
        self.assertEqual(picking.state, "assigned")
        self.assertEqual(picking.wms_state, "released")
        # the WMS's own cancel_refused event afterwards changes nothing more
        event = status_event(picking.name, "cancel_refused", "evt-c-1", reason="picked")
        self.assertEqual(self.deliver_event(event).state, "done")
        self.assertEqual(picking.state, "assigned")

    def test_a_cancel_the_wms_answers_later(self):
        picking = self.released_delivery()
        self.sandbox.add_fault(
            system="wms",
            match="/cancel$",
            kind="http_status",
            status=202,
            body={"status": "cancel_requested"},
            count=1,
        )
        message = self.cancel(picking)
        self.assertEqual(message.state, "done")
        self.assertEqual(picking.wms_state, "cancel_requested")
        self.deliver_event(status_event(picking.name, "cancelled", "evt-c-2"))
        self.assertEqual(picking.state, "cancel")

    def test_status_events_acknowledge_and_older_ones_are_skipped(self):
        picking = self.released_delivery()
        ack = self.deliver_event(
            status_event(
                picking.name, "acknowledged", "evt-s-1", "2026-12-01T10:00:00Z"
            )
        )
        self.assertEqual(ack.state, "done", ack.error_message)
        self.assertEqual(picking.wms_state, "acknowledged")
        self.deliver_event(
            status_event(picking.name, "picked", "evt-s-3", "2026-12-01T10:05:00Z")
        )
        older = self.deliver_event(
            status_event(picking.name, "received", "evt-s-2", "2026-12-01T10:01:00Z")
        )
        self.assertEqual(older.state, "ignored")
        self.assertEqual(picking.wms_remote_status, "picked")
        refused = self.deliver_event(
            status_event(
                picking.name,
                "refused",
                "evt-s-4",
                "2026-12-01T10:06:00Z",
                reason="address incomplete",
            )
        )
        self.assertEqual(
            refused.error_message,
            f"Delivery {picking.name}: the WMS refused the order (address incomplete).",
        )
        self.assertEqual(picking.wms_state, "refused")
        # the message types carry the contract's schemas
        self.assertEqual(
            ack.message_type_id.json_schema, schema_text("wms.order_status")
        )


@tagged("post_install", "-at_install")
class TestSaleOrderCancel(WmsCase):
    """Cancelling the sale order of a delivery at the WMS: asked of the WMS
    like the delivery's own cancel; the order is cancelled when the WMS
    confirms and stays confirmed when it refuses."""

    def released_order(self, quantity=2):
        self.put(self.cap, quantity)
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "warehouse_id": self.warehouse.id,
                "order_line": [
                    (0, 0, {"product_id": self.cap.id, "product_uom_qty": quantity})
                ],
            }
        )
        order.action_confirm()
        (picking,) = order.picking_ids
        self.released(picking)
        self.assertEqual(picking.wms_state, "released")
        return order, picking

    def cancel(self, order, picking):
        with trapped_jobs() as trap:
            # what the cancel wizard's button does
            order.with_context(disable_cancel_warning=True).action_cancel()
            # nothing is cancelled before the WMS answered
            self.assertEqual(order.state, "sale")
            self.assertEqual(picking.state, "assigned")
            self.assertEqual(picking.wms_state, "cancel_requested")
            self.perform_jobs(trap)
        message = self.messages(message_type="wms.cancel")[-1]
        self.assertIn(order.name, json.loads(message.payload)["reason"])
        return message

    def test_cancel_confirmed_by_the_wms_cancels_order_and_delivery(self):
        order, picking = self.released_order()
        message = self.cancel(order, picking)
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(picking.state, "cancel")
        self.assertEqual(picking.wms_state, "cancelled")
        self.assertEqual(order.state, "cancel")
        self.assertEqual(self.wms.order(picking.name)["status"], "cancelled")

    def test_cancel_refused_keeps_the_order_confirmed(self):
        order, picking = self.released_order()
        self.wms.pick(picking.name)
        message = self.cancel(order, picking)
        self.assertEqual(message.state, "done")
        self.assertTrue(message.needs_attention)
        self.assertEqual(
            message.error_message,
            f"Delivery {picking.name}: the WMS refused to cancel it (order "
            f"{picking.name} is already picked), so sale order {order.name} was not "
            "cancelled: it stays confirmed and the WMS will ship it. Agree a return "
            "with the customer, or cancel what is left after the shipment.",
        )
        self.assertEqual(
            (message.res_model, message.res_id), (picking._name, picking.id)
        )
        self.assertEqual(order.state, "sale")
        self.assertEqual(picking.state, "assigned")
        self.assertEqual(picking.wms_state, "released")
        self.assertFalse(picking.wms_cancel_with_order)
        self.assertIn("refused to cancel", order.message_ids[0].body)

    def test_cancel_the_wms_confirms_later_by_event(self):
        order, picking = self.released_order()
        self.sandbox.add_fault(
            system="wms",
            match="/cancel$",
            kind="http_status",
            status=202,
            body={"status": "cancel_requested"},
            count=1,
        )
        self.cancel(order, picking)
        self.assertEqual(order.state, "sale")
        self.deliver_event(status_event(picking.name, "cancelled", "evt-so-1"))
        self.assertEqual(picking.state, "cancel")
        self.assertEqual(order.state, "cancel")

    def test_an_order_without_a_delivery_at_the_wms_cancels_at_once(self):
        self.backend.wms_release_policy = "full"
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "warehouse_id": self.warehouse.id,
                "order_line": [
                    (0, 0, {"product_id": self.cap.id, "product_uom_qty": 5})
                ],
            }
        )
        order.action_confirm()  # nothing in stock: not released
        self.assertFalse(order.picking_ids.wms_state in ("released", "acknowledged"))
        order.with_context(disable_cancel_warning=True).action_cancel()
        self.assertEqual(order.state, "cancel")
        self.assertEqual(order.picking_ids.state, "cancel")


@tagged("post_install", "-at_install")
class TestReceipt(WmsCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rejected = cls.env["stock.location"].create(
            {
                "name": "Rejected by the WMS",
                "usage": "internal",
                "location_id": cls.stock.location_id.id,
            }
        )

    def announced(self, lines):
        picking = self.released(self.receipt(lines))
        self.assertEqual(picking.wms_state, "announced")
        return picking

    def test_receipt_announced_and_confirmed_with_lots_and_rejects(self):
        self.backend.wms_reject_location_id = self.rejected
        picking = self.announced([(self.vial, 6), (self.cap, 4)])
        receipt = self.wms.receipt(picking.name)
        self.assertEqual(
            [line["sku"] for line in receipt["lines"]], ["VIAL", "CAP-BLUE"]
        )
        event = self.wms.receive(
            picking.name,
            final=False,
            lines=[
                {
                    "sku": "VIAL",
                    "line_id": self.line_of(picking, self.vial),
                    "quantity_received": 5,
                    "quantity_rejected": 1,
                    "reject_reason": "damaged",
                    "lots": [
                        {"lot": "RL-1", "quantity": 5, "expiry_date": "2028-03-31"}
                    ],
                },
                {"sku": "CAP-BLUE", "quantity_received": 3},
            ],
        )
        message = self.deliver_event(event)
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(picking.state, "done")
        lines = picking.move_line_ids
        self.assertEqual(
            sorted(
                (
                    ml.product_id.default_code,
                    ml.lot_id.name or "",
                    ml.quantity,
                    ml.location_dest_id.name,
                )
                for ml in lines
            ),
            [
                ("CAP-BLUE", "", 3.0, self.stock.name),
                ("VIAL", "RL-1", 1.0, "Rejected by the WMS"),
                ("VIAL", "RL-1", 5.0, self.stock.name),
            ],
        )
        (rest,) = picking.backorder_ids
        self.assertEqual(rest.move_ids.product_uom_qty, 1)
        self.assertEqual(
            (rest.wms_state, rest.wms_order_ref), ("announced", picking.name)
        )
        self.assertEqual(self.deliver_event(event), message)  # once

    def test_rejected_without_a_location_is_an_exception(self):
        picking = self.announced([(self.cap, 4)])
        event = self.wms.receive(
            picking.name,
            lines=[
                {
                    "sku": "CAP-BLUE",
                    "quantity_received": 3,
                    "quantity_rejected": 1,
                    "reject_reason": "wet",
                }
            ],
        )
        message = self.deliver_event(event)
        self.assertEqual(message.state, "failed")
        self.assertEqual(
            message.error_message,
            f"Receipt {picking.name}: the WMS rejected 1 of SKU 'CAP-BLUE' (wet), and "
            "the backend has no location for rejected goods: set one, then Retry. "
            "Nothing was changed.",
        )
        self.assertEqual(picking.state, "assigned")
        self.backend.wms_reject_location_id = self.rejected
        with trapped_jobs() as trap:
            message.action_retry()
            self.perform_jobs(trap)
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(picking.state, "done")
