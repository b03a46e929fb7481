"""Fulfillments out: a done delivery becomes a Shopify fulfillment."""

import json
from unittest.mock import patch

from odoo.tests import tagged

from odoo.addons.integration_core.exceptions import SkipMessage
from odoo.addons.integration_core.tests.common import trapped_jobs

from .common import ShopifyCase, deliver, order_spec


@tagged("post_install", "-at_install")
class TestFulfillmentExport(ShopifyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.put_in_stock(50)
        cls.carrier = cls.env["delivery.carrier"].create(
            {
                "name": "UPS",
                "product_id": cls.env["product.product"]
                .create({"name": "UPS shipping", "type": "service"})
                .id,
            }
        )
        carrier_class = type(cls.env["delivery.carrier"])
        cls.startClassPatcher(
            patch.object(
                carrier_class,
                "fixed_get_tracking_link",
                lambda self, picking: (
                    f"https://ups.example/{picking.carrier_tracking_ref}"
                ),
            )
        )

    def imported_order(self):
        order = self.shop.create_order(order_spec())
        with trapped_jobs() as trap:
            self.intake_order(order)
            self.perform_jobs(trap)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "sale")
        return order, sale

    def ship(self, picking, quantities=None, tracking="1Z999"):
        picking.write({"carrier_id": self.carrier.id, "carrier_tracking_ref": tracking})
        with trapped_jobs() as trap:
            deliver(picking, quantities)
            self.env.cr.flush()  # the commit: the outbox queues its flush
            self.perform_jobs(trap)
        return self.messages(message_type="fulfillment.create").filtered(
            lambda m: (
                m.idempotency_key == f"outbox:tracking:stock.picking:{picking.id}:done"
            )
        )

    def test_done_delivery_is_fulfilled_with_tracking(self):
        order, sale = self.imported_order()
        picking = sale.picking_ids
        message = self.ship(picking)
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(message.direction, "out")
        self.assertEqual(message.correlation_id, sale.integration_correlation_id)
        self.assertEqual(message.external_id, f"{order['name']} / {picking.name}")
        (fulfillment,) = self.shop.fulfillments(order_id=order["id"])
        self.assertEqual(fulfillment["tracking_number"], "1Z999")
        self.assertEqual(fulfillment["tracking_company"], "UPS")
        self.assertEqual(fulfillment["tracking_url"], "https://ups.example/1Z999")
        quantities = {
            line["sku"]: line["quantity"] for line in fulfillment["line_items"]
        }
        self.assertEqual(quantities, {"TSHIRT-RED-XL": 2, "MUG-WHITE": 1})
        self.assertTrue(picking.shopify_fulfillment_id)
        self.assertEqual(
            json.loads(message.payload),
            {
                "model": "stock.picking",
                "ids": [picking.id],
                "keys": {str(picking.id): "done"},
            },
        )
        # the same delivery queued again is a duplicate; run again, a no-op
        Exporter = self.env["shopify.fulfillment.exporter"]
        with trapped_jobs() as trap:
            Exporter._queue_pickings(picking)
            self.env.cr.flush()
            self.perform_jobs(trap)
        message.invalidate_recordset()
        self.assertEqual(message.duplicate_count, 1)
        self.assertEqual(len(self.messages(message_type="fulfillment.create")), 1)
        with self.assertRaises(SkipMessage):
            Exporter._export(
                self.backend, message, {"model": "stock.picking", "ids": [picking.id]}
            )
        self.assertEqual(len(self.shop.fulfillments(order_id=order["id"])), 1)

    def test_fulfillment_made_by_a_rolled_back_attempt_is_recorded(self):
        # Shopify made the fulfillment, then the transaction that asked for it
        # was rolled back (a conflict after the call): the retry finds it by
        # its tracking number instead of finding nothing left to fulfil
        order, sale = self.imported_order()
        picking = sale.picking_ids
        message = self.ship(picking, tracking="1Z-LOST")
        made = picking.shopify_fulfillment_id
        self.assertTrue(made)
        picking.shopify_fulfillment_id = False
        Exporter = self.env["shopify.fulfillment.exporter"]
        result = Exporter._export(
            self.backend, message, {"model": "stock.picking", "ids": [picking.id]}
        )
        self.assertEqual(result, picking)
        self.assertEqual(picking.shopify_fulfillment_id, made)
        self.assertEqual(len(self.shop.fulfillments(order_id=order["id"])), 1)

    def test_parcels_are_each_their_own_tracking_number(self):
        # a delivery of two parcels: Odoo joins their numbers with a comma
        order, sale = self.imported_order()
        message = self.ship(sale.picking_ids, tracking="1Z111,1Z222")
        self.assertEqual(message.state, "done", message.error_message)
        (fulfillment,) = self.shop.fulfillments(order_id=order["id"])
        self.assertEqual(fulfillment["tracking_numbers"], ["1Z111", "1Z222"])
        self.assertEqual(fulfillment["tracking_company"], "UPS")

    def test_partial_delivery_is_a_partial_fulfillment(self):
        order, sale = self.imported_order()
        picking = sale.picking_ids
        shirt = self.products["TSHIRT-RED-XL"]
        message = self.ship(picking, {shirt: 1}, tracking="PART-1")
        self.assertEqual(message.state, "done", message.error_message)
        (first,) = self.shop.fulfillments(order_id=order["id"])
        self.assertEqual(
            [(line["sku"], line["quantity"]) for line in first["line_items"]],
            [("TSHIRT-RED-XL", 1)],
        )
        backorder = sale.picking_ids - picking
        self.assertEqual(len(backorder), 1)
        self.assertEqual(
            backorder.integration_correlation_id, sale.integration_correlation_id
        )
        self.ship(backorder, tracking="PART-2")
        second = self.shop.fulfillments(order_id=order["id"])[1]
        self.assertEqual(
            sorted((line["sku"], line["quantity"]) for line in second["line_items"]),
            [("MUG-WHITE", 1), ("TSHIRT-RED-XL", 1)],
        )
        self.assertEqual(second["tracking_number"], "PART-2")
        fulfillment_orders = self.shop.fulfillment_orders(order["id"])
        self.assertEqual({fo["status"] for fo in fulfillment_orders}, {"closed"})

    def test_tracking_flow_off_sends_nothing(self):
        self.backend._sync_rule("tracking").direction = "off"
        order, sale = self.imported_order()
        message = self.ship(sale.picking_ids)
        self.assertFalse(message)
        self.assertFalse(self.shop.fulfillments(order_id=order["id"]))
