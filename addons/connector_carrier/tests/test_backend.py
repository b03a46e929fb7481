"""The backend's contract hooks (defaults, sync rules, connection test,
webhook registration, envelope, business signals) and the whole loop with
the sandbox sending its own signed webhooks, duplicated and out of order."""

import json

from .common import SECRET, CarrierCase, CarrierHttpCase, trapped_jobs


class TestBackend(CarrierCase):
    def test_defaults_rules_and_connection(self):
        self.assertEqual(self.backend.api_version, "v2")
        self.assertEqual(self.backend.channel, "root.integration.carrier")
        rules = {r.business_object: r for r in self.backend.sync_rule_ids}
        self.assertEqual(set(rules), {"tracking", "refund"})
        self.assertEqual(rules["tracking"].system_of_record, "external")
        self.assertEqual(rules["tracking"].mode, "scheduled")
        self.assertIn("Connected to", self.backend._test_connection())
        self.backend.api_key = "wrong"
        result = self.backend.action_test_connection()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertIn("refused the credentials", result["params"]["message"])

    def test_register_webhook_once(self):
        self.backend.action_carrier_register_webhook()
        self.backend.action_carrier_register_webhook()
        hooks = self.remote.api("GET", "webhooks").json()["webhooks"]
        self.assertEqual(len(hooks), 1)
        self.assertTrue(
            hooks[0]["url"].endswith(f"/integration/webhook/{self.backend.id}")
        )

    def test_envelope_of_anything_signed(self):
        envelope = self.backend._webhook_envelope({}, b"not json")
        self.assertEqual(envelope["message_type"], "unknown")
        self.assertTrue(envelope["idempotency_key"])
        body = json.dumps(
            {
                "id": "evt_1",
                "object": "Event",
                "description": "tracker.updated",
                "result": {"tracking_code": "9400"},
            }
        ).encode()
        envelope = self.backend._webhook_envelope({}, body)
        self.assertEqual(
            (
                envelope["message_type"],
                envelope["idempotency_key"],
                envelope["reference"],
            ),
            ("tracker.updated", "evt_1", "9400"),
        )

    def test_business_signals(self):
        picking = self.ship()
        tracker = self.advance(picking.carrier_shipment_ids, walk="failure")
        self.deliver_event(self.event_body(tracker))
        self.backend.carrier_signal_delivery_days = 0
        signals = {r["key"]: r["count"] for r in self.backend._business_signal_rows()}
        self.assertEqual(signals["failed"], 1)
        self.assertEqual(signals["not_delivered"], 0)


class TestEndToEnd(CarrierHttpCase):
    def test_sandbox_webhooks_duplicated_and_out_of_order(self):
        picking = self.ship()
        shipment = picking.carrier_shipment_ids
        self.remote.api(
            "POST",
            "webhooks",
            json={
                "webhook": {
                    "url": f"{self.base_url()}/integration/webhook/{self.backend.id}",
                    "webhook_secret": SECRET,
                }
            },
        )
        self.sandbox.add_fault(system="carrier", kind="duplicate_delivery", count=1)
        self.sandbox.add_fault(system="carrier", kind="out_of_order", count=4)
        with trapped_jobs() as trap:
            self.remote.advance(
                shipment.tracking_code, walk="delivered", signed_by="DANA"
            )
            self.sandbox.drain(timeout=60)
        deliveries = self.sandbox.deliveries(system="carrier")
        self.assertGreaterEqual(len(deliveries), 6)
        self.assertTrue(all(d["state"] == "delivered" for d in deliveries))
        Message = self.env["integration.message"]
        messages = Message.search(
            [
                ("backend_id", "=", self.backend.id),
                ("message_type", "=", "tracker.updated"),
            ]
        )
        self.assertEqual(len(messages), 5)  # one per event, duplicates counted
        self.assertEqual(sum(messages.mapped("duplicate_count")), 1)
        self.perform_jobs(trap)
        picking.invalidate_recordset()
        shipment.invalidate_recordset()
        self.assertEqual(shipment.delivery_state, "delivered")
        self.assertEqual(picking.integration_signed_by, "DANA")
        self.assertEqual(len(picking.carrier_tracking_event_ids), 6)


class TestRights(CarrierCase):
    def test_clerk_ships_and_cancels_salesman_gets_a_rate(self):
        from odoo.tests.common import new_test_user

        clerk = new_test_user(self.env, login="clerk", groups="stock.group_stock_user")
        seller = new_test_user(
            self.env, login="seller", groups="sales_team.group_sale_salesman"
        )
        quotation = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "user_id": seller.id,
                "order_line": [
                    (
                        0,
                        0,
                        {"product_id": self.products["MUG"].id, "product_uom_qty": 1},
                    )
                ],
            }
        )
        rate = self.carrier.with_user(seller).rate_shipment(quotation.with_user(seller))
        self.assertTrue(rate["success"], rate)
        order = self.make_order()
        picking = self.picking_of(order)
        self.set_done(picking)
        self.validate(picking.with_user(clerk))
        self.assertEqual(len(picking.carrier_shipment_ids), 1)
        picking.with_user(clerk).cancel_shipment()
        self.assertEqual(picking.integration_refund_state, "submitted")
