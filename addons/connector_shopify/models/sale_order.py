from odoo import fields, models


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "integration.document.mixin"]

    shopify_backend_id = fields.Many2one(
        "integration.backend", "Shopify backend", readonly=True, copy=False, index=True
    )
    shopify_order_id = fields.Char(
        "Shopify order id", readonly=True, copy=False, index=True
    )
    shopify_financial_status = fields.Char(readonly=True, copy=False)
    shopify_digest = fields.Char(
        "Shopify state applied",
        readonly=True,
        copy=False,
        help="Fingerprint of the order version last applied (same-second "
        "versions with other content are applied too).",
    )
    shopify_taxes_included = fields.Boolean(
        readonly=True, copy=False, help="Shopify prices of this order include taxes."
    )
    shopify_refund_ids = fields.One2many(
        "shopify.refund", "sale_order_id", "Shopify refunds", readonly=True
    )

    def _prepare_confirmation_values(self):
        """A Shopify order keeps the date the customer ordered in Shopify
        (Odoo would set the confirmation time)."""
        values = super()._prepare_confirmation_values()
        if self and all(self.mapped("shopify_order_id")):
            values.pop("date_order", None)
        return values
