from odoo import _, api, fields, models
from odoo.exceptions import UserError


class IntegrationValueMapCreate(models.TransientModel):
    """From a mapping exception: map the missing code (to an existing record,
    a new one prefilled from the message, or, for a currency, the existing
    inactive one activated), then retry. What the user has no rights for is
    said, with a colleague who has them to hand it to."""

    _name = "integration.value.map.create"
    _description = "Map the missing code and retry"

    message_id = fields.Many2one("integration.message", required=True)
    backend_id = fields.Many2one(related="message_id.backend_id")
    problem = fields.Char(related="message_id.error_message")
    kind = fields.Char("Kind code", compute="_compute_from_message")
    kind_label = fields.Char("Kind", compute="_compute_from_message")
    external_code = fields.Char("Code", compute="_compute_from_message")
    res_model = fields.Char(compute="_compute_from_message")
    target_field = fields.Char(compute="_compute_from_message")
    # One field per kind's model, so that the kind says what is chosen (no
    # technical record type to pick): connectors add theirs and extend
    # ``_kind_fields`` and the form; ``record_ref`` serves the other kinds.
    currency_id = fields.Many2one("res.currency")
    country_id = fields.Many2one("res.country")
    partner_id = fields.Many2one("res.partner")
    record_ref = fields.Reference(
        selection=lambda self: self.env[
            "integration.value.map"
        ]._selection_record_ref(),
        string="Map to",
    )
    retry_similar = fields.Boolean(
        "Also retry other messages missing this code", default=True
    )
    # a new record, prefilled from the message (the connector's suggestion)
    can_create = fields.Boolean(compute="_compute_rights")
    new_name = fields.Char("Name")
    new_reference = fields.Char("Internal reference")
    new_price = fields.Float("Sales price")
    # a currency that exists but is not active
    inactive_record_name = fields.Char(compute="_compute_from_message")
    can_activate = fields.Boolean(compute="_compute_rights")
    rights_note = fields.Char(compute="_compute_rights")
    rights_operation = fields.Char(compute="_compute_rights")
    rights_need = fields.Char(compute="_compute_rights")
    handoff_user_id = fields.Many2one("res.users", "Hand it to")

    @api.depends("message_id")
    def _compute_from_message(self):
        ValueMap = self.env["integration.value.map"]
        labels = dict(ValueMap._fields["kind"]._description_selection(self.env))
        for wizard in self:
            kind = wizard.message_id.mapping_kind
            wizard.kind = kind
            wizard.kind_label = labels.get(kind, kind)
            wizard.external_code = wizard.message_id.mapping_code
            model = ValueMap._kind_models().get(kind)
            wizard.res_model = model if model in self.env else False
            field = wizard._kind_fields().get(kind)
            wizard.target_field = (
                field
                if field in wizard._fields
                and wizard._fields[field].comodel_name == wizard.res_model
                else False
            )
            wizard.inactive_record_name = wizard._inactive_record().display_name

    @api.model
    def _kind_fields(self):
        """Kind -> the wizard's Many2one field choosing its Odoo record."""
        return {
            "currency": "currency_id",
            "country": "country_id",
            "partner": "partner_id",
        }

    def _target(self):
        """The record chosen to map the code to."""
        self.ensure_one()
        if self.target_field and self[self.target_field]:
            return self[self.target_field]
        return self.record_ref or None

    def _inactive_record(self):
        """The existing, archived record the code names (a currency EUR that
        Odoo has but does not use), if any."""
        self.ensure_one()
        if not self.res_model or not self.external_code:
            return self.env["res.currency"].browse()
        Model = self.env[self.res_model]
        if "active" not in Model._fields or self.kind != "currency":
            return Model.browse()
        return (
            Model.sudo()
            .with_context(active_test=False)
            .search(
                [("name", "=", self.external_code), ("active", "=", False)], limit=1
            )
        )

    @api.depends("res_model", "kind")
    def _compute_rights(self):
        for wizard in self:
            model = wizard.res_model
            wizard.can_create = bool(
                model
                and wizard.kind == "product"
                and self.env[model].check_access_rights("create", raise_exception=False)
            )
            wizard.can_activate = bool(
                wizard.inactive_record_name
                and self.env[model].check_access_rights("write", raise_exception=False)
            )
            need = None
            if wizard.inactive_record_name and not wizard.can_activate:
                need = ("write", _("activate %s", wizard.inactive_record_name))
            elif model and wizard.kind == "product" and not wizard.can_create:
                need = ("create", _("create a new product"))
            if need:
                wizard.rights_note = _(
                    "You are not allowed to %s: hand it to a colleague who is, "
                    "or map the code to an existing record.",
                    need[1],
                )
                wizard.rights_operation, wizard.rights_need = need
            else:
                wizard.rights_note = False
                wizard.rights_operation = wizard.rights_need = False

    def _users_allowed(self, model, operation):
        """Active internal users of the item's company who may ``operation``
        records of ``model`` (by its access rights)."""
        accesses = (
            self.env["ir.model.access"]
            .sudo()
            .search([("model_id.model", "=", model), (f"perm_{operation}", "=", True)])
        )
        company = self.message_id.company_id
        if any(not access.group_id for access in accesses):
            users = self.env["res.users"].sudo().search([("share", "=", False)])
        else:
            users = accesses.group_id.users
        return users.filtered(
            lambda u: (
                u.active
                and not u.share
                and company in u.company_ids
                and u != self.env.user
                and u.id != self.env.ref("base.user_root").id
            )
        ).sorted("id")

    @api.onchange("message_id")
    def _onchange_message_id(self):
        suggestion = self._suggestion()
        self.new_name = suggestion.get("name")
        self.new_reference = suggestion.get("reference") or self.external_code
        self.new_price = suggestion.get("price") or 0.0
        if self.rights_operation and not self.handoff_user_id:
            self.handoff_user_id = self._users_allowed(
                self.res_model, self.rights_operation
            )[:1]
        if self.res_model and not self._target():
            candidate = self._candidate(suggestion)
            if candidate and self.target_field:
                self[self.target_field] = candidate
            elif candidate:
                self.record_ref = f"{candidate._name},{candidate.id}"

    def _suggestion(self):
        """What the message says of the code (the connector's
        ``_<type>_mapping_suggestion(message, kind, code)``: ``name``,
        ``reference``, ``price``)."""
        if not self.message_id or not self.kind:
            return {}
        backend = self.backend_id.sudo()
        hook = backend._hook_method(backend.connector_type, "mapping_suggestion")
        if not hook:
            return {}
        return hook(self.message_id.sudo(), self.kind, self.external_code) or {}

    def _candidate(self, suggestion):
        """An existing record that looks like the one meant: one record found
        by the name the message gives, or by its code read as words
        ("HOODIE-GREY-M" finds "Hoodie grey M")."""
        texts = [suggestion.get("name"), self.external_code]
        texts += [
            " ".join(text.replace("-", " ").replace("_", " ").split())
            for text in texts
            if text
        ]
        for text in dict.fromkeys(t for t in texts if t):
            found = self.env[self.res_model].name_search(text, limit=2)
            if len(found) == 1:
                return self.env[self.res_model].browse(found[0][0])
        return None

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------
    def _check_code(self):
        self.ensure_one()
        if not self.kind or not self.external_code:
            raise UserError(_("The message does not name a missing mapping."))

    def action_confirm(self):
        """Map the code to the chosen record, then retry."""
        self._check_code()
        target = self._target()
        if not target:
            raise UserError(
                _(
                    "Choose the %(kind)s that '%(code)s' means.",
                    kind=(self.kind_label or "").lower(),
                    code=self.external_code,
                )
            )
        return self._map_and_retry(target, _("mapped to"))

    def action_create_and_retry(self):
        """Create the new product as prefilled, map the code to it, retry."""
        self._check_code()
        if not self.can_create:
            raise UserError(self.rights_note or _("You cannot create it here."))
        if not (self.new_name or "").strip():
            raise UserError(_("Give the new product a name."))
        record = self.env[self.res_model].create(
            {
                "name": self.new_name.strip(),
                "default_code": self.new_reference or self.external_code,
                "list_price": self.new_price,
            }
        )
        return self._map_and_retry(record, _("created"))

    def action_activate_and_retry(self):
        """Activate the existing record the code names (no mapping needed:
        the code is its own name), then retry."""
        self._check_code()
        record = self._inactive_record()
        if not record:
            raise UserError(_("There is nothing to activate."))
        if not self.can_activate:
            raise UserError(self.rights_note)
        record.with_env(self.env).write({"active": True})
        return self._retry(_("%s activated", record.display_name))

    def action_handoff(self):
        """Hand the item to a colleague who has the rights (an activity)."""
        self.ensure_one()
        if not self.handoff_user_id and self.rights_operation:
            self.handoff_user_id = self._users_allowed(
                self.res_model, self.rights_operation
            )[:1]
        if not self.handoff_user_id:
            raise UserError(_("Choose the colleague to hand it to."))
        note = _(
            "%(who)s asks you to %(what)s for %(item)s: %(problem)s",
            who=self.env.user.name,
            what=self.rights_need
            or _(
                "map %(kind)s '%(code)s'", kind=self.kind_label, code=self.external_code
            ),
            item=self.message_id.name,
            problem=self.problem or "",
        )
        self.message_id._assign(self.handoff_user_id, note=note)
        self.message_id.message_post(
            body=_(
                "Handed to %(user)s by %(by)s: %(note)s",
                user=self.handoff_user_id.name,
                by=self.env.user.name,
                note=note,
            )
        )
        return self.env["integration.message"]._notification(
            _("Handed to %s, who has been notified.", self.handoff_user_id.name),
            "success",
        )

    def _map_and_retry(self, record, how):
        self.env["integration.value.map"].create(
            {
                "backend_id": self.backend_id.id,
                "kind": self.kind,
                "external_code": self.external_code,
                "record_ref": f"{record._name},{record.id}",
            }
        )
        return self._retry(
            _(
                "%(kind)s '%(code)s' %(how)s %(record)s",
                kind=self.kind_label,
                code=self.external_code,
                how=how,
                record=record.display_name,
            )
        )

    def _retry(self, what):
        """Retry this message now (the form shows the outcome) and queue the
        others that miss the same code."""
        message = self.message_id
        others = self.env["integration.message"]
        if self.retry_similar:
            others = self.env["integration.message"].search(
                [
                    ("backend_id", "=", self.backend_id.id),
                    ("state", "=", "failed"),
                    ("mapping_kind", "=", self.kind),
                    ("mapping_code", "=", self.external_code),
                    ("id", "!=", message.id),
                ]
            )
        note = _("%(what)s by %(user)s; retried", what=what, user=self.env.user.name)
        message._process_now(note)
        if others:
            others.action_retry()
        text = f"{what}. {message.name}: {message._outcome_text()}"
        if others:
            text += " " + _(
                "%s other message(s) with the same code queued again.", len(others)
            )
        kind = (
            "success"
            if message.state == "done" and not message.business_exception
            else "warning"
        )
        action = message._notification(text, kind)
        action["params"]["next"] = {"type": "ir.actions.act_window_close"}
        return action
