"""Shared set-up of the WMS tests: the repository's sandbox WMS in a
background thread, a WMS backend pointing at it, a warehouse mapped to it,
products (plain, lot-tracked, serial-tracked) and deliveries."""

import json
import unittest

# (importing the core's test common puts the repository on sys.path)
from odoo.addons.integration_core.tests.common import (
    FAST_WEBHOOKS,
    IntegrationCase,
    IntegrationHttpCase,
    trapped_jobs,
)
from odoo.addons.integration_core.tools.signing import compute_signature

try:
    from sandbox.testing import RunningSandbox
    from sandbox.wms.control import WmsControl
except ImportError:  # pragma: no cover - the sandbox ships with the repository
    RunningSandbox = WmsControl = None

WMS_TOKEN = "sandbox-wms-token"
WMS_SECRET = "sandbox-wms-secret"


class WmsMixin:
    @classmethod
    def setup_wms(cls):
        if RunningSandbox is None:
            raise unittest.SkipTest("the sandbox package is not importable")
        cls.sandbox = RunningSandbox(webhook_config=FAST_WEBHOOKS)
        cls.sandbox.start()
        cls.addClassCleanup(cls.sandbox.stop)
        env = cls.env
        cls.warehouse = env["stock.warehouse"].search(
            [("company_id", "=", env.company.id)], limit=1
        )
        cls.wms = WmsControl(cls.sandbox, cls.warehouse.code)
        cls.backend = (
            env["integration.backend"]
            .sudo()
            .create(
                {
                    "name": "WMS test",
                    "connector_type": "wms",
                    "base_url": cls.wms.base_url,
                    "api_key": WMS_TOKEN,
                    "webhook_secret": WMS_SECRET,
                    "max_attempts": 3,
                    "retry_base_seconds": 1,
                    "rate_limit": 0,
                    "timeout_seconds": 10,
                }
            )
        )
        cls.warehouse.wms_backend_id = cls.backend
        cls.stock = cls.warehouse.lot_stock_id
        cls.customer = env["res.partner"].create(
            {"name": "Ann Lee", "street": "Kouter 1", "city": "Ghent", "zip": "9000"}
        )
        Product = env["product.product"]
        cls.cap = Product.create(
            {"name": "Cap blue", "default_code": "CAP-BLUE", "type": "product"}
        )
        cls.vial = Product.create(
            {
                "name": "Vial",
                "default_code": "VIAL",
                "type": "product",
                "tracking": "lot",
            }
        )
        cls.phone = Product.create(
            {
                "name": "Phone",
                "default_code": "PHONE",
                "type": "product",
                "tracking": "serial",
            }
        )

    def setUp(self):
        super().setUp()
        self.sandbox.reset(webhooks=FAST_WEBHOOKS)
        self.addCleanup(self.sandbox.clear_faults)

    # -- stock and deliveries --------------------------------------------------------
    def put(self, product, quantity, lot=None):
        lot_record = self.env["stock.lot"]
        if lot:
            lot_record = self.env["stock.lot"].search(
                [("name", "=", lot), ("product_id", "=", product.id)]
            ) or self.env["stock.lot"].create(
                {
                    "name": lot,
                    "product_id": product.id,
                    "company_id": self.env.company.id,
                }
            )
        self.env["stock.quant"]._update_available_quantity(
            product, self.stock, quantity, lot_id=lot_record or None
        )

    def delivery(self, lines, confirm=True, **values):
        """A delivery order of ``[(product, quantity)]`` from the mapped
        warehouse, confirmed (which reserves what is there)."""
        picking_type = self.warehouse.out_type_id
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": picking_type.id,
                "partner_id": self.customer.id,
                "location_id": self.stock.id,
                "location_dest_id": self.env.ref("stock.stock_location_customers").id,
                "move_ids": [
                    (
                        0,
                        0,
                        {
                            "name": product.name,
                            "product_id": product.id,
                            "product_uom_qty": quantity,
                            "product_uom": product.uom_id.id,
                            "location_id": self.stock.id,
                            "location_dest_id": self.env.ref(
                                "stock.stock_location_customers"
                            ).id,
                        },
                    )
                    for product, quantity in lines
                ],
                **values,
            }
        )
        if confirm:
            picking.action_confirm()
        return picking

    def receipt(self, lines):
        picking_type = self.warehouse.in_type_id
        supplier = self.env.ref("stock.stock_location_suppliers")
        picking = self.env["stock.picking"].create(
            {
                "picking_type_id": picking_type.id,
                "partner_id": self.customer.id,
                "location_id": supplier.id,
                "location_dest_id": self.stock.id,
                "move_ids": [
                    (
                        0,
                        0,
                        {
                            "name": product.name,
                            "product_id": product.id,
                            "product_uom_qty": quantity,
                            "product_uom": product.uom_id.id,
                            "location_id": supplier.id,
                            "location_dest_id": self.stock.id,
                        },
                    )
                    for product, quantity in lines
                ],
            }
        )
        picking.action_confirm()
        return picking

    # -- messages ----------------------------------------------------------------------
    def messages(self, **domain):
        return self.env["integration.message"].search(
            [("backend_id", "=", self.backend.id)]
            + [(k, "=", v) for k, v in domain.items()],
            order="id",
        )

    def commit_and_run(self):
        """What a commit does (the outbox queues its flush), then the jobs."""
        with trapped_jobs() as trap:
            self.env.cr.flush()
            self.perform_jobs(trap)
        self.env.invalidate_all()

    def deliver_event(self, event, run=True):
        """Intake one event the way the webhook does (signed body), and run
        its job; returns the message."""
        body = json.dumps(event).encode()
        headers = {
            "X-Integration-Signature": compute_signature(WMS_SECRET, body),
            "X-Integration-Event": event.get("event_type", ""),
        }
        with trapped_jobs() as trap:
            message, _created = self.env["integration.message"]._intake_webhook(
                self.backend, headers, body
            )
            if run:
                self.perform_jobs(trap)
        message.invalidate_recordset()
        return message

    def released(self, picking):
        """Let the outbox send what was recorded; returns the picking."""
        self.commit_and_run()
        return picking

    def line_of(self, picking, product):
        move = picking.move_ids.filtered(lambda m: m.product_id == product)[:1]
        return move.wms_line_id or str(move.id)


class WmsCase(WmsMixin, IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_wms()


class WmsHttpCase(WmsMixin, IntegrationHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_wms()

    def webhook_url(self):
        return f"{self.base_url()}/integration/webhook/{self.backend.id}"
