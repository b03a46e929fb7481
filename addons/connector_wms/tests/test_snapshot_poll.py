"""Stock snapshots (pushed and pulled by pages) reconciled by system of
record, with tolerance and refusal; the events poll backstop; signed
webhooks from the sandbox into Odoo."""

import json

from odoo.tests import tagged

from .common import WmsCase, WmsHttpCase, trapped_jobs


@tagged("post_install", "-at_install")
class TestSnapshot(WmsCase):
    def setUp(self):
        super().setUp()
        self.put(self.cap, 10)
        self.put(self.vial, 4, lot="SNAP-L1")

    def wms_stock(self, cap, vial):
        self.wms.set_stock(
            [
                {"sku": "CAP-BLUE", "quantity": cap, "location": "A-01"},
                {"sku": "VIAL", "lot": "SNAP-L1", "quantity": vial, "location": "B-02"},
            ],
            replace=True,
        )

    def odoo_qty(self, product, lot=None):
        quants = self.env["stock.quant"].search(
            [
                ("product_id", "=", product.id),
                ("location_id", "child_of", self.stock.id),
            ]
        )
        if lot:
            quants = quants.filtered(lambda q: q.lot_id.name == lot)
        return sum(quants.mapped("quantity"))

    def test_wms_owns_stock_one_adjustment_per_snapshot(self):
        self.wms_stock(cap=8, vial=5)
        message = self.deliver_event(self.wms.push_snapshot())
        self.assertEqual(message.state, "done", message.error_message)
        self.assertFalse(message.needs_attention)
        self.assertEqual(self.odoo_qty(self.cap), 8)
        self.assertEqual(self.odoo_qty(self.vial, "SNAP-L1"), 5)
        differences = self.env["wms.stock.difference"].search(
            [("message_id", "=", message.id)]
        )
        self.assertEqual(
            sorted(
                (d.sku, d.lot_name or "", d.odoo_qty, d.wms_qty, d.outcome)
                for d in differences
            ),
            [
                ("CAP-BLUE", "", 10.0, 8.0, "adjusted"),
                ("VIAL", "SNAP-L1", 4.0, 5.0, "adjusted"),
            ],
        )
        self.assertTrue(all(d.move_ids for d in differences))
        self.assertEqual(
            set(differences.move_ids.mapped("reference")),
            {f"WMS snapshot {json.loads(message.payload)['data']['snapshot_id']}"},
        )
        # the same snapshot again changes nothing (a duplicate)
        self.assertEqual(self.deliver_event(json.loads(message.payload)), message)

    def test_odoo_owns_stock_differences_are_listed(self):
        self.backend._sync_rule("stock_level").system_of_record = "odoo"
        self.backend.wms_stock_tolerance = 1
        self.wms_stock(cap=7, vial=5)  # the vial is within tolerance
        self.wms.set_stock([{"sku": "GHOST", "quantity": 2}], add=True)
        message = self.deliver_event(self.wms.push_snapshot())
        self.assertEqual(message.state, "done")
        self.assertTrue(message.needs_attention)
        snapshot_id = json.loads(message.payload)["data"]["snapshot_id"]
        self.assertEqual(
            message.business_exception,
            f"WMS stock snapshot {snapshot_id}: 1 difference(s) with Odoo, which is "
            "the system of record for stock (nothing was adjusted).\n"
            "- SKU 'CAP-BLUE': Odoo 10, WMS 7\n"
            "- SKU 'GHOST': WMS 2, no product has this internal reference",
        )
        self.assertEqual(self.odoo_qty(self.cap), 10)

    def test_released_deliveries_not_confirmed_are_counted(self):
        picking = self.released(self.delivery([(self.cap, 3)]))
        self.assertEqual(picking.wms_state, "released")
        self.wms_stock(
            cap=7, vial=4
        )  # the WMS shipped 3, its confirmation is on its way
        message = self.deliver_event(self.wms.push_snapshot())
        self.assertEqual(message.state, "done")
        self.assertFalse(
            self.env["wms.stock.difference"].search([("message_id", "=", message.id)])
        )
        self.assertEqual(self.odoo_qty(self.cap), 10)

    def test_truncated_or_altered_snapshot_is_refused(self):
        self.wms_stock(cap=1, vial=1)
        for corrupt, words in (
            ("line_count", "declares 2 line(s) but 1 arrived"),
            ("checksum", "checksum does not match"),
        ):
            message = self.deliver_event(self.wms.push_snapshot(corrupt=corrupt))
            self.assertEqual(
                (message.state, message.error_category), ("failed", "validation")
            )
            self.assertIn(words, message.error_message)
            self.assertIn("Nothing was applied", message.error_message)
        self.assertEqual(self.odoo_qty(self.cap), 10)

    def test_pulled_by_pages_from_the_button(self):
        self.backend.wms_page_size = 1
        self.wms_stock(cap=9, vial=4)
        result = self.backend.action_wms_reconcile_now()
        self.assertEqual(result["params"]["type"], "success")
        self.assertEqual(self.odoo_qty(self.cap), 9)
        message = self.messages(message_type="wms.snapshot")
        self.assertEqual(message.state, "done")
        pages = self.env["integration.call.log"].search(
            [("backend_id", "=", self.backend.id), ("url", "like", "stock-snapshots/")]
        )
        self.assertEqual(len(pages), 2)


@tagged("post_install", "-at_install")
class TestEventsPoll(WmsCase):
    def test_poll_finds_lost_webhooks_and_applies_them_once(self):
        self.put(self.cap, 4)
        picking = self.released(self.delivery([(self.cap, 2)]))
        self.wms.configure(lose_webhooks=5)
        (event,) = self.wms.ship(picking.name)
        delivered = self.deliver_event(event)  # this one came after all
        rule = self.backend._sync_rule("shipment_confirmation")
        with trapped_jobs() as trap:
            queued = self.backend._poll(rule)
            self.perform_jobs(trap)
        # the poll lists the acknowledgement and the shipment; the
        # shipment is a duplicate
        self.assertEqual(queued, 1)
        self.assertEqual(delivered.duplicate_count, 1)
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.wms_state, "shipped")
        self.assertTrue(rule.cursor)
        statuses = self.messages(message_type="wms.order_status")
        self.assertEqual(statuses.state, "done")
        # nothing new: the next poll queues nothing
        with trapped_jobs() as trap:
            self.assertEqual(self.backend._poll(rule), 0)


@tagged("post_install", "-at_install")
class TestWebhooksEndToEnd(WmsHttpCase):
    def test_signed_webhooks_from_the_wms_with_duplicates_and_bad_signature(self):
        self.put(self.cap, 4)
        picking = self.released(self.delivery([(self.cap, 2)]))
        # from now on the WMS's webhooks come to this Odoo (not while this
        # test's own thread works on the shared test cursor)
        self.wms.configure(
            webhook_url=self.webhook_url(), webhook_secret="sandbox-wms-secret"
        )
        self.sandbox.add_fault(
            system="wms", match="webhook", kind="duplicate_delivery", count=1
        )
        with trapped_jobs() as trap:
            self.wms.ship(picking.name)
            self.sandbox.drain(timeout=30)
            self.perform_jobs(trap)
        self.env.invalidate_all()
        self.assertEqual(picking.state, "done")
        shipment = self.messages(message_type="wms.shipment")
        self.assertEqual(len(shipment), 1)
        self.assertEqual(shipment.state, "done", shipment.error_message)
        self.assertEqual(picking.wms_state, "shipped")
        body = b'{"event_id": "evt-forged", "event_type": "order.status"}'
        response = self.url_open(
            f"/integration/webhook/{self.backend.id}",
            data=body,
            headers={
                "X-Integration-Signature": "forged",
                "Content-Type": "application/json",
            },
        )
        self.assertEqual(response.status_code, 401)
        self.assertFalse(self.messages(external_id="evt-forged"))
