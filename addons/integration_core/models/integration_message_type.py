from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..tools.schema import SchemaDefinitionError, _validator


class IntegrationMessageType(models.Model):
    """A kind of exchange (``orders/create``, ``camt.053``...): its JSON Schema,
    the business object whose sync rule governs it and the handler that
    processes it (a method of ``integration.backend`` the connector adds)."""

    _name = "integration.message.type"
    _description = "Integration Message Type"
    _order = "connector_type, code"

    name = fields.Char(required=True, translate=True)
    code = fields.Char(required=True, index=True)
    connector_type = fields.Selection(
        selection=lambda self: (
            self.env["integration.backend"]
            ._fields["connector_type"]
            ._description_selection(self.env)
        ),
        required=True,
    )
    direction = fields.Selection(
        [("in", "Inbound"), ("out", "Outbound")], required=True, default="in"
    )
    business_object = fields.Selection(
        selection=lambda self: (
            self.env["integration.sync.rule"]
            ._fields["business_object"]
            ._description_selection(self.env)
        ),
        required=True,
        default="other",
    )
    handler = fields.Char(
        help="Method of integration.backend called as handler(message, data) "
        "(for desk items: the re-check hook, handler(message, record)); its "
        "name starts with _<connector type>_."
    )
    is_desk_item = fields.Boolean(
        "Desk item",
        help="Not an exchange: a business exception raised on a record (a bank "
        "line to review, a stock difference). Retry runs the handler as its "
        "re-check.",
    )
    json_schema = fields.Text(
        "JSON Schema", help="Checked when the message is processed."
    )
    payload_format = fields.Selection(
        [("json", "JSON"), ("xml", "XML"), ("text", "Text / file")],
        default="json",
        required=True,
    )
    document_name = fields.Char(
        "Item title",
        translate=True,
        help="What people call one message of this type, before its reference: "
        "'Shopify order' gives 'Shopify order #1003'. Empty: the type's name.",
    )
    description = fields.Text(translate=True)
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "code_unique",
            "UNIQUE(connector_type, direction, code)",
            "A message type code is unique per connector and direction.",
        )
    ]

    @api.constrains("handler", "connector_type")
    def _check_handler(self):
        """A handler is a method of ``integration.backend`` that belongs to
        the type's connector (``_<connector_type>_...``): a typo or another
        connector's method is refused when the data loads, not when the
        first message fails."""
        Backend = self.env["integration.backend"]
        for message_type in self.filtered("handler"):
            prefix = f"_{message_type.connector_type}_"
            if not message_type.handler.startswith(prefix):
                raise ValidationError(
                    _(
                        "Message type %(type)s: handler %(handler)s is not a "
                        "method of the %(connector)s connector (its name must "
                        "start with %(prefix)s).",
                        type=message_type.code,
                        handler=message_type.handler,
                        connector=message_type.connector_type,
                        prefix=prefix,
                    )
                )
            if not callable(getattr(Backend, message_type.handler, None)):
                raise ValidationError(
                    _(
                        "Message type %(type)s: integration.backend has no "
                        "method %(handler)s.",
                        type=message_type.code,
                        handler=message_type.handler,
                    )
                )

    @api.constrains("json_schema")
    def _check_json_schema(self):
        for message_type in self.filtered("json_schema"):
            try:
                _validator(message_type.json_schema)
            except SchemaDefinitionError as exc:
                raise ValidationError(
                    _(
                        "Invalid JSON Schema for %(type)s: %(error)s",
                        type=message_type.code,
                        error=exc,
                    )
                ) from exc

    @api.model
    def _lookup(self, connector_type, direction, code):
        return self.search(
            [
                ("connector_type", "=", connector_type),
                ("direction", "=", direction),
                ("code", "=", code),
            ],
            limit=1,
        )
