"""The WMS's business signals on the Overview: delivery orders confirmed but
not released after the backend's hours, released but not shipped after its
hours; per company; each figure opens the deliveries it counts. The states
are set with the ORM (no WMS needed)."""

from datetime import timedelta

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.integration_core.tests.common import IntegrationCase
from odoo.addons.integration_core.tests.signals import BusinessSignalAssertions


@tagged("post_install", "-at_install")
class TestWmsBusinessSignals(BusinessSignalAssertions, IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = cls.env
        Backend = env["integration.backend"].sudo()
        cls.company_a = env.company
        cls.company_b = env["res.company"].create({"name": "WMS signals B"})
        cls.env.user.company_ids |= cls.company_b
        cls.backend = Backend.create(
            {"name": "WMS A", "connector_type": "wms", "company_id": cls.company_a.id}
        )
        cls.backend_b = Backend.create(
            {"name": "WMS B", "connector_type": "wms", "company_id": cls.company_b.id}
        )
        cls.warehouse = env["stock.warehouse"].search(
            [("company_id", "=", cls.company_a.id)], limit=1
        )
        cls.warehouse_b = env["stock.warehouse"].search(
            [("company_id", "=", cls.company_b.id)], limit=1
        )
        cls.warehouse.wms_backend_id = cls.backend
        cls.warehouse_b.wms_backend_id = cls.backend_b
        cls.product = env["product.product"].create(
            {"name": "Signal cap", "default_code": "SIG-CAP", "type": "consu"}
        )
        cls.customer = env["res.partner"].create({"name": "Signal customer"})
        now = fields.Datetime.now()
        hours = lambda n: now - timedelta(hours=n)  # noqa: E731

        cls.late = cls.delivery(hours(5), "waiting")
        cls.late_held = cls.delivery(hours(30), "held")
        cls.never_recorded = cls.delivery(hours(6), False)
        cls.recent = cls.delivery(hours(1), "waiting")
        cls.stuck = cls.delivery(hours(40), "released", released_at=hours(30))
        cls.acked = cls.delivery(hours(40), "acknowledged", released_at=hours(26))
        cls.just_released = cls.delivery(hours(40), "released", released_at=hours(2))
        cls.cancelled = cls.delivery(hours(40), "waiting")
        cls.cancelled.action_cancel()
        cls.receipt = cls.delivery(hours(40), "waiting", incoming=True)
        cls.late_b = cls.delivery(hours(9), "waiting", warehouse=cls.warehouse_b)
        cls.stock_user_a = new_test_user(
            env,
            login="wms_signals_stock_a",
            groups="stock.group_stock_user,integration_core.group_integration_user",
            company_id=cls.company_a.id,
            company_ids=[Command.set(cls.company_a.ids)],
        )
        cls.clerk = new_test_user(
            env,
            login="wms_signals_clerk",
            groups="base.group_user,integration_core.group_integration_user",
            company_id=cls.company_a.id,
            company_ids=[Command.set(cls.company_a.ids)],
        )

    @classmethod
    def delivery(
        cls, created, wms_state, released_at=False, warehouse=None, incoming=False
    ):
        """A confirmed delivery (or receipt) made at ``created`` in ``wms_state``."""
        warehouse = warehouse or cls.warehouse
        env = cls.env(
            context=dict(cls.env.context, allowed_company_ids=warehouse.company_id.ids)
        )
        picking_type = warehouse.in_type_id if incoming else warehouse.out_type_id
        source = picking_type.default_location_src_id or env.ref(
            "stock.stock_location_suppliers"
        )
        dest = picking_type.default_location_dest_id or env.ref(
            "stock.stock_location_customers"
        )
        picking = env["stock.picking"].create(
            {
                "picking_type_id": picking_type.id,
                "partner_id": cls.customer.id,
                "location_id": source.id,
                "location_dest_id": dest.id,
                "move_ids": [
                    Command.create(
                        {
                            "name": cls.product.name,
                            "product_id": cls.product.id,
                            "product_uom_qty": 1,
                            "product_uom": cls.product.uom_id.id,
                            "location_id": source.id,
                            "location_dest_id": dest.id,
                        }
                    )
                ],
            }
        )
        picking.action_confirm()
        picking.write(
            {"date": created, "wms_state": wms_state, "wms_released_at": released_at}
        )
        return picking

    def test_confirmed_not_released_after_the_backends_hours(self):
        self.assertEqual(self.backend.wms_signal_release_hours, 4)
        self.assertEqual(
            self.open_signal(self.backend, "not_released"),
            self.late | self.late_held | self.never_recorded,
        )
        rows = self.signal_rows(self.backend)
        self.assertIn("over 4 h ago", rows["not_released"]["label"])
        self.backend.wms_signal_release_hours = 0
        self.assertEqual(
            self.open_signal(self.backend, "not_released"),
            self.late | self.late_held | self.never_recorded | self.recent,
        )
        self.backend.wms_signal_release_hours = 8
        self.assertEqual(self.open_signal(self.backend, "not_released"), self.late_held)

    def test_released_not_shipped_after_the_backends_hours(self):
        self.assertEqual(
            self.open_signal(self.backend, "not_shipped"), self.stuck | self.acked
        )
        self.backend.wms_signal_ship_hours = 28
        self.assertEqual(self.open_signal(self.backend, "not_shipped"), self.stuck)
        # shipped: the WMS confirmed it, it is no longer counted
        self.stuck.wms_state = "shipped"
        self.assertFalse(self.open_signal(self.backend, "not_shipped"))

    def test_each_company_counts_its_own(self):
        self.assertEqual(self.open_signal(self.backend_b, "not_released"), self.late_b)
        self.assertFalse(self.open_signal(self.backend_b, "not_shipped"))
        # a stock user of company A sees A's card and opens A's deliveries
        self.assertEqual(
            self.env["integration.backend"]
            .with_user(self.stock_user_a)
            .search([("connector_type", "=", "wms")]),
            self.backend,
        )
        self.assertEqual(
            self.open_signal(self.backend, "not_released", user=self.stock_user_a),
            self.late | self.late_held | self.never_recorded,
        )

    def test_the_clerk_sees_the_figures_not_the_deliveries(self):
        rows = self.signal_rows(self.backend, user=self.clerk)
        self.assertEqual(rows["not_released"]["count"], 3)
        self.assertFalse(rows["not_released"]["can_open"])
        with self.assertRaises(UserError):
            self.backend.with_user(self.clerk).action_open_business_signal(
                "not_shipped"
            )

    def test_the_signal_index_exists(self):
        self.env.cr.execute(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %s",
            ["stock_picking_wms_signal_idx"],
        )
        (definition,) = self.env.cr.fetchone()
        self.assertIn("wms_backend_id", definition)
