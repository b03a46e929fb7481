from odoo import _, api, fields, models
from odoo.exceptions import AccessError

TRACE_STATES = [
    ("stuck", "Stuck"),
    ("waiting", "Waiting"),
    ("complete", "Complete"),
    ("empty", "Nothing yet"),
]


class IntegrationTrace(models.TransientModel):
    """One order's trace, as a screen: built from the documents and their
    messages each time it opens (``_integration_trace_summary``), never
    stored beyond the screen, so it cannot drift from them."""

    _name = "integration.trace"
    _description = "Order trace"

    name = fields.Char(readonly=True)
    res_model = fields.Char(readonly=True)
    res_id = fields.Integer(readonly=True)
    origin_message_id = fields.Many2one(
        "integration.message", "Opened from", readonly=True
    )
    state = fields.Selection(TRACE_STATES, readonly=True)
    headline = fields.Char(readonly=True)
    step_ids = fields.One2many(
        "integration.trace.step", "trace_id", "Steps", readonly=True
    )

    @api.depends("name")
    def _compute_display_name(self):
        for trace in self:
            trace.display_name = _("Trace of %s", trace.name)

    @api.model
    def _check_desk_user(self):
        if not self.env.user.has_group("integration_core.group_integration_user"):
            raise AccessError(_("The order trace is for integration users."))

    @api.model
    def _values_for(self, record):
        summary = record._integration_trace_summary()
        origin = record if record._name == "integration.message" else None
        root = summary.get("root")
        name = root[2] if root else (origin.name if origin else record.display_name)
        return {
            "name": name,
            "res_model": root[0] if root else False,
            "res_id": root[1] if root else False,
            "origin_message_id": origin.id if origin else False,
            "state": summary["state"],
            "headline": summary["headline"],
            "step_ids": [
                (0, 0, self.env["integration.trace.step"]._values_from(step, origin))
                for step in summary["steps"]
            ],
        }

    @api.model
    def _open_for(self, record):
        """The trace screen of ``record`` (a document or a message)."""
        self._check_desk_user()
        trace = self.create(self._values_for(record))
        return {
            "type": "ir.actions.act_window",
            "name": _("Trace: %s", trace.name),
            "res_model": self._name,
            "res_id": trace.id,
            "view_mode": "form",
            "target": "current",
        }

    def _source(self):
        self.ensure_one()
        if self.origin_message_id:
            return self.origin_message_id
        record = self.env[self.res_model].browse(self.res_id)
        return record.sudo().exists().with_env(self.env)

    def action_refresh(self):
        self.ensure_one()
        self._check_desk_user()
        values = self._values_for(self._source())
        self.step_ids.unlink()
        self.write(values)
        return True

    def action_open_document(self):
        self.ensure_one()
        return self.env["integration.trace.step"]._open_record(
            self.res_model, self.res_id
        )
