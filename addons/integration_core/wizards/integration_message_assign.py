from odoo import _, api, fields, models
from odoo.exceptions import UserError


class IntegrationMessageAssign(models.TransientModel):
    """Assign desk items to a colleague, with a to-do activity and due date
    (the activity notifies them)."""

    _name = "integration.message.assign"
    _description = "Assign integration exceptions"

    message_ids = fields.Many2many(
        "integration.message",
        default=lambda self: self.env.context.get("active_ids"),
    )
    user_id = fields.Many2one(
        "res.users",
        "Assign to",
        required=True,
        domain=lambda self: [
            ("share", "=", False),
            ("company_ids", "in", self.env.company.ids),
        ],
        default=lambda self: self.env.context.get("default_user_id") or self.env.user,
    )
    date_deadline = fields.Date("Due", required=True, default=fields.Date.context_today)
    note = fields.Text(default=lambda self: self.env.context.get("default_note"))

    @api.onchange("user_id")
    def _onchange_user_id(self):
        if self.user_id and not self.user_id.has_group(
            "integration_core.group_integration_user"
        ):
            return {
                "warning": {
                    "title": _("Not a desk user"),
                    "message": _(
                        "%s does not see the Integration menu: they get the "
                        "activity and can open the item from it.",
                        self.user_id.name,
                    ),
                }
            }
        return None

    def action_confirm(self):
        self.ensure_one()
        if not self.message_ids:
            raise UserError(_("Choose the items to assign."))
        self.message_ids._assign(
            self.user_id, note=self.note, deadline=self.date_deadline
        )
        for message in self.message_ids:
            message.message_post(
                body=_(
                    "Assigned to %(user)s by %(by)s, due %(due)s.",
                    user=self.user_id.name,
                    by=self.env.user.name,
                    due=self.date_deadline,
                )
            )
        return self.env["integration.message"]._notification(
            _(
                "%(count)s item(s) assigned to %(user)s, due %(due)s; they have "
                "been notified.",
                count=len(self.message_ids),
                user=self.user_id.name,
                due=self.date_deadline,
            ),
            "success",
        )
