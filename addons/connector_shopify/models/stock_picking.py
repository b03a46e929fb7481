from odoo import fields, models


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "integration.document.mixin"]

    shopify_fulfillment_id = fields.Char(
        "Shopify fulfillment", readonly=True, copy=False
    )

    def _integration_reference(self):
        # "#1042 / WH/OUT/00007": the Shopify order people know, then the picking
        order = self.sale_id.shopify_backend_id and self.sale_id.client_order_ref
        if order:
            return f"{order} / {self.name}"
        return super()._integration_reference()

    def _create_backorder(self):
        # a backorder is the rest of the same order: the same correlation id
        backorders = super()._create_backorder()
        for backorder in backorders:
            original = backorder.backorder_id
            if original.integration_correlation_id:
                backorder.integration_correlation_id = (
                    original.integration_correlation_id
                )
        return backorders

    def _action_done(self):
        result = super()._action_done()
        self.env["shopify.fulfillment.exporter"]._queue_pickings(
            self.filtered(lambda p: p.state == "done")
        )
        return result
