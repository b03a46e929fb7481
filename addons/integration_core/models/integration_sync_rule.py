from datetime import timedelta

from odoo import _, api, fields, models

from ..exceptions import SkipMessage

BUSINESS_OBJECTS = [
    ("partner", "Customers / partners"),
    ("product", "Products"),
    ("stock_level", "Stock levels"),
    ("sale_order", "Sale orders"),
    ("dispatch", "Dispatch to warehouse"),
    ("shipment_confirmation", "Shipment confirmations"),
    ("receipt_confirmation", "Receipt confirmations"),
    ("tracking", "Tracking"),
    ("invoice", "Invoices"),
    ("payment", "Payments"),
    ("bank_statement", "Bank statements"),
    ("refund", "Refunds / returns"),
    ("other", "Other"),
]
DIRECTIONS = [
    ("import", "Import (external -> Odoo)"),
    ("export", "Export (Odoo -> external)"),
    ("both", "Both ways"),
    ("off", "Off"),
]


class IntegrationSyncRule(models.Model):
    """What flows between Odoo and one backend for one business object, who
    owns the data (system of record), and when polling runs."""

    _name = "integration.sync.rule"
    _description = "Integration Sync Rule"
    _order = "backend_id, business_object"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="backend_id.company_id", store=True)
    business_object = fields.Selection(BUSINESS_OBJECTS, required=True)
    system_of_record = fields.Selection(
        [("odoo", "Odoo"), ("external", "External system")],
        required=True,
        default="odoo",
        help="The side that owns the data: updates from the other side are "
        "not applied but recorded as skipped (or as a conflict).",
    )
    direction = fields.Selection(DIRECTIONS, required=True, default="both")
    mode = fields.Selection(
        [
            ("realtime", "Real-time"),
            ("micro_batch", "Micro-batch"),
            ("scheduled", "Scheduled"),
        ],
        required=True,
        default="realtime",
    )
    interval_minutes = fields.Integer(
        "Every (minutes)",
        default=15,
        help="How often scheduled polling or micro-batches run.",
    )
    shared_fields = fields.Char(
        help="Comma-separated fields the side that is not the system of record "
        "may still write (e.g. 'email,phone').",
    )
    conflict_policy = fields.Selection(
        [("skip", "Skip quietly"), ("conflict", "Raise a conflict for a person")],
        default="skip",
        required=True,
    )
    cursor = fields.Char(
        help="Where polling resumes (a watermark or page cursor), kept between runs."
    )
    last_run_at = fields.Datetime(readonly=True)
    next_run_at = fields.Datetime()
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "backend_object_unique",
            "UNIQUE(backend_id, business_object)",
            "One rule per backend and business object.",
        ),
        ("interval_positive", "CHECK(interval_minutes > 0)", "Interval must be > 0."),
    ]

    @api.depends("backend_id", "business_object")
    def _compute_display_name(self):
        labels = dict(self._fields["business_object"]._description_selection(self.env))
        for rule in self:
            rule.display_name = (
                f"{rule.backend_id.name} / {labels.get(rule.business_object, '')}"
            )

    def _label(self):
        return dict(self._fields["business_object"]._description_selection(self.env))[
            self.business_object
        ]

    def _allows(self, direction):
        self.ensure_one()
        if not self.active or self.direction == "off":
            return False
        return self.direction in ("both", direction)

    def _check_flow(self, direction):
        if not self._allows(direction):
            raise SkipMessage(
                _(
                    "%(object)s %(direction)s is off on %(backend)s (sync rule).",
                    object=self._label(),
                    direction=_("import") if direction == "import" else _("export"),
                    backend=self.backend_id.name,
                )
            )

    def _shared_field_names(self):
        return {f.strip() for f in (self.shared_fields or "").split(",") if f.strip()}

    def _writable_values(self, side, values=None):
        """Subset of ``values`` that ``side`` may write; SkipMessage if none."""
        self.ensure_one()
        values = dict(values or {})
        if side == self.system_of_record:
            return values
        shared = self._shared_field_names()
        allowed = {k: v for k, v in values.items() if k in shared}
        if allowed:
            return allowed
        owner = _("Odoo") if self.system_of_record == "odoo" else self.backend_id.name
        raise SkipMessage(
            _(
                "Not applied: %(owner)s is the system of record for %(object)s "
                "on %(backend)s.",
                owner=owner,
                object=self._label(),
                backend=self.backend_id.name,
            ),
            conflict=self.conflict_policy == "conflict",
        )

    def _schedule_next(self, now=None):
        now = now or fields.Datetime.now()
        for rule in self:
            rule.write(
                {
                    "last_run_at": now,
                    "next_run_at": now + timedelta(minutes=rule.interval_minutes),
                }
            )

    def _is_pollable(self):
        self.ensure_one()
        return (
            self.active
            and self.backend_id.active
            and self.mode in ("scheduled", "micro_batch")
            and self._allows("import")
        )

    # ------------------------------------------------------------------
    # Polling jobs
    # ------------------------------------------------------------------
    @api.model
    def _cron_poll_due_rules(self):
        """Queue one polling job per due rule (the identity key keeps it one)."""
        now = fields.Datetime.now()
        rules = self.search(
            [
                ("mode", "in", ("scheduled", "micro_batch")),
                ("direction", "in", ("import", "both")),
                ("backend_id.active", "=", True),
                "|",
                ("next_run_at", "=", False),
                ("next_run_at", "<=", now),
            ]
        )
        for rule in rules:
            rule.with_delay(
                channel=rule.backend_id.channel,
                identity_key=f"integration.sync.rule:{rule.id}:poll",
                description=f"Poll {rule.display_name}",
            )._poll_job()
            rule.next_run_at = now + timedelta(minutes=rule.interval_minutes)
        return len(rules)

    def _poll_job(self):
        self.ensure_one()
        if not self._is_pollable():
            return "Not polled: the flow is off."
        queued = self.backend_id._poll(self)
        self.last_run_at = fields.Datetime.now()
        return f"{queued} message(s) queued"
