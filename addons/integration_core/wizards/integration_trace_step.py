from odoo import _, api, fields, models
from odoo.exceptions import UserError

STEP_STATUSES = [
    ("done", "Done"),
    ("current", "Waiting here"),
    ("exception", "Exception"),
    ("next", "Expected next"),
    ("pending", "Later"),
]


class IntegrationTraceStep(models.TransientModel):
    _name = "integration.trace.step"
    _description = "Order trace step"
    _order = "sequence, id"

    trace_id = fields.Many2one("integration.trace", required=True, ondelete="cascade")
    sequence = fields.Integer()
    key = fields.Char(readonly=True)
    label = fields.Char("Step", readonly=True)
    status = fields.Selection(STEP_STATUSES, readonly=True)
    stuck = fields.Boolean(
        readonly=True, help="The order is stuck here, or waits here for what is next."
    )
    at = fields.Datetime("Time", readonly=True)
    wait = fields.Char(
        "Waited",
        readonly=True,
        help="Since the step before; for the expected next step: since the "
        "last one, until now.",
    )
    wait_seconds = fields.Float(readonly=True)
    system = fields.Char(readonly=True)
    document = fields.Char(readonly=True)
    res_model = fields.Char(readonly=True)
    res_id = fields.Integer(readonly=True)
    detail = fields.Char(readonly=True)
    message_id = fields.Many2one("integration.message", readonly=True)
    exception_id = fields.Many2one("integration.message", readonly=True)
    exception_count = fields.Integer(readonly=True)
    exception = fields.Char("Problem", readonly=True)
    is_origin = fields.Boolean(
        "Opened from here", readonly=True, help="The message the trace was opened from."
    )

    @api.model
    def _values_from(self, step, origin=None):
        exceptions = step.get("exception_ids") or []
        message_ids = {step.get("message_id")} | set(exceptions)
        return {
            "sequence": step["index"],
            "key": step["key"],
            "label": step["label"],
            "status": step["status"],
            "stuck": step["stuck"],
            "at": step.get("at") or False,
            "wait": step.get("wait") or False,
            "wait_seconds": step.get("wait_seconds") or 0.0,
            "system": step.get("system") or False,
            "document": step.get("document") or False,
            "res_model": step.get("res_model") or False,
            "res_id": step.get("res_id") or False,
            "detail": step.get("detail") or False,
            "message_id": step.get("message_id") or False,
            "exception_id": exceptions[0] if exceptions else False,
            "exception_count": len(exceptions),
            "exception": (step.get("exception") or "").splitlines()[0][:500]
            if step.get("exception")
            else False,
            "is_origin": bool(origin) and origin.id in message_ids,
        }

    @api.model
    def _open_record(self, res_model, res_id):
        """Open a document of the trace with the user's own rights."""
        if not res_model or res_model not in self.env or not res_id:
            raise UserError(_("This step has no document."))
        record = self.env[res_model].browse(res_id).sudo().exists()
        if not record:
            raise UserError(_("The document no longer exists."))
        if not self.env["integration.message"]._user_can_read(record):
            raise UserError(
                _(
                    "You are not allowed to open %(record)s: it needs rights you "
                    "do not have.",
                    record=record.display_name,
                )
            )
        return {
            "type": "ir.actions.act_window",
            "res_model": res_model,
            "res_id": res_id,
            "view_mode": "form",
            "target": "current",
        }

    def _open_message(self, message):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "integration.message",
            "res_id": message.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_open_message(self):
        return self._open_message(self.message_id)

    def action_open_exception(self):
        return self._open_message(self.exception_id)

    def action_open_document(self):
        self.ensure_one()
        return self._open_record(self.res_model, self.res_id)
