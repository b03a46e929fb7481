"""Release of reserved deliveries through the outbox: policies, revisions,
held reservations, Odoo's Validate blocked, the WMS's refusals."""

from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import WmsCase


@tagged("post_install", "-at_install")
class TestRelease(WmsCase):
    def test_fully_reserved_delivery_is_released_once(self):
        self.put(self.cap, 5)
        picking = self.delivery([(self.cap, 3)])
        self.assertEqual(picking.wms_state, "to_release")
        self.released(picking)
        (message,) = self.messages(message_type="wms.release")
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(message.direction, "out")
        self.assertEqual(picking.wms_state, "released")
        self.assertEqual(
            (picking.wms_order_ref, picking.wms_revision), (picking.name, 1)
        )
        order = self.wms.order(picking.name)
        self.assertEqual(order["revision"], 1)
        self.assertEqual(
            [(line["sku"], line["quantity"]) for line in order["lines"]],
            [("CAP-BLUE", 3)],
        )
        self.assertEqual(order["body"]["ship_to"]["city"], "Ghent")
        self.assertEqual(message._related_record(), picking)
        # recorded again without a change: nothing is sent again
        picking._wms_record_change()
        self.commit_and_run()
        self.assertEqual(self.wms.order(picking.name)["revision"], 1)
        calls = self.env["integration.call.log"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertEqual(len(calls), 1)

    def test_validate_is_blocked_once_released(self):
        self.put(self.cap, 5)
        picking = self.released(self.delivery([(self.cap, 1)]))
        with self.assertRaisesRegex(UserError, "released to the warehouse system"):
            picking.button_validate()
        self.assertEqual(picking.state, "assigned")

    def test_not_fully_reserved_waits_or_goes_partially_by_policy(self):
        self.put(self.cap, 2)
        picking = self.released(self.delivery([(self.cap, 3)]))
        self.assertEqual(picking.wms_state, "waiting")
        self.assertFalse(self.messages(message_type="wms.release"))
        self.assertFalse(self.wms.state()["orders"])
        # the partial policy releases what is reserved, the rest kept back
        self.backend.wms_release_policy = "partial"
        picking._wms_record_change()
        self.commit_and_run()
        self.assertEqual(picking.wms_state, "released")
        order = self.wms.order(picking.name)
        self.assertEqual(order["lines"][0]["quantity"], 2)
        self.assertEqual(picking.move_ids.wms_released_qty, 2)

    def test_reservation_lost_before_sending_is_held_not_sent(self):
        self.put(self.cap, 5)
        picking = self.delivery([(self.cap, 2)])
        self.assertEqual(picking.wms_state, "to_release")
        picking.do_unreserve()
        self.commit_and_run()
        self.assertEqual(picking.wms_state, "held")
        self.assertFalse(self.wms.state()["orders"])
        # reserved again: released
        picking.action_assign()
        self.commit_and_run()
        self.assertEqual(picking.wms_state, "released")
        self.assertTrue(self.wms.order(picking.name))

    def test_a_change_is_a_new_revision_or_a_refusal(self):
        self.put(self.cap, 5)
        picking = self.released(self.delivery([(self.cap, 3)]))
        picking.move_ids.product_uom_qty = 2
        self.commit_and_run()
        self.assertEqual(picking.wms_revision, 2)
        order = self.wms.order(picking.name)
        self.assertEqual((order["revision"], order["lines"][0]["quantity"]), (2, 2))
        # address change after the WMS started picking: refused, on the desk
        self.wms.pick(picking.name)
        other = self.env["res.partner"].create({"name": "Bob", "city": "Bruges"})
        picking.partner_id = other
        self.commit_and_run()
        message = self.messages(message_type="wms.release")[-1]
        self.assertEqual(message.state, "done")
        self.assertIn(
            f"Delivery {picking.name}: the WMS refuses the change",
            message.error_message,
        )
        self.assertTrue(message.needs_attention)
        self.assertEqual(picking.wms_revision, 2)
        self.assertEqual(self.wms.order(picking.name)["revision"], 2)

    def test_a_wms_that_takes_no_changes_gets_none(self):
        self.backend.wms_accepts_changes = False
        self.put(self.cap, 5)
        picking = self.released(self.delivery([(self.cap, 3)]))
        picking.move_ids.product_uom_qty = 1
        self.commit_and_run()
        message = self.messages(message_type="wms.release")[-1]
        self.assertIn("the WMS takes no changes", message.error_message)
        self.assertEqual(self.wms.order(picking.name)["revision"], 1)

    def test_a_product_without_sku_is_named(self):
        nameless = self.env["product.product"].create(
            {"name": "Mystery box", "type": "consu"}
        )
        self.put(self.cap, 5)
        self.released(self.delivery([(self.cap, 1), (nameless, 1)]))
        message = self.messages(message_type="wms.release")[-1]
        self.assertIn("'Mystery box' have no internal reference", message.error_message)
        self.assertFalse(self.wms.state()["orders"])

    def test_faults_are_retried_and_the_release_lands_once(self):
        self.put(self.cap, 5)
        # the client's own retries (4 calls) fail: the message retries later
        self.sandbox.add_fault(
            system="wms", match="api", kind="http_status", status=503, count=4
        )
        picking = self.released(self.delivery([(self.cap, 1)]))
        message = self.messages(message_type="wms.release")
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(message.attempts, 2)
        self.assertEqual(picking.wms_state, "released")
        self.assertEqual(self.wms.order(picking.name)["revision"], 1)
        self.assertEqual(len(self.wms.state()["orders"]), 1)

    def test_connection_signals_and_defaults(self):
        result = self.backend.action_test_connection()
        self.assertEqual(result["params"]["type"], "success", result["params"])
        self.assertIn("contract v1", result["params"]["message"])
        self.assertIn(self.warehouse.name, result["params"]["message"])
        rules = {
            r.business_object: (r.system_of_record, r.direction)
            for r in self.backend.sync_rule_ids
        }
        self.assertEqual(rules["dispatch"], ("odoo", "both"))
        self.assertEqual(rules["shipment_confirmation"], ("external", "import"))
        self.assertEqual(rules["stock_level"], ("external", "import"))
        self.put(self.cap, 1)
        self.released(self.delivery([(self.cap, 1)]))
        self.released(self.delivery([(self.cap, 3)]))  # waits for stock
        self.backend.write({"wms_signal_release_hours": 0, "wms_signal_ship_hours": 0})
        signals = {r["key"]: r for r in self.backend._business_signal_rows()}
        self.assertEqual(signals["not_released"]["count"], 1)
        self.assertEqual(
            signals["not_released"]["label"],
            "delivery orders not yet released to the warehouse",
        )
        self.assertEqual(signals["not_shipped"]["count"], 1)
        self.backend.api_key = "wrong"
        result = self.backend.action_test_connection()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn("refused the credentials", result["params"]["message"])
