from odoo import api, fields, models, tools


class ShopifyStockChange(models.Model):
    """Products whose stock moved, waiting for the next micro-batch export.

    Written on every quant change with a plain INSERT (no unique key: two
    stock operations never wait for, or fail on, each other here); the
    export reads the distinct products and deletes the rows it took.
    """

    _name = "shopify.stock.change"
    _description = "Shopify Stock Change (queue)"
    _log_access = False

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    product_id = fields.Many2one("product.product", required=True, ondelete="cascade")

    @api.model
    @tools.ormcache()
    def _exporting_backend_ids(self):
        self.env["integration.backend"].flush_model(["connector_type", "active"])
        self.env["integration.sync.rule"].flush_model(
            ["backend_id", "business_object", "active", "direction"]
        )
        self.env.cr.execute(
            """
            SELECT b.id FROM integration_backend b
              JOIN integration_sync_rule r ON r.backend_id = b.id
             WHERE b.connector_type = 'shopify' AND b.active
               AND r.business_object = 'stock_level' AND r.active
               AND r.direction IN ('export', 'both')
            """
        )
        return tuple(row[0] for row in self.env.cr.fetchall())

    @api.model
    def _touch_later(self, product_ids):
        """Queue ``product_ids`` when the transaction commits: a picking of
        a hundred moves makes one INSERT, not hundreds."""
        if not product_ids or not self._exporting_backend_ids():
            return
        pending = self.env.cr.precommit.data.setdefault("shopify.stock.touched", set())
        if not pending:
            self.env.cr.precommit.add(self._flush_touched)
        pending.update(product_ids)

    def _flush_touched(self):
        pending = self.env.cr.precommit.data.pop("shopify.stock.touched", set())
        self._touch(sorted(pending))

    @api.model
    def _touch(self, product_ids):
        """Queue ``product_ids`` (storable products) for every Shopify backend
        that sends stock."""
        backend_ids = self._exporting_backend_ids()
        if not backend_ids or not product_ids:
            return
        self.env.cr.execute(
            """
            INSERT INTO shopify_stock_change (backend_id, product_id)
            SELECT b, p FROM unnest(%s) AS b, unnest(%s) AS p
            """,
            (list(backend_ids), list(product_ids)),
        )

    @api.model
    def _take(self, backend, limit=100000):
        """Distinct product ids queued for ``backend``, removed from the
        queue (rows locked by another export are left to it)."""
        self._flush_touched()
        self.env.cr.execute(
            """
            DELETE FROM shopify_stock_change WHERE id IN (
                SELECT id FROM shopify_stock_change
                 WHERE backend_id = %s ORDER BY id LIMIT %s
                   FOR UPDATE SKIP LOCKED)
            RETURNING product_id
            """,
            (backend.id, limit),
        )
        return sorted({row[0] for row in self.env.cr.fetchall()})
