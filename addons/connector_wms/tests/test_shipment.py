"""Shipment confirmations: exactly once, as deltas, with lots, serials and
packages; split and out of order; remainder policy; named exceptions that
change nothing; a shipment before the release was acknowledged."""

import copy

from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import (
    assert_hidden_from,
    other_company_user,
)

from .common import WmsCase, trapped_jobs


def shipment_event(ref, lines, event_id="evt-x-1", shipment_id="SHP-x-1", **data):
    body = {
        "event_id": event_id,
        "event_type": "shipment.confirmed",
        "occurred_at": "2026-12-01T10:00:00Z",
        "warehouse": "WH",
        "data": {
            "shipment_id": shipment_id,
            "order_ref": ref,
            "sequence": 1,
            "final": True,
            "shipment_count": 1,
            "lines": lines,
        },
    }
    body["data"].update(data)
    return body


@tagged("post_install", "-at_install")
class TestShipment(WmsCase):
    def ready_delivery(self, lines):
        for product, quantity in lines:
            if product.tracking == "serial":
                for n in range(int(quantity)):
                    self.put(
                        product,
                        1,
                        lot=f"ODOO-SN-{product.id}-{n}-{self._testMethodName}",
                    )
            elif product.tracking == "lot":
                self.put(product, quantity, lot=f"ODOO-L-{self._testMethodName}")
            else:
                self.put(product, quantity)
        picking = self.released(self.delivery(lines))
        self.assertEqual(picking.wms_state, "released")
        return picking

    def shipped(self, picking):
        done = picking.move_ids.filtered(lambda m: m.state == "done")
        return sorted(
            (
                ml.product_id.default_code,
                ml.lot_id.name or "",
                ml.quantity,
            )
            for ml in done.move_line_ids
        )

    def test_full_shipment_with_lots_serials_packages_exactly_once(self):
        picking = self.ready_delivery([(self.cap, 2), (self.vial, 4), (self.phone, 2)])
        self.wms.set_stock(
            [
                {"sku": "CAP-BLUE", "quantity": 10},
                {
                    "sku": "VIAL",
                    "lot": "L7",
                    "quantity": 3,
                    "expiry_date": "2027-01-31",
                    "tracking": "lot",
                },
                {
                    "sku": "VIAL",
                    "lot": "L8",
                    "quantity": 5,
                    "expiry_date": "2027-06-30",
                },
                {"sku": "PHONE", "lot": "SN-A", "quantity": 1, "tracking": "serial"},
                {"sku": "PHONE", "lot": "SN-B", "quantity": 1},
            ]
        )
        (event,) = self.wms.ship(
            picking.name,
            shipments=[
                {
                    "lines": [
                        {
                            "line_id": self.line_of(picking, self.cap),
                            "sku": "CAP-BLUE",
                            "quantity": 2,
                        },
                        {
                            "line_id": self.line_of(picking, self.vial),
                            "sku": "VIAL",
                            "quantity": 4,
                        },
                        {
                            "line_id": self.line_of(picking, self.phone),
                            "sku": "PHONE",
                            "quantity": 2,
                        },
                    ],
                    "packages": [
                        {
                            "package_ref": "BOX-1",
                            "weight_kg": 3.5,
                            "tracking_number": "1Z999AA1",
                            "contents": [
                                {"sku": "CAP-BLUE", "quantity": 2},
                                {"sku": "VIAL", "quantity": 4},
                            ],
                        },
                        {
                            "package_ref": "BOX-2",
                            "weight_kg": 0.8,
                            "tracking_number": "1Z999AA2",
                            "contents": [{"sku": "PHONE", "quantity": 2}],
                        },
                    ],
                }
            ],
        )
        message = self.deliver_event(event)
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(message.message_type, "wms.shipment")
        self.assertEqual(picking.state, "done")
        self.assertEqual(picking.wms_state, "shipped")
        self.assertEqual(
            self.shipped(picking),
            [
                ("CAP-BLUE", "", 2.0),
                ("PHONE", "SN-A", 1.0),
                ("PHONE", "SN-B", 1.0),
                ("VIAL", "L7", 3.0),
                ("VIAL", "L8", 1.0),
            ],
        )
        lot = self.env["stock.lot"].search(
            [("name", "=", "L7"), ("product_id", "=", self.vial.id)]
        )
        self.assertEqual(str(lot.wms_expiry_date), "2027-01-31")
        packages = picking.move_line_ids.result_package_id
        self.assertEqual(sorted(packages.mapped("name")), ["BOX-1", "BOX-2"])
        if "carrier_tracking_ref" in picking._fields:
            self.assertEqual(picking.carrier_tracking_ref, "1Z999AA1, 1Z999AA2")
        (confirmation,) = picking.wms_shipment_ids
        self.assertEqual(confirmation.package_ids.mapped("weight_kg"), [3.5, 0.8])
        self.assertEqual(confirmation.event_id, event["event_id"])
        self.assertEqual(message._related_record(), picking)
        # the same webhook again: a counted duplicate, nothing applied twice
        again = self.deliver_event(event)
        self.assertEqual(again, message)
        self.assertEqual(message.duplicate_count, 1)
        # the same shipment under another event id: skipped, not applied
        other = copy.deepcopy(event)
        other["event_id"] = "evt-resent"
        skipped = self.deliver_event(other)
        self.assertEqual(skipped.state, "ignored")
        self.assertIn("was applied already", skipped.ignore_reason)
        self.assertEqual(len(picking.wms_shipment_ids), 1)
        self.assertEqual(len(self.shipped(picking)), 5)

    def split(self, reverse):
        picking = self.ready_delivery([(self.cap, 3), (self.vial, 2)])
        self.wms.set_stock(
            [{"sku": "VIAL", "lot": "L1", "quantity": 9, "tracking": "lot"}]
        )
        events = self.wms.ship(
            picking.name,
            shipments=[
                {"lines": [{"sku": "CAP-BLUE", "quantity": 1}]},
                {
                    "lines": [
                        {"sku": "CAP-BLUE", "quantity": 2},
                        {"sku": "VIAL", "quantity": 2},
                    ]
                },
            ],
        )
        for event in reversed(events) if reverse else events:
            message = self.deliver_event(event)
            self.assertEqual(message.state, "done", message.error_message)
        pickings = self.env["stock.picking"].search(
            [("wms_order_ref", "=", picking.name)]
        )
        return {
            "open": len(pickings.filtered(lambda p: p.state not in ("done", "cancel"))),
            "done": len(pickings.filtered(lambda p: p.state == "done")),
            "shipped": sorted(
                (line[0], line[1], line[2])
                for p in pickings
                for line in self.shipped(p)
            ),
        }

    def test_split_shipments_are_deltas_in_any_order(self):
        in_order = self.split(reverse=False)
        reversed_order = self.split(reverse=True)
        expected = {
            "open": 0,
            "done": 2,
            "shipped": [
                ("CAP-BLUE", "", 1.0),
                ("CAP-BLUE", "", 2.0),
                ("VIAL", "L1", 2.0),
            ],
        }
        self.assertEqual(in_order, expected)
        self.assertEqual(reversed_order, expected)
        self.assertEqual(len(self.wms.state()["orders"]), 2)

    def test_the_rest_of_a_split_is_not_released_again(self):
        picking = self.ready_delivery([(self.cap, 3)])
        (event,) = self.wms.ship(
            picking.name,
            final=False,
            shipments=[{"lines": [{"sku": "CAP-BLUE", "quantity": 1}]}],
        )
        self.deliver_event(event)
        self.commit_and_run()
        (rest,) = picking.backorder_ids
        self.assertEqual(rest.wms_order_ref, picking.name)
        self.assertEqual(rest.wms_state, "released")
        self.assertEqual(rest.move_ids.product_uom_qty, 2)
        self.assertEqual(len(self.wms.state()["orders"]), 1)
        with self.assertRaisesRegex(Exception, "released to the warehouse system"):
            rest.button_validate()

    def test_remainder_policy_backorder_or_cancel(self):
        picking = self.ready_delivery([(self.cap, 3)])
        (event,) = self.wms.ship(
            picking.name, shipments=[{"lines": [{"sku": "CAP-BLUE", "quantity": 1}]}]
        )
        self.deliver_event(event)
        self.commit_and_run()
        (rest,) = picking.backorder_ids
        # the final shipment left 2: a backorder released as a new order
        self.assertEqual(rest.wms_order_ref, rest.name)
        self.assertEqual(rest.wms_state, "released")
        self.assertTrue(self.wms.order(rest.name))
        self.backend.wms_remainder_policy = "cancel"
        second = self.ready_delivery([(self.cap, 3)])
        (event,) = self.wms.ship(
            second.name, shipments=[{"lines": [{"sku": "CAP-BLUE", "quantity": 1}]}]
        )
        self.deliver_event(event)
        self.assertEqual(second.state, "done")
        self.assertFalse(second.backorder_ids.filtered(lambda p: p.state != "cancel"))
        self.assertEqual(
            second.move_ids.filtered(lambda m: m.state == "done").quantity, 1
        )

    def test_named_exceptions_change_nothing(self):
        self.env["product.product"].create(
            {"name": "Other", "default_code": "OTHER", "type": "product"}
        )
        picking = self.ready_delivery([(self.cap, 2), (self.phone, 2)])
        line = self.line_of(picking, self.cap)
        cases = [
            (
                [{"sku": "CAP-BLUE", "quantity": 3, "line_id": line}],
                f"Delivery {picking.name}: the WMS shipped 3 of SKU 'CAP-BLUE', "
                "only 2 were ordered.",
            ),
            (
                [{"sku": "NOPE-1", "quantity": 1}],
                f"Delivery {picking.name}: the WMS shipped SKU 'NOPE-1', which no "
                "product in Odoo has as internal reference.",
            ),
            (
                [{"sku": "OTHER", "quantity": 1}],
                f"Delivery {picking.name}: the WMS shipped SKU 'OTHER', which is "
                "not on it.",
            ),
            (
                [{"sku": "PHONE", "quantity": 2}],
                f"Delivery {picking.name}: the WMS sent 0 serial number(s) for 2 of "
                "SKU 'PHONE'.",
            ),
        ]
        for n, (lines, text) in enumerate(cases):
            message = self.deliver_event(
                shipment_event(
                    picking.name,
                    lines,
                    event_id=f"evt-bad-{n}",
                    shipment_id=f"SHP-bad-{n}",
                )
            )
            self.assertEqual(
                (message.state, message.error_category), ("failed", "business")
            )
            self.assertEqual(message.error_message, f"{text} Nothing was changed.")
            self.assertEqual(message._related_record(), picking)
        self.assertEqual(picking.state, "assigned")
        self.assertEqual(picking.wms_state, "released")
        self.assertFalse(picking.wms_shipment_ids)
        self.assertFalse(
            self.env["stock.quant.package"].search([("name", "like", "SHP-bad")])
        )
        # a contract violation is a validation failure listing the paths
        broken = shipment_event(
            picking.name, [{"sku": "CAP-BLUE", "quantity": -1}], event_id="evt-bad-x"
        )
        message = self.deliver_event(broken)
        self.assertEqual(message.error_category, "validation")
        self.assertIn("$.data.lines[0].quantity", message.error_detail)

    def test_shipment_before_the_release_was_acknowledged(self):
        self.put(self.cap, 5)
        self.sandbox.add_fault(
            system="wms", match="api", kind="timeout", seconds=0.2, count=100
        )
        self.backend.timeout_seconds = 1
        picking = self.delivery([(self.cap, 2)])
        # the release answer never came: it will be retried
        self.commit_and_run()
        release = self.messages(message_type="wms.release")
        self.assertIn(release.state, ("failed", "dead"))
        self.assertEqual(picking.wms_state, "to_release")
        message = self.deliver_event(
            shipment_event(picking.name, [{"sku": "CAP-BLUE", "quantity": 2}])
        )
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(picking.state, "done")
        self.sandbox.clear_faults()
        with trapped_jobs() as trap:
            release.action_retry()
            self.perform_jobs(trap)
        self.assertEqual(release.state, "done")
        self.assertFalse(self.wms.state()["orders"])  # nothing sent after the fact

    def test_packages_are_seen_in_their_company_only(self):
        picking = self.ready_delivery([(self.cap, 2)])
        self.wms.set_stock([{"sku": "CAP-BLUE", "quantity": 10}])
        (event,) = self.wms.ship(picking.name)
        self.deliver_event(event)
        package = picking.wms_shipment_ids.package_ids
        self.assertTrue(package)
        self.assertEqual(package.company_id, self.env.company)
        clerk = other_company_user(self.env, "other_region_clerk")
        assert_hidden_from(self, package, clerk, "tracking_number")

    def test_parcels_labelled_by_the_wms_are_not_labelled_again(self):
        from unittest.mock import patch

        if "carrier_id" not in self.env["stock.picking"]._fields:
            self.skipTest("no shipping methods (stock_delivery) installed")
        carrier = self.env["delivery.carrier"].create(
            {
                "name": "Parcel service",
                "delivery_type": "fixed",
                "product_id": self.env["product.product"]
                .create({"name": "Parcel shipping", "type": "service"})
                .id,
            }
        )
        self.warehouse.out_type_id.print_label = True
        self.put(self.cap, 2)
        picking = self.released(self.delivery([(self.cap, 2)], carrier_id=carrier.id))
        self.assertEqual(picking.wms_state, "released")
        event = shipment_event(
            picking.name,
            [
                {
                    "line_id": self.line_of(picking, self.cap),
                    "sku": "CAP-BLUE",
                    "quantity": 2,
                }
            ],
            packages=[
                {
                    "package_ref": "PK-1",
                    "tracking_number": "WMS-TRK-1",
                    "contents": [{"sku": "CAP-BLUE", "quantity": 2}],
                }
            ],
        )
        carrier_class = type(carrier)
        with patch.object(
            carrier_class,
            "fixed_send_shipping",
            autospec=True,
            return_value=[{"exact_price": 0.0, "tracking_number": "ODOO-LABEL"}],
        ) as send:
            message = self.deliver_event(event)
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(picking.state, "done")
        send.assert_not_called()
        self.assertEqual(picking.carrier_tracking_ref, "WMS-TRK-1")
