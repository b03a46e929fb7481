from odoo import api, fields, models


class IntegrationValueMapCreate(models.TransientModel):
    """Bank accounts (IBAN) and payment methods map to journals: the mapping
    wizard chooses the journal directly."""

    _inherit = "integration.value.map.create"

    journal_id = fields.Many2one("account.journal")

    @api.model
    def _kind_fields(self):
        return {
            **super()._kind_fields(),
            "bank_account": "journal_id",
            "payment_method": "journal_id",
        }
