from odoo import api, models


class IntegrationSyncRule(models.Model):
    """Stock changes are queued only for backends whose stock rule exports:
    that list is cached, and refreshed when a rule changes."""

    _inherit = "integration.sync.rule"

    @api.model_create_multi
    def create(self, vals_list):
        rules = super().create(vals_list)
        self.env.registry.clear_cache()
        return rules

    def write(self, vals):
        result = super().write(vals)
        if {"direction", "active", "business_object", "backend_id"} & set(vals):
            self.env.registry.clear_cache()
        return result

    def unlink(self):
        result = super().unlink()
        self.env.registry.clear_cache()
        return result
