from odoo import _, api, fields, models
from odoo.exceptions import UserError


class IntegrationValueMapCreate(models.TransientModel):
    """From a mapping exception: map the missing code, then retry."""

    _name = "integration.value.map.create"
    _description = "Create the missing mapping and retry"

    message_id = fields.Many2one("integration.message", required=True)
    backend_id = fields.Many2one(related="message_id.backend_id")
    kind = fields.Char("Kind code", compute="_compute_from_message")
    kind_label = fields.Char("Kind", compute="_compute_from_message")
    external_code = fields.Char(compute="_compute_from_message")
    record_ref = fields.Reference(
        selection=lambda self: self.env[
            "integration.value.map"
        ]._selection_record_ref(),
        string="Map to",
        required=True,
    )
    retry_similar = fields.Boolean(
        "Also retry other messages missing this code", default=True
    )

    @api.depends("message_id")
    def _compute_from_message(self):
        ValueMap = self.env["integration.value.map"]
        labels = dict(ValueMap._fields["kind"]._description_selection(self.env))
        for wizard in self:
            wizard.kind = wizard.message_id.mapping_kind
            wizard.kind_label = labels.get(wizard.kind, wizard.kind)
            wizard.external_code = wizard.message_id.mapping_code

    @api.onchange("message_id")
    def _onchange_message_id(self):
        model = self.env["integration.value.map"]._kind_models().get(self.kind)
        if model and not self.record_ref and model in self.env:
            self.record_ref = f"{model},0"

    def action_confirm(self):
        self.ensure_one()
        if not self.kind or not self.external_code:
            raise UserError(_("The message does not name a missing mapping."))
        self.env["integration.value.map"].create(
            {
                "backend_id": self.backend_id.id,
                "kind": self.kind,
                "external_code": self.external_code,
                "record_ref": f"{self.record_ref._name},{self.record_ref.id}",
            }
        )
        messages = self.message_id
        if self.retry_similar:
            messages |= self.env["integration.message"].search(
                [
                    ("backend_id", "=", self.backend_id.id),
                    ("state", "=", "failed"),
                    ("mapping_kind", "=", self.kind),
                    ("mapping_code", "=", self.external_code),
                ]
            )
        messages.action_retry()
        return {"type": "ir.actions.act_window_close"}
