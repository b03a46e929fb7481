import base64

from odoo import _, fields, models
from odoo.exceptions import AccessError

MANAGER = "integration_core.group_integration_manager"


class IntegrationMessagePayloadEdit(models.TransientModel):
    """Managers repair a payload the sender got wrong and reprocess it; the
    body as received is kept as an attachment of the message."""

    _name = "integration.message.payload.edit"
    _description = "Repair an integration message's payload"

    message_id = fields.Many2one("integration.message", required=True)
    payload = fields.Text(required=True)
    problem = fields.Char(related="message_id.error_message")

    def default_get(self, fields_list):
        values = super().default_get(fields_list)
        message = self.env["integration.message"].browse(values.get("message_id"))
        if message and "payload" in fields_list:
            values["payload"] = message.payload_display or message.payload
        return values

    def action_confirm(self):
        self.ensure_one()
        if not self.env.user.has_group(MANAGER):
            raise AccessError(_("Only integration managers can edit a payload."))
        message = self.message_id
        original = message.payload or ""
        self.env["ir.attachment"].create(
            {
                "name": f"payload-as-received-{message.id}.txt",
                "res_model": message._name,
                "res_id": message.id,
                "datas": base64.b64encode(original.encode()),
                "mimetype": "text/plain",
            }
        )
        message.write({"payload": self.payload, "payload_encoding": "utf-8"})
        message._process_now(
            _(
                "Payload repaired by %s (the body as received is attached); "
                "reprocessed",
                self.env.user.name,
            )
        )
        return message._outcome_notification()
