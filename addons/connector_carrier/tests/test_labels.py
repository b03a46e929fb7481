"""Rates and labels through the sandbox: one label per package, bought
exactly once (retried validations, a timeout after the purchase, a crash
between buying and saving, a concurrent validation), labels attached the
Odoo way, backorders without tracking, tracking links, service value maps."""

import json
from unittest.mock import patch

from odoo import Command
from odoo.exceptions import UserError

from odoo.addons.integration_core.exceptions import TransientError

from .common import CarrierCase


class TestRates(CarrierCase):
    def _order(self, partner=None):
        return self.env["sale.order"].create(
            {
                "partner_id": (partner or self.customer).id,
                "order_line": [
                    Command.create(
                        {"product_id": self.products["MUG"].id, "product_uom_qty": 2}
                    )
                ],
            }
        )

    def test_rate_on_the_sale_order_and_the_wizard(self):
        order = self._order()
        rate = self.carrier.rate_shipment(order)
        self.assertTrue(rate["success"], rate)
        # 1 kg = 35.3 oz: 7.90 + 0.08 x 35.3 = 10.72 USD
        self.assertAlmostEqual(rate["price"], 10.72, places=2)
        # the Add shipping wizard shows it and puts it on the order
        wizard = (
            self.env["choose.delivery.carrier"]
            .with_context(default_order_id=order.id, default_carrier_id=self.carrier.id)
            .create({"order_id": order.id, "carrier_id": self.carrier.id})
        )
        wizard.update_price()
        self.assertAlmostEqual(wizard.delivery_price, 10.72, places=2)
        wizard.button_confirm()
        line = order.order_line.filtered("is_delivery")
        self.assertAlmostEqual(line.price_unit, 10.72, places=2)
        self.assertAlmostEqual(order.integration_carrier_quote, 10.72, places=2)

    def test_service_from_value_map_and_errors(self):
        order = self._order()
        ground = self.carrier.copy({"name": "Ground", "integration_service": False})
        self.env["integration.value.map"].create(
            {
                "backend_id": self.backend.id,
                "kind": "carrier_service",
                "external_code": "UPS:Ground",
                "record_ref": f"delivery.carrier,{ground.id}",
            }
        )
        self.assertEqual(ground._integration_services(), ["UPS:Ground"])
        # UPS Ground: 9.10 + 0.06 x 35.3
        self.assertAlmostEqual(ground.rate_shipment(order)["price"], 11.22, places=2)
        missing = self.carrier.copy({"integration_service": "FedEx:Overnight"})
        rate = missing.rate_shipment(order)
        self.assertFalse(rate["success"])
        self.assertIn("no rate for FedEx:Overnight", rate["error_message"])
        nowhere = self.customer.copy({"street": False})
        rate = self.carrier.rate_shipment(self._order(nowhere))
        self.assertFalse(rate["success"])
        self.assertIn("street1 cannot be blank", rate["error_message"])
        orphan = self.carrier.copy({"integration_backend_id": False})
        rate = orphan.rate_shipment(order)
        self.assertIn("has no active carrier backend", rate["error_message"])


class TestLabels(CarrierCase):
    def test_validation_buys_one_label(self):
        picking = self.ship()
        shipment = picking.carrier_shipment_ids
        self.assertEqual(len(shipment), 1)
        self.assertEqual(picking.carrier_tracking_ref, shipment.tracking_code)
        self.assertEqual(len(self.remote.purchases()), 1)
        self.assertEqual(shipment.service, "USPS:Priority")
        self.assertEqual(shipment.delivery_state, "label_created")
        self.assertEqual(picking.integration_delivery_state, "label_created")
        attachment = shipment.label_attachment_id
        self.assertEqual(
            attachment.name,
            f"LabelShipping-integration_carrier-{shipment.tracking_code}.pdf",
        )
        self.assertEqual(
            (attachment.res_model, attachment.res_id), ("stock.picking", picking.id)
        )
        self.assertTrue(attachment.raw.startswith(b"%PDF"))
        self.assertIn(shipment.tracking_code.encode(), attachment.raw)
        # the cost on the picking; the tracking link is the carrier's page
        self.assertAlmostEqual(picking.carrier_price, shipment.price_company)
        self.assertEqual(picking.carrier_tracking_url, shipment.public_url)
        # sending again (the Send to Shipper button) buys nothing more
        picking.carrier_id.send_shipping(picking)
        self.assertEqual(len(self.remote.purchases()), 1)
        self.assertEqual(len(picking.carrier_shipment_ids), 1)

    def test_return_label_on_delivery_bought_once(self):
        self.carrier.return_label_on_delivery = True
        self.addCleanup(setattr, self.carrier, "return_label_on_delivery", False)
        self.assertTrue(self.carrier.can_generate_return)
        picking = self.ship()
        outbound = picking.carrier_shipment_ids
        back = picking.carrier_return_shipment_ids
        self.assertEqual((len(outbound), len(back)), (1, 1))
        self.assertTrue(back.is_return)
        self.assertNotEqual(back.tracking_code, outbound.tracking_code)
        # the carrier bought it as a return shipment
        remote = self.backend._carrier_find_shipment(back.reference)
        self.assertTrue(remote["is_return"])
        self.assertEqual(len(self.remote.purchases()), 2)
        # attached the Odoo way: Odoo's return labels of the picking find it
        self.assertEqual(
            back.label_attachment_id.name,
            f"LabelReturn-integration_carrier-{back.tracking_code}.pdf",
        )
        picking.invalidate_recordset(["return_label_ids"])  # (computed, not stored)
        self.assertEqual(picking.return_label_ids, back.label_attachment_id)
        # the delivery's own state and tracking are the outbound parcel's
        self.assertEqual(picking.carrier_tracking_ref, outbound.tracking_code)
        self.assertEqual(picking.integration_delivery_state, "label_created")
        # Print return label and Send to Shipper again buy nothing more
        picking.print_return_label()
        picking.carrier_id.send_shipping(picking)
        self.assertEqual(len(self.remote.purchases()), 2)
        self.assertEqual(len(picking.carrier_return_shipment_ids), 1)

    def test_print_return_label_after_delivery(self):
        picking = self.ship()
        self.assertFalse(picking.carrier_return_shipment_ids)
        picking.print_return_label()
        back = picking.carrier_return_shipment_ids
        self.assertEqual(len(back), 1)
        picking.invalidate_recordset(["return_label_ids"])  # (computed, not stored)
        self.assertEqual(picking.return_label_ids, back.label_attachment_id)
        self.assertIn(back.tracking_code, picking.message_ids[0].body)
        # events of the return parcel do not make the delivery delivered
        message = self.deliver_event(
            self.event_body(self.advance(back, status="delivered"))
        )
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(back.delivery_state, "delivered")
        self.assertEqual(picking.integration_delivery_state, "label_created")

    def test_one_label_per_package_in_zpl(self):
        self.carrier.integration_label_format = "ZPL"
        picking = self.ship(packages=[{"MUG"}, {"TEAPOT"}])
        shipments = picking.carrier_shipment_ids
        self.assertEqual(len(shipments), 2)
        self.assertEqual(set(shipments.package_id), set(picking.package_ids))
        for shipment in shipments:
            self.assertEqual(
                shipment.package_id.integration_tracking_ref, shipment.tracking_code
            )
            self.assertTrue(shipment.label_attachment_id.name.endswith(".zpl"))
            self.assertTrue(shipment.label_attachment_id.raw.startswith(b"^XA"))
        self.assertEqual(
            set(picking.carrier_tracking_ref.split(",")),
            set(shipments.mapped("tracking_code")),
        )
        self.assertEqual(len(self.remote.purchases()), 2)
        links = json.loads(picking.carrier_tracking_url)
        self.assertEqual(
            {code for code, _url in links}, set(shipments.mapped("tracking_code"))
        )
        # the MUG package weighs 2 x 0.5 kg: 35.3 oz at the carrier
        mug_package = picking.move_line_ids.filtered(
            lambda ml: ml.product_id.default_code == "MUG"
        ).result_package_id
        mug = shipments.filtered(lambda s: s.package_id == mug_package)
        remote = self.remote.api("GET", f"shipments/{mug.shipment_ext_id}").json()
        self.assertEqual(remote["parcel"]["weight"], 35.3)

    def test_retried_validation_after_a_failure_buys_nothing_twice(self):
        order = self.make_order()
        picking = self.picking_of(order)
        self.set_done(picking, packages=[{"MUG"}, {"TEAPOT"}])
        Shipment = type(self.env["carrier.shipment"])
        original = Shipment._buy_label
        calls = []

        def second_fails(model, *args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise TransientError("Carrier test answered HTTP 503 (server error)")
            return original(model, *args, **kwargs)

        with patch.object(Shipment, "_buy_label", second_fails):
            with self.assertRaises(UserError) as caught:
                picking.button_validate()
        self.assertIn("HTTP 503", str(caught.exception))
        self.assertNotEqual(picking.state, "done")
        self.assertFalse(picking.carrier_shipment_ids)  # rolled back
        self.assertEqual(len(self.remote.purchases()), 1)  # but bought
        self.validate(picking)
        self.assertEqual(picking.state, "done")
        self.assertEqual(len(picking.carrier_shipment_ids), 2)
        # the first parcel's label was found again, not bought again
        self.assertEqual(len(self.remote.purchases()), 2)
        purchased = {p["tracking_code"] for p in self.remote.purchases()}
        self.assertEqual(
            purchased, set(picking.carrier_shipment_ids.mapped("tracking_code"))
        )

    def test_crash_between_buying_and_saving(self):
        order = self.make_order()
        picking = self.picking_of(order)
        self.set_done(picking)
        Shipment = type(self.env["carrier.shipment"])
        with patch.object(
            Shipment, "create", side_effect=RuntimeError("worker killed")
        ):
            with self.assertRaises(RuntimeError):
                picking.button_validate()
        self.assertEqual(len(self.remote.purchases()), 1)
        self.assertFalse(picking.carrier_shipment_ids)
        self.validate(picking)
        self.assertEqual(len(self.remote.purchases()), 1)
        self.assertEqual(
            picking.carrier_shipment_ids.tracking_code,
            self.remote.purchases()[0]["tracking_code"],
        )

    def test_gateway_timeout_after_the_purchase(self):
        self.remote.buy_timeouts(count=1, seconds=0.1)  # bought, then 504
        picking = self.ship()
        self.assertEqual(len(self.remote.purchases()), 1)
        self.assertEqual(
            picking.carrier_tracking_ref, self.remote.purchases()[0]["tracking_code"]
        )

    def test_read_timeout_after_the_purchase(self):
        self.backend.timeout_seconds = 1
        self.remote.buy_timeouts(count=1, seconds=1.5)  # the answer never comes in time
        picking = self.ship()
        self.assertEqual(len(self.remote.purchases()), 1)
        self.assertEqual(len(picking.carrier_shipment_ids), 1)
        calls = self.env["integration.call.log"].search(
            [("backend_id", "=", self.backend.id), ("url", "like", "/buy")]
        )
        self.assertEqual(len(calls), 1)  # never retried blindly
        self.assertTrue(calls.error_message)

    def test_5xx_and_429_on_the_api(self):
        # a 503 on the purchase: nothing bought, the validation fails clearly
        self.sandbox.add_fault(
            system="carrier", match="buy", kind="http_status", status=503, count=1
        )
        order = self.make_order()
        picking = self.picking_of(order)
        self.set_done(picking)
        with self.assertRaises(UserError) as caught:
            picking.button_validate()
        self.assertIn("HTTP 503", str(caught.exception))
        self.assertEqual(self.remote.purchases(), [])
        # a 429 on reads is waited out (Retry-After) by the client
        self.sandbox.add_fault(
            system="carrier", match="api", kind="rate_limit", seconds=0.2, count=1
        )
        self.validate(picking)
        self.assertEqual(len(self.remote.purchases()), 1)

    def test_concurrent_validation_waits_for_the_other(self):
        order = self.make_order()
        picking = self.picking_of(order)
        self.set_done(picking)
        key = f"integration:{self.backend.id}:carrier.label:{picking.id}"
        with self.env.registry.cursor() as other:
            other.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,)
            )
            with self.assertRaises(UserError) as caught:
                picking.button_validate()
            other.rollback()
        self.assertIn("being bought right now", str(caught.exception))
        self.assertEqual(self.remote.purchases(), [])
        self.validate(picking)
        self.assertEqual(len(self.remote.purchases()), 1)

    def test_backorder_never_inherits_the_tracking_number(self):
        order = self.make_order()
        picking = self.ship(order, quantities={"MUG": 1, "TEAPOT": 1})
        backorder = order.picking_ids - picking
        self.assertEqual(len(backorder), 1)
        self.assertTrue(picking.carrier_tracking_ref)
        self.assertFalse(backorder.carrier_tracking_ref)
        self.assertFalse(backorder.carrier_shipment_ids)
        self.assertFalse(backorder.integration_delivery_state)
        self.set_done(backorder)
        self.validate(backorder)
        self.assertEqual(len(self.remote.purchases()), 2)
        self.assertNotEqual(
            backorder.carrier_tracking_ref, picking.carrier_tracking_ref
        )
        refs = (picking | backorder).carrier_shipment_ids.mapped("reference")
        self.assertEqual(len(set(refs)), 2)

    def test_weightless_delivery_is_refused_in_words(self):
        feather = self.env["product.product"].create(
            {"name": "Feather", "default_code": "FEATHER", "type": "consu", "weight": 0}
        )
        self.products["FEATHER"] = feather
        order = self.make_order(lines=(("FEATHER", 1),), quote=5.0)
        picking = self.picking_of(order)
        self.set_done(picking)
        with self.assertRaises(UserError) as caught:
            picking.button_validate()
        self.assertIn("weighs nothing", str(caught.exception))
