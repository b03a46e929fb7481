"""Stock levels out: micro-batches of what changed, per mapped location."""

import json
from datetime import timedelta

from odoo import fields
from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import (
    assert_hidden_from,
    other_company_user,
    trapped_jobs,
)

from .common import ShopifyCase


@tagged("post_install", "-at_install")
class TestStockExport(ShopifyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.warehouse_2 = cls.env["stock.warehouse"].create(
            {"name": "Ghent warehouse", "code": "GNT"}
        )
        cls.env.cr.flush()  # what set-up recorded is written, then dropped
        cls.env["integration.outbox"].search([]).unlink()

    def setUp(self):
        super().setUp()
        self.shop.create_location(name="Ghent DC", city="Gent", country_code="BE")
        self.shop.create_product(
            title="Catalogue",
            variants=[
                {"sku": sku, "price": "10.00", "inventory": 0} for sku in self.products
            ],
        )
        locations = self.backend._shopify_fetch_locations()
        self.main = locations.filtered(lambda loc: loc.name == "Sandbox Warehouse")
        self.ghent = locations.filtered(lambda loc: loc.name == "Ghent DC")
        self.main.warehouse_ids = self.warehouse
        self.ghent.warehouse_ids = self.warehouse_2

    def put(self, sku, quantity, warehouse=None):
        warehouse = warehouse or self.warehouse
        self.env["stock.quant"]._update_available_quantity(
            self.products[sku], warehouse.lot_stock_id, quantity
        )

    def export(self, full=False):
        Exporter = self.env["shopify.stock.exporter"]
        with trapped_jobs() as trap:
            message = Exporter._queue_export(self.backend, full=full)
            self.perform_jobs(trap)
        if message:
            message.invalidate_recordset()
        return message

    def shopify_available(self, sku, location="Sandbox Warehouse"):
        (level,) = self.shop.inventory(sku=sku, location=location)
        return level["available"]

    def sent_changes(self):
        return self.shop.inventory_changes(source="graphql")

    def test_changed_products_go_out_per_location_from_their_warehouses(self):
        self.put("TSHIRT-RED-XL", 5)
        self.put("TSHIRT-RED-XL", 7, self.warehouse_2)
        self.put("MUG-WHITE", 3)
        with trapped_jobs():
            self.env.cr.flush()  # done at commit
        queued = self.env["integration.outbox"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertEqual(set(queued.mapped("business_object")), {"stock_level"})
        self.assertEqual(
            set(
                self.env["product.product"]
                .browse(queued.mapped("res_id"))
                .mapped("default_code")
            ),
            {"TSHIRT-RED-XL", "MUG-WHITE"},
        )
        message = self.export()
        self.assertEqual(message.direction, "out")
        self.assertEqual(message.state, "done", message.error_message)
        self.assertFalse(message.business_exception, message.business_exception)
        # never the sum of both warehouses: each location its own
        self.assertEqual(self.shopify_available("TSHIRT-RED-XL"), 5)
        self.assertEqual(self.shopify_available("TSHIRT-RED-XL", "Ghent DC"), 7)
        self.assertEqual(self.shopify_available("MUG-WHITE"), 3)
        # the queue is empty: nothing to send, no message
        self.assertFalse(self.export())
        # one product changes: one quantity goes out
        self.shop.client.session.delete(
            f"{self.sandbox.url}/_control/shopify/shops/demo/inventory/changes"
        )
        self.put("MUG-WHITE", -1)
        self.export()
        changes = self.sent_changes()
        self.assertEqual(
            [(c["sku"], c["quantity_after"]) for c in changes], [("MUG-WHITE", 2)]
        )
        levels = self.env["shopify.inventory.level"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertEqual(
            sorted(
                (lv.location_id.name, lv.product_id.default_code, lv.quantity)
                for lv in levels
            ),
            [
                ("Ghent DC", "MUG-WHITE", 0),
                ("Ghent DC", "TSHIRT-RED-XL", 7),
                ("Sandbox Warehouse", "MUG-WHITE", 2),
                ("Sandbox Warehouse", "TSHIRT-RED-XL", 5),
            ],
        )

    def test_levels_are_seen_in_their_company_only(self):
        self.put("MUG-WHITE", 3)
        self.export()
        levels = self.env["shopify.inventory.level"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertTrue(levels)
        self.assertEqual(levels.company_id, self.env.company)
        clerk = other_company_user(self.env, "other_region_clerk")
        assert_hidden_from(self, levels, clerk, "quantity")

    def test_reservations_lower_what_shopify_may_sell(self):
        self.put("CAP-BLUE", 10)
        self.export()
        sale = self.env["sale.order"].create(
            {
                "partner_id": self.env["res.partner"].create({"name": "Shop"}).id,
                "warehouse_id": self.warehouse.id,
                "order_line": [
                    (
                        0,
                        0,
                        {
                            "product_id": self.products["CAP-BLUE"].id,
                            "product_uom_qty": 4,
                        },
                    )
                ],
            }
        )
        sale.action_confirm()
        self.export()
        self.assertEqual(self.shopify_available("CAP-BLUE"), 6)

    def test_stale_guard_is_refreshed_and_odoo_wins(self):
        self.put("MUG-WHITE", 8)
        self.export()
        # somebody (a Shopify sale, an admin) changed Shopify meanwhile
        self.shop.set_inventory("MUG-WHITE", 5)
        self.put("MUG-WHITE", -2)
        message = self.export()
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(self.shopify_available("MUG-WHITE"), 6)

    def test_full_resync_reads_shopify_and_corrects_drift(self):
        self.put("TSHIRT-RED-XL", 4)
        self.export()
        self.shop.set_inventory("TSHIRT-RED-XL", 40)
        self.shop.set_inventory("CAP-BLUE", 9)  # never sent: Odoo has none
        message = self.export(full=True)
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(self.shopify_available("TSHIRT-RED-XL"), 4)
        self.assertEqual(self.shopify_available("CAP-BLUE"), 0)
        self.assertEqual(json.loads(message.payload), {"full": True})

    def test_batches_of_at_most_250_and_catalogue_lookup(self):
        skus = [f"BULK-{n:04d}" for n in range(320)]
        self.shop.create_product(
            title="Bulk",
            variants=[{"sku": sku, "price": "1.00", "inventory": 0} for sku in skus],
        )
        products = self.env["product.product"].create(
            [{"name": sku, "default_code": sku, "type": "product"} for sku in skus]
        )
        stock = self.warehouse.lot_stock_id
        for product in products:
            self.env["stock.quant"]._update_available_quantity(product, stock, 3)
        self.sandbox.clear_requests_log()
        message = self.export()
        self.assertEqual(message.state, "done", message.error_message)
        graphql = self.sandbox.requests_log(category="graphql")["requests"]
        # 320 products x 2 locations (Ghent's zeros were never sent, so they
        # go once): 640 quantities in 3 calls of at most 250, no lookups
        self.assertEqual(len(graphql), 3)
        rest = self.sandbox.requests_log(category="rest")["requests"]
        self.assertTrue(any("products.json" in r["path"] for r in rest))
        self.assertEqual(self.shopify_available("BULK-0319"), 3)
        self.assertEqual(
            self.env["shopify.inventory.item"].search_count(
                [("backend_id", "=", self.backend.id)]
            ),
            320,
        )

    def test_micro_batches_wait_the_rule_interval_and_later_changes_join(self):
        rule = self.backend._sync_rule("stock_level")
        self.assertEqual((rule.mode, rule.interval_minutes), ("micro_batch", 2))
        self.put("CAP-BLUE", 2)
        with trapped_jobs() as trap:
            self.env.cr.flush()  # the commit of the stock operation
            (job,) = trap.enqueued_jobs
            self.assertEqual(job.identity_key, f"integration.outbox:{rule.id}")
            self.assertEqual(job.channel, "root.integration.shopify")
            self.assertAlmostEqual(
                job.eta,
                fields.Datetime.now() + timedelta(minutes=2),
                delta=timedelta(seconds=30),
            )
            self.perform_jobs(trap)
        self.assertEqual(self.shopify_available("CAP-BLUE"), 2)
        # changes within the window join the pending job (stored for real
        # here, as the job runner sees it): debounced, one message for both
        for _i in range(2):
            self.put("CAP-BLUE", 1)
            self.env.cr.flush()  # two transactions
        jobs = self.env["queue.job"].search(
            [("identity_key", "=", f"integration.outbox:{rule.id}")]
        )
        self.assertEqual(len(jobs), 1)
        self.assertEqual(jobs.state, "pending")
        self.assertTrue(jobs.eta)
        with trapped_jobs() as trap:
            rule._outbox_flush_job()  # what the job runs
            self.perform_jobs(trap)
        message = self.messages(message_type="stock.export")[-1:]
        self.assertEqual(
            json.loads(message.payload),
            {"model": "product.product", "ids": [self.products["CAP-BLUE"].id]},
        )
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(self.shopify_available("CAP-BLUE"), 4)

    def test_unmapped_sku_and_export_flow_off(self):
        product = self.env["product.product"].create(
            {"name": "Local only", "default_code": "LOCAL-1", "type": "product"}
        )
        self.env["stock.quant"]._update_available_quantity(
            product, self.warehouse.lot_stock_id, 1
        )
        message = self.export()
        self.assertEqual(message.state, "done")
        # not a desk item: most catalogues hold products the shop does not sell
        self.assertFalse(message.business_exception)
        self.backend._sync_rule("stock_level").direction = "off"
        self.put("MUG-WHITE", 1)
        with trapped_jobs() as trap:
            self.env.cr.flush()
            trap.assert_jobs_count(0)
        self.assertFalse(
            self.env["integration.outbox"].search(
                [
                    ("res_model", "=", "product.product"),
                    ("res_id", "=", self.products["MUG-WHITE"].id),
                ]
            )
        )
