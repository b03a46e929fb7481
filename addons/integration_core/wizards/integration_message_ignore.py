from odoo import fields, models


class IntegrationMessageIgnore(models.TransientModel):
    _name = "integration.message.ignore"
    _description = "Ignore integration messages"

    message_ids = fields.Many2many(
        "integration.message",
        default=lambda self: self.env.context.get("active_ids"),
    )
    reason = fields.Text(required=True)

    def action_confirm(self):
        self.message_ids.action_ignore(self.reason)
        return {"type": "ir.actions.act_window_close"}
