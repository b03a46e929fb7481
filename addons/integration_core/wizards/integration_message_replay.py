from odoo import _, api, fields, models


class IntegrationMessageReplay(models.TransientModel):
    """Replay finished messages, one or a filtered selection (managers)."""

    _name = "integration.message.replay"
    _description = "Replay integration messages"

    message_ids = fields.Many2many(
        "integration.message",
        default=lambda self: self.env.context.get("active_ids"),
    )
    reason = fields.Char(required=True)
    replayable_count = fields.Integer(compute="_compute_counts")
    other_count = fields.Integer(compute="_compute_counts")

    @api.depends("message_ids")
    def _compute_counts(self):
        for wizard in self:
            replayable = wizard.message_ids._replayable()
            wizard.replayable_count = len(replayable)
            wizard.other_count = len(wizard.message_ids) - len(replayable)

    def action_confirm(self):
        replayed = self.message_ids.action_replay(self.reason)
        skipped = len(self.message_ids) - len(replayed)
        text = _("%s message(s) queued to be applied again.", len(replayed))
        if skipped:
            text += " " + _(
                "%s left as they are (not finished, a desk item, or payload purged).",
                skipped,
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Replay"),
                "message": text,
                "type": "success" if replayed else "warning",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }
