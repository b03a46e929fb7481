from odoo import _, api, fields, models
from odoo.exceptions import ValidationError

from ..exceptions import MappingError

# Kind -> model of the Odoo records it maps to. Connectors add kinds with
# ``selection_add`` on ``kind`` and an entry in ``_kind_models``.
VALUE_MAP_KINDS = [
    ("tax", "Tax"),
    ("uom", "Unit of measure"),
    ("carrier_service", "Carrier service"),
    ("payment_method", "Payment method"),
    ("warehouse", "Warehouse"),
    ("location", "Location"),
    ("product", "Product"),
    ("currency", "Currency"),
    ("country", "Country"),
    ("partner", "Partner"),
]


class IntegrationValueMap(models.Model):
    """External code -> Odoo record, per backend and kind, with defaults."""

    _name = "integration.value.map"
    _description = "Integration Value Map"
    _order = "backend_id, kind, is_default desc, external_code"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    kind = fields.Selection(VALUE_MAP_KINDS, required=True, index=True)
    external_code = fields.Char(
        help="The external system's code. Leave empty on the default."
    )
    is_default = fields.Boolean(
        "Default", help="Used for any code of this kind without its own line."
    )
    res_model = fields.Char(
        "Model",
        compute="_compute_res_model",
        store=True,
        readonly=False,
    )
    record_ref = fields.Reference(
        selection="_selection_record_ref", string="Odoo record", required=True
    )
    note = fields.Char()

    _sql_constraints = [
        (
            "code_unique",
            "UNIQUE(backend_id, kind, external_code)",
            "This code is already mapped for this kind on this backend.",
        )
    ]

    @api.model
    def _kind_models(self):
        return {
            "tax": "account.tax",
            "uom": "uom.uom",
            "carrier_service": "delivery.carrier",
            "payment_method": "account.journal",
            "warehouse": "stock.warehouse",
            "location": "stock.location",
            "product": "product.product",
            "currency": "res.currency",
            "country": "res.country",
            "partner": "res.partner",
        }

    @api.model
    def _selection_record_ref(self):
        models_ = sorted(set(self._kind_models().values()))
        names = {
            m.model: m.name
            for m in self.env["ir.model"].sudo().search([("model", "in", models_)])
        }
        return [(model, names[model]) for model in models_ if model in names]

    @api.depends("kind")
    def _compute_res_model(self):
        for line in self:
            line.res_model = self._kind_models().get(line.kind)

    @api.constrains("is_default", "external_code", "backend_id", "kind")
    def _check_default(self):
        for line in self:
            if not line.is_default and not line.external_code:
                raise ValidationError(
                    _("Give an external code, or mark the line as the default.")
                )
            if line.is_default:
                others = self.search_count(
                    [
                        ("backend_id", "=", line.backend_id.id),
                        ("kind", "=", line.kind),
                        ("is_default", "=", True),
                        ("id", "!=", line.id),
                    ]
                )
                if others:
                    raise ValidationError(_("Only one default per kind and backend."))

    @api.constrains("record_ref", "res_model")
    def _check_record_model(self):
        for line in self:
            if line.record_ref and line.record_ref._name != line.res_model:
                raise ValidationError(
                    _(
                        "A %(kind)s maps to a %(model)s record.",
                        kind=line.kind,
                        model=line.res_model,
                    )
                )

    @api.model
    def _lookup(self, backend, kind, code, default=True):
        """The mapped record, else the kind's default, else empty."""
        lines = self.search(
            [
                ("backend_id", "=", backend.id),
                ("kind", "=", kind),
                "|",
                ("external_code", "=", code),
                ("is_default", "=", True),
            ]
        )
        exact = lines.filtered(lambda line: line.external_code == code)[:1]
        line = exact or (default and lines.filtered("is_default")[:1])
        return line.record_ref if line else None

    @api.model
    def _map(self, backend, kind, code, message=None):
        """Like ``_lookup`` but an unmapped code raises a ``MappingError``
        naming backend, kind and code."""
        record = self._lookup(backend, kind, code)
        if not record:
            label = dict(self._fields["kind"]._description_selection(self.env))[kind]
            raise MappingError(
                backend.name, kind, code, message=message, kind_label=label
            )
        return record
