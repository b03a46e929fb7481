from odoo import _, api, fields, models
from odoo.exceptions import ValidationError


class IntegrationBinding(models.Model):
    """External id <-> Odoo record, per backend, unique both ways.

    The basis of idempotent upserts: a connector looks the external id up
    before creating anything, and binds what it created in the same
    transaction.
    """

    _name = "integration.binding"
    _description = "Integration Binding"
    _order = "backend_id, res_model, external_id"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    res_model = fields.Char("Model", required=True, index=True)
    res_id = fields.Many2oneReference(
        "Record id", model_field="res_model", required=True, index=True
    )
    external_id = fields.Char(required=True, index=True)
    external_updated_at = fields.Datetime(
        help="Version of the external data last applied: older updates are "
        "skipped, so out-of-order deliveries cannot undo newer ones."
    )
    record_name = fields.Char("Record", compute="_compute_record_name")

    _sql_constraints = [
        (
            "external_unique",
            "UNIQUE(backend_id, res_model, external_id)",
            "This external id is already bound on this backend.",
        ),
        (
            "record_unique",
            "UNIQUE(backend_id, res_model, res_id)",
            "This record is already bound on this backend.",
        ),
    ]

    @api.depends("res_model", "res_id")
    def _compute_record_name(self):
        for binding in self:
            record = binding._record()
            binding.record_name = record.display_name if record else _("(deleted)")

    @api.constrains("res_model")
    def _check_model(self):
        for binding in self:
            if binding.res_model not in self.env:
                raise ValidationError(_("Unknown model %s.", binding.res_model))

    def _record(self):
        self.ensure_one()
        if self.res_model not in self.env:
            return None
        return self.env[self.res_model].browse(self.res_id).exists() or None

    @api.model
    def _find(self, backend, model, external_id):
        """The bound Odoo record, or an empty recordset."""
        binding = self.search(
            [
                ("backend_id", "=", backend.id),
                ("res_model", "=", model),
                ("external_id", "=", str(external_id)),
            ],
            limit=1,
        )
        return (binding and binding._record()) or self.env[model]

    @api.model
    def _bindings_by_external_id(self, backend, model, external_ids):
        """``{external id: binding}`` of many external ids, in one query."""
        external_ids = list({str(e) for e in external_ids if e not in (None, "")})
        if not external_ids:
            return {}
        return {
            binding.external_id: binding
            for binding in self.search(
                [
                    ("backend_id", "=", backend.id),
                    ("res_model", "=", model),
                    ("external_id", "in", external_ids),
                ]
            )
        }

    @api.model
    def _find_many(self, backend, model, external_ids):
        """``{external id: record}`` of the external ids bound to existing
        records, in three queries whatever their number."""
        bindings = self._bindings_by_external_id(backend, model, external_ids)
        records = self.env[model].browse([b.res_id for b in bindings.values()])
        existing = set(records.exists().ids)
        return {
            external_id: records.browse(binding.res_id)
            for external_id, binding in bindings.items()
            if binding.res_id in existing
        }

    @api.model
    def _binding_of(self, backend, record):
        return self.search(
            [
                ("backend_id", "=", backend.id),
                ("res_model", "=", record._name),
                ("res_id", "=", record.id),
            ],
            limit=1,
        )

    @api.model
    def _bind(self, backend, record, external_id, external_updated_at=None):
        """Bind ``record`` to ``external_id`` (idempotent); returns the binding."""
        record.ensure_one()
        binding = self.search(
            [
                ("backend_id", "=", backend.id),
                ("res_model", "=", record._name),
                ("external_id", "=", str(external_id)),
            ],
            limit=1,
        )
        vals = {"res_id": record.id}
        if external_updated_at:
            vals["external_updated_at"] = external_updated_at
        if binding:
            binding.write(vals)
            return binding
        return self.create(
            {
                "backend_id": backend.id,
                "res_model": record._name,
                "external_id": str(external_id),
                **vals,
            }
        )

    def action_open_record(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self.res_model,
            "res_id": self.res_id,
            "view_mode": "form",
        }
