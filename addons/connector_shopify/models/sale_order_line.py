from odoo import fields, models


class SaleOrderLine(models.Model):
    _inherit = "sale.order.line"

    shopify_line_id = fields.Char(
        "Shopify line item id",
        readonly=True,
        copy=False,
        index="btree_not_null",
        help="Refunds and fulfillments find the line by it.",
    )
