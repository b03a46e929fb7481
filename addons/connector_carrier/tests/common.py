"""Shared set-up of the carrier tests: the repository's sandbox (an
EasyPost-compatible carrier sending signed Event webhooks) in a background
thread, a carrier backend pointing at it, a shipping method of provider
``integration_carrier``, a customer in the US and weighed products."""

import json
import unittest

from odoo import Command
from odoo.tests.common import HttpCase, TransactionCase

# (importing the core's test common puts the repository on sys.path)
from odoo.addons.integration_core.tests.common import (
    FAST_WEBHOOKS,
    IntegrationCaseMixin,
    perform_jobs,
    trapped_jobs,
)

from ..tools import easypost as ep

try:
    from sandbox.carrier.control import CarrierControl
    from sandbox.testing import RunningSandbox
except ImportError:  # pragma: no cover - the sandbox ships with the repository
    RunningSandbox = CarrierControl = None

SECRET = "carrier-webhook-secret"


class CarrierMixin:
    @classmethod
    def setup_carrier(cls):
        if RunningSandbox is None:
            raise unittest.SkipTest("the sandbox package is not importable")
        cls.sandbox = RunningSandbox(webhook_config=FAST_WEBHOOKS)
        cls.sandbox.start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.remote = CarrierControl(cls.sandbox, "demo")
        env = cls.env
        cls.backend = (
            env["integration.backend"]
            .sudo()
            .create(
                {
                    "name": "Carrier test",
                    "connector_type": "carrier",
                    "base_url": cls.remote.base_url,
                    "api_key": cls.remote.api_key,
                    "webhook_secret": SECRET,
                    "max_attempts": 3,
                    "retry_base_seconds": 1,
                    "rate_limit": 0,
                    "timeout_seconds": 5,
                }
            )
        )
        cls.usd = env.ref("base.USD")
        cls.usd.active = True
        company = env.company
        company.partner_id.write(
            {
                "street": "1 Warehouse Way",
                "city": "Salt Lake City",
                "zip": "84101",
                "country_id": env.ref("base.us").id,
            }
        )
        cls.warehouse = env["stock.warehouse"].search(
            [("company_id", "=", company.id)], limit=1
        )
        cls.customer = env["res.partner"].create(
            {
                "name": "Dana O'Neil",
                "street": "417 Montgomery St",
                "city": "San Francisco",
                "zip": "94104",
                "country_id": env.ref("base.us").id,
                "email": "dana@example.com",
            }
        )
        cls.ship_product = env["product.product"].create(
            {
                "name": "Carrier shipping",
                "type": "service",
                "list_price": 0.0,
                "invoice_policy": "order",
            }
        )
        cls.carrier = env["delivery.carrier"].create(
            {
                "name": "USPS Priority (API)",
                "delivery_type": "integration_carrier",
                "product_id": cls.ship_product.id,
                "integration_backend_id": cls.backend.id,
                "integration_service": "USPS:Priority",
            }
        )
        cls.products = {
            code: env["product.product"].create(
                {
                    "name": code.title(),
                    "default_code": code,
                    "type": "product",
                    "list_price": price,
                    "weight": weight,
                    "invoice_policy": "delivery",
                    "taxes_id": [Command.clear()],
                }
            )
            for code, price, weight in (("MUG", 8.0, 0.5), ("TEAPOT", 30.0, 1.5))
        }
        stock = cls.warehouse.lot_stock_id
        for product in cls.products.values():
            env["stock.quant"]._update_available_quantity(product, stock, 1000)

    def setUp(self):
        super().setUp()
        self.sandbox.reset(webhooks=FAST_WEBHOOKS)
        self.addCleanup(self.sandbox.clear_faults)

    # -- documents ------------------------------------------------------------
    def make_order(self, lines=(("MUG", 2), ("TEAPOT", 1)), carrier=None, quote=None):
        order = self.env["sale.order"].create(
            {
                "partner_id": self.customer.id,
                "order_line": [
                    Command.create(
                        {"product_id": self.products[code].id, "product_uom_qty": qty}
                    )
                    for code, qty in lines
                ],
            }
        )
        carrier = carrier or self.carrier
        if quote is None:
            rate = carrier.rate_shipment(order)
            self.assertTrue(rate["success"], rate.get("error_message"))
            quote = rate["price"]
        order.set_delivery_line(carrier, quote)
        order.action_confirm()
        return order

    def picking_of(self, order):
        picking = order.picking_ids.filtered(
            lambda p: p.state not in ("done", "cancel")
        )
        self.assertEqual(len(picking), 1)
        return picking

    def set_done(self, picking, quantities=None, packages=()):
        """Pick ``quantities`` ({product code: qty}, default all), optionally
        in ``packages`` (list of {code: qty} each put in its own pack)."""
        picking.action_assign()
        for move in picking.move_ids:
            code = move.product_id.default_code
            qty = (quantities or {}).get(code, move.product_uom_qty)
            move.quantity = qty
            move.picked = True
        for content in packages:
            lines = picking.move_line_ids.filtered(
                lambda ml, c=content: (
                    ml.product_id.default_code in c and not ml.result_package_id
                )
            )
            package = self.env["stock.quant.package"].create({})
            lines.result_package_id = package

    def validate(self, picking):
        result = picking.button_validate()
        if (
            isinstance(result, dict)
            and result.get("res_model") == "stock.backorder.confirmation"
        ):
            wizard = (
                self.env["stock.backorder.confirmation"]
                .with_context(**result["context"])
                .create({})
            )
            wizard.process()
        return picking

    def ship(self, order=None, **kw):
        order = order or self.make_order()
        picking = self.picking_of(order)
        self.set_done(picking, **kw)
        self.validate(picking)
        return picking

    # -- carrier events -------------------------------------------------------
    def event_body(self, tracker, event_id=None):
        return json.dumps(
            {
                "id": event_id
                or f"evt_{tracker['tracking_code']}_{len(tracker['tracking_details'])}",
                "object": "Event",
                "mode": "test",
                "description": "tracker.updated",
                "previous_attributes": {},
                "result": tracker,
                "created_at": tracker.get("updated_at"),
                "updated_at": tracker.get("updated_at"),
            }
        ).encode()

    def tracker(self, shipment):
        return self.remote.api("GET", f"trackers/{shipment.tracker_ext_id}").json()

    def advance(self, shipment, **step):
        return self.remote.advance(shipment.tracking_code, **step)["tracker"]

    def deliver_event(self, body, key=None):
        """Intake and process one Event body as the webhook would."""
        data = json.loads(body)
        message, created = self.env["integration.message"]._intake(
            self.backend,
            "tracker.updated",
            key or data.get("id"),
            body,
            external_id=data.get("id"),
            enqueue=False,
        )
        if created:
            message._process()
        return message


class CarrierCase(CarrierMixin, IntegrationCaseMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()


class CarrierHttpCase(CarrierMixin, IntegrationCaseMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_carrier()

    def post_event(self, body, secret=SECRET, signature=None):
        headers = {"Content-Type": "application/json"}
        headers[ep.SIGNATURE_HEADER] = signature or ep.signature(secret, body)
        return self.url_open(
            f"/integration/webhook/{self.backend.id}",
            data=body,
            headers=headers,
            timeout=30,
        )


__all__ = ["CarrierCase", "CarrierHttpCase", "perform_jobs", "trapped_jobs"]
