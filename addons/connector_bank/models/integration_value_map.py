from odoo import api, fields, models


class IntegrationValueMap(models.Model):
    """Bank accounts the bank names but no journal carries: IBAN -> journal."""

    _inherit = "integration.value.map"

    kind = fields.Selection(
        selection_add=[("bank_account", "Bank account (IBAN)")],
        ondelete={"bank_account": "cascade"},
    )

    @api.model
    def _kind_models(self):
        return {**super()._kind_models(), "bank_account": "account.journal"}
