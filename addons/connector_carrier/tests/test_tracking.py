"""Tracking: tracker.updated events (signed webhooks), deduplicated by event
id, applied in the carrier's time order, a timeline per picking and package,
delivery state and proof of delivery, failures on the desk that close by
themselves on delivery, and the poll backstop for silent trackers."""

import json
from datetime import timedelta

from odoo import fields

from .common import CarrierCase, CarrierHttpCase, trapped_jobs

DESK = "carrier.delivery.failure"


class TestTracking(CarrierCase):
    def setUp(self):
        super().setUp()
        self.picking = self.ship()
        self.shipment = self.picking.carrier_shipment_ids

    def snapshot(self, **step):
        """Advance the sandbox's tracker and return the Event body it makes."""
        tracker = self.advance(self.shipment, **step)
        return self.event_body(tracker)

    def test_walk_to_delivered_builds_timeline_and_proof(self):
        tracker = self.advance(self.shipment, walk="delivered", signed_by="D. O'NEIL")
        message = self.deliver_event(self.event_body(tracker))
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(
            (message.res_model, message.res_id), ("stock.picking", self.picking.id)
        )
        shipment = self.shipment
        self.assertEqual(shipment.delivery_state, "delivered")
        self.assertEqual(shipment.signed_by, "D. O'NEIL")
        self.assertTrue(shipment.final)
        picking = self.picking
        self.assertEqual(picking.integration_delivery_state, "delivered")
        self.assertEqual(picking.integration_signed_by, "D. O'NEIL")
        self.assertTrue(picking.integration_delivered_at)
        self.assertEqual(picking.integration_delivered_place, "DENVER, CO 80202, US")
        timeline = self.env["carrier.tracking.event"].search(
            [("picking_id", "=", picking.id)]
        )
        self.assertEqual(len(timeline), 6)
        self.assertEqual(timeline[0].delivery_state, "delivered")  # newest first
        self.assertEqual(timeline[-1].delivery_state, "label_created")
        self.assertEqual(timeline.package_id, shipment.package_id)
        # the proof of delivery is on the customer's delivery slip
        html = (
            self.env["ir.actions.report"]
            ._render_qweb_html("stock.report_deliveryslip", picking.ids)[0]
            .decode()
        )
        self.assertIn("Proof of delivery", html)
        self.assertIn("D. O&#39;NEIL", html)

    def test_duplicate_event_is_applied_once(self):
        body = self.snapshot(status="in_transit", status_detail="arrived_at_facility")
        first = self.deliver_event(body)
        second = self.deliver_event(body)
        self.assertEqual(first, second)
        self.assertEqual(first.duplicate_count, 1)
        self.assertEqual(len(self.picking.carrier_tracking_event_ids), 2)

    def test_older_event_never_overwrites_a_newer_status(self):
        early = self.snapshot(
            status="in_transit",
            status_detail="departed_facility",
            datetime="2030-01-01T08:00:00Z",
        )
        late = self.snapshot(
            status="out_for_delivery",
            status_detail="out_for_delivery",
            datetime="2030-01-02T08:00:00Z",
        )
        self.deliver_event(late)
        self.assertEqual(self.shipment.delivery_state, "out_for_delivery")
        message = self.deliver_event(early, key="evt_early")
        self.assertEqual(message.state, "done")
        self.assertEqual(self.shipment.delivery_state, "out_for_delivery")
        self.assertEqual(
            self.shipment.status_at, fields.Datetime.to_datetime("2030-01-02 08:00:00")
        )
        # the older event's lines were already in the later one's history
        self.assertEqual(len(self.picking.carrier_tracking_event_ids), 3)

    def test_failure_on_the_desk_then_delivered_closes_it(self):
        failed = self.advance(self.shipment, walk="failure")
        self.deliver_event(self.event_body(failed))
        self.assertEqual(self.picking.integration_delivery_state, "failure")
        item = self.env["integration.message"].search(
            [("message_type", "=", DESK), ("res_id", "=", self.picking.id)]
        )
        self.assertEqual(len(item), 1)
        self.assertTrue(item.needs_attention)
        self.assertEqual(
            item.error_message,
            f"Parcel {self.shipment.tracking_code} to Dana O'Neil: address not found",
        )
        self.assertEqual(item.res_model, "stock.picking")
        # Retry re-checks: still failed
        item.action_retry()
        self.assertTrue(item.needs_attention)
        # the same failure again: still one item
        again = self.advance(
            self.shipment,
            status="failure",
            status_detail="address_not_found",
            message="Address not found",
        )
        self.deliver_event(self.event_body(again))
        self.assertEqual(
            self.env["integration.message"].search_count([("message_type", "=", DESK)]),
            1,
        )
        delivered = self.advance(
            self.shipment,
            status="delivered",
            status_detail="arrived_at_destination",
            message="Delivered",
            signed_by="NEIGHBOUR",
        )
        self.deliver_event(self.event_body(delivered))
        self.assertFalse(item.needs_attention)
        self.assertFalse(item.business_exception)
        self.assertEqual(self.picking.integration_delivery_state, "delivered")

    def test_return_to_sender_and_exception_are_problems(self):
        returned = self.advance(self.shipment, walk="return_to_sender")
        self.deliver_event(self.event_body(returned))
        self.assertEqual(self.picking.integration_delivery_state, "returned")
        item = self.env["integration.message"].search([("message_type", "=", DESK)])
        self.assertIn("returned to sender", item.error_message)
        other = self.ship()
        exception = self.advance(other.carrier_shipment_ids, walk="exception")
        self.deliver_event(self.event_body(exception))
        self.assertEqual(other.integration_delivery_state, "exception")
        items = self.env["integration.message"].search([("message_type", "=", DESK)])
        self.assertEqual(len(items), 2)

    def test_unknown_tracking_code_and_bad_bodies(self):
        foreign = self.remote.api(
            "POST", "trackers", json={"tracker": {"tracking_code": "EZ4000000004"}}
        ).json()
        message = self.deliver_event(self.event_body(foreign))
        self.assertEqual(message.state, "ignored")
        self.assertIn(
            "no label of ours has tracking code EZ4000000004", message.ignore_reason
        )
        body = json.loads(self.snapshot(status="in_transit"))
        body["result"]["tracking_details"][-1]["datetime"] = "soon"
        bad = self.deliver_event(json.dumps(body).encode(), key="evt_bad")
        self.assertEqual(bad.state, "failed")
        self.assertEqual(bad.error_category, "validation")
        self.assertIn("'soon' is not a date and time", bad.error_message)
        wrong = self.deliver_event(
            json.dumps({"id": "evt_x", "object": "Event"}).encode()
        )
        self.assertEqual(wrong.error_category, "validation")

    def test_package_timelines(self):
        picking = self.ship(packages=[{"MUG"}, {"TEAPOT"}])
        first, second = picking.carrier_shipment_ids
        self.deliver_event(self.event_body(self.advance(first, walk="delivered")))
        self.assertEqual(first.package_id.integration_delivery_state, "delivered")
        self.assertEqual(second.package_id.integration_delivery_state, "label_created")
        # one parcel delivered, the other not yet: the picking waits
        self.assertEqual(picking.integration_delivery_state, "label_created")
        self.assertFalse(picking.integration_delivered_at)
        self.deliver_event(
            self.event_body(self.advance(second, walk="out_for_delivery"))
        )
        self.assertEqual(picking.integration_delivery_state, "out_for_delivery")
        self.deliver_event(self.event_body(self.advance(second, walk="delivered")))
        self.assertEqual(picking.integration_delivery_state, "delivered")
        by_package = {e.package_id: e for e in picking.carrier_tracking_event_ids}
        self.assertEqual(set(by_package), {first.package_id, second.package_id})


class TestPollBackstop(CarrierCase):
    def test_polls_only_silent_trackers_never_final_ones(self):
        silent, recent, done = (self.ship().carrier_shipment_ids for _i in range(3))
        self.advance(silent, walk="out_for_delivery")  # the webhook was lost
        long_ago = fields.Datetime.now() - timedelta(hours=48)
        (silent | done).write({"last_news_at": long_ago})
        done.write(
            {"final": True, "status": "delivered", "delivery_state": "delivered"}
        )
        rule = self.backend._sync_rule("tracking")
        self.assertEqual(rule.mode, "scheduled")
        with trapped_jobs() as trap:
            queued = self.backend._poll(rule)
        self.assertEqual(queued, 1)
        self.perform_jobs(trap)
        self.assertEqual(silent.delivery_state, "out_for_delivery")
        self.assertTrue(silent.last_polled_at)
        self.assertEqual(recent.delivery_state, "label_created")
        self.assertFalse(recent.last_polled_at)
        self.assertFalse(done.last_polled_at)
        # polled again at once: not silent any more
        with trapped_jobs():
            self.assertEqual(self.backend._poll(rule), 0)


class TestWebhook(CarrierHttpCase):
    def test_signed_event_is_stored_and_processed_bad_signature_401(self):
        picking = self.ship()
        shipment = picking.carrier_shipment_ids
        body = self.event_body(self.advance(shipment, status="in_transit"))
        self.assertEqual(self.post_event(body, secret="wrong").status_code, 401)
        self.assertEqual(
            self.post_event(body, signature="hmac-sha256-hex=00").status_code, 401
        )
        Message = self.env["integration.message"]
        self.assertFalse(Message.search([("backend_id", "=", self.backend.id)]))
        with trapped_jobs() as trap:
            self.assertEqual(self.post_event(body).status_code, 200)
            self.assertEqual(self.post_event(body).status_code, 200)  # duplicate
        message = Message.search([("backend_id", "=", self.backend.id)])
        self.assertEqual(len(message), 1)
        self.assertEqual(message.duplicate_count, 1)
        self.assertEqual(message.message_type, "tracker.updated")
        self.assertEqual(message.idempotency_key, json.loads(body)["id"])
        self.perform_jobs(trap)
        message.invalidate_recordset()
        self.assertEqual(message.state, "done", message.error_message)
        shipment.invalidate_recordset()
        self.assertEqual(shipment.delivery_state, "in_transit")
