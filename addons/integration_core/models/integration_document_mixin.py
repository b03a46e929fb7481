from odoo import _, api, fields, models


class IntegrationDocumentMixin(models.AbstractModel):
    """Gives a business document its integration messages: a smart button
    and the correlation id of the exchange that created it."""

    _name = "integration.document.mixin"
    _description = "Integration messages of a document"

    integration_correlation_id = fields.Char(
        "Integration correlation id", copy=False, index=True, readonly=True
    )
    integration_message_count = fields.Integer(
        compute="_compute_integration_message_count",
        groups="integration_core.group_integration_user",
    )

    def _integration_reference(self):
        """The name people know the document by in exchanges: outbound
        messages of the outbox about this one document are named after it."""
        self.ensure_one()
        return self.display_name

    def _integration_message_domain(self):
        domain = ["&", ("res_model", "=", self._name), ("res_id", "in", self.ids)]
        correlations = [c for c in self.mapped("integration_correlation_id") if c]
        if correlations:
            domain = ["|", ("correlation_id", "in", correlations)] + domain
        return domain

    @api.depends("integration_correlation_id")
    def _compute_integration_message_count(self):
        Message = self.env["integration.message"]
        for record in self:
            record.integration_message_count = (
                Message.search_count(record._integration_message_domain())
                if record.id
                else 0
            )

    def action_view_integration_messages(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_core.action_integration_message"
        )
        action.update(
            domain=self._integration_message_domain(),
            name=_("Integration messages"),
            context={},
        )
        return action
