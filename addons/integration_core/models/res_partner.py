from odoo import models


class ResPartner(models.Model):
    """Partners come from external systems (customers, carriers, banks)."""

    _name = "res.partner"
    _inherit = ["res.partner", "integration.document.mixin"]

    # a customer's messages are not an order's trace
    _integration_trace_rank = -1
