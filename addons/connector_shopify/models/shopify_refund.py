from odoo import fields, models


class ShopifyRefund(models.Model):
    """A Shopify refund applied in Odoo, once: its credit note and return."""

    _name = "shopify.refund"
    _description = "Shopify Refund"
    _order = "id desc"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    shopify_id = fields.Char("Shopify refund id", required=True)
    sale_order_id = fields.Many2one("sale.order", ondelete="set null", index=True)
    credit_note_id = fields.Many2one("account.move", "Credit note", ondelete="set null")
    return_picking_ids = fields.Many2many("stock.picking", string="Returns")
    amount = fields.Monetary("Refunded", currency_field="currency_id")
    currency_id = fields.Many2one("res.currency")
    refunded_at = fields.Datetime()
    outcome = fields.Selection(
        [
            ("credited", "Credit note"),
            ("no_credit", "Nothing to credit"),
            ("review", "Needs review"),
        ],
        readonly=True,
    )
    note = fields.Text(readonly=True)

    _sql_constraints = [
        (
            "shopify_id_unique",
            "UNIQUE(backend_id, shopify_id)",
            "This Shopify refund is already applied.",
        )
    ]
