from odoo import models


class AccountMove(models.Model):
    """Credit notes of Shopify refunds show their integration messages."""

    _name = "account.move"
    _inherit = ["account.move", "integration.document.mixin"]
