from odoo import fields, models


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "integration.document.mixin"]

    shopify_fulfillment_id = fields.Char(
        "Shopify fulfillment", readonly=True, copy=False
    )

    def _action_done(self):
        result = super()._action_done()
        self.env["shopify.fulfillment.exporter"]._queue_pickings(
            self.filtered(lambda p: p.state == "done")
        )
        return result
