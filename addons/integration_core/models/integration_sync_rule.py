import json
import logging
import uuid
from datetime import timedelta

from odoo import _, api, fields, models

from ..exceptions import SkipMessage
from .integration_message import OUTBOUND_PRIORITY

_logger = logging.getLogger(__name__)

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
# A flush sends at most this many batches; more rows wait for the next flush
# (queued at once), so that one transaction stays short.
MAX_BATCHES_PER_FLUSH = 50
# Realtime and micro-batch rules whose rows are older than this (after the
# micro-batch window) lost their flush job: the outbox cron sends them.
BACKSTOP_MINUTES = 5
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
        group_operator=False,  # a sum of intervals means nothing
        help="How often scheduled polling, scheduled exports and micro-batches "
        "run (a micro-batch export waits this long for more changes).",
    )
    batch_size = fields.Integer(
        "Records per message",
        default=100,
        group_operator=False,
        help="Exports: changed records sent in one outbound message at most.",
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
    next_run_at = fields.Datetime(help="Next polling run.")
    next_export_at = fields.Datetime(
        help="Scheduled exports: when the outbox of this flow is sent next."
    )
    active = fields.Boolean(default=True)

    _sql_constraints = [
        (
            "backend_object_unique",
            "UNIQUE(backend_id, business_object)",
            "One rule per backend and business object.",
        ),
        ("interval_positive", "CHECK(interval_minutes > 0)", "Interval must be > 0."),
        ("batch_size_positive", "CHECK(batch_size > 0)", "Batch size must be > 0."),
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

    def _polling_allowed(self):
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
        if not self._polling_allowed():
            return "Not polled: the flow is off."
        queued = self.backend_id._poll(self)
        self.last_run_at = fields.Datetime.now()
        return f"{queued} message(s) queued"

    # ------------------------------------------------------------------
    # Exports: the outbox of this flow, sent by the rule's mode
    # ------------------------------------------------------------------
    def _outbox_identity_key(self):
        return f"integration.outbox:{self.id}"

    def _outbox_schedule(self):
        """Rows were recorded for these rules: queue their flush job. Real-time
        at once; micro-batch after the rule's interval, and changes recorded
        meanwhile join the pending job (same identity key: a debounce window
        per rule, shared by concurrent transactions). Scheduled rules wait for
        the cron."""
        for rule in self:
            if rule.mode == "scheduled":
                continue
            eta = rule.interval_minutes * 60 if rule.mode == "micro_batch" else None
            rule.with_delay(
                channel=rule.backend_id.channel,
                priority=OUTBOUND_PRIORITY,
                identity_key=rule._outbox_identity_key(),
                eta=eta,
                description=f"Send {rule.display_name}",
            )._outbox_flush_job()

    def _outbox_message_type(self):
        """The connector's outbound message type of this business object."""
        self.ensure_one()
        return (
            self.env["integration.message.type"]
            .sudo()
            .search(
                [
                    ("connector_type", "=", self.backend_id.connector_type),
                    ("direction", "=", "out"),
                    ("business_object", "=", self.business_object),
                ],
                order="id",
                limit=1,
            )
        )

    def _outbox_flush_job(self):
        self.ensure_one()
        if not self._allows("export") or not self.backend_id.active:
            return "Not sent: the flow is off (the changes wait in the outbox)."
        messages = self._outbox_flush()
        return f"{len(messages)} message(s) queued"

    def _outbox_flush(self):
        """Send this flow's recorded changes: one outbound message per batch.

        The rows are taken ``FOR UPDATE SKIP LOCKED`` (a concurrent flush
        takes others, never waits) and deleted in this transaction, which
        also creates the messages: a crash leaves the rows and no message,
        never both, never neither. Repeated changes of a record are
        coalesced on (model, id, dedupe key) in first-seen order; batches hold
        at most ``batch_size`` records of one model. Returns the messages.
        """
        self.ensure_one()
        rule = self.sudo()
        Message = self.env["integration.message"].sudo()
        Outbox = self.env["integration.outbox"].sudo()
        # what this transaction recorded itself is sent as well
        Outbox._write_pending()
        message_type = rule._outbox_message_type()
        if not message_type:
            _logger.warning(
                "%s: no outbound message type of %s for %s; the changes wait.",
                rule.backend_id.name,
                rule.backend_id.connector_type,
                rule.business_object,
            )
            return Message
        batch_size = max(rule.batch_size, 1)
        limit = batch_size * MAX_BATCHES_PER_FLUSH
        self.env.cr.execute(
            """
            DELETE FROM integration_outbox WHERE id IN (
                SELECT id FROM integration_outbox
                 WHERE backend_id = %s AND business_object = %s
                 ORDER BY id LIMIT %s
                   FOR UPDATE SKIP LOCKED)
            RETURNING id, res_model, res_id, dedupe_key
            """,
            (rule.backend_id.id, rule.business_object, limit),
        )
        rows = sorted(self.env.cr.fetchall())
        messages = Message
        for res_model, changes in self._outbox_batches(rows, batch_size):
            messages |= rule._outbox_send(message_type, res_model, changes)
        if len(rows) == limit:
            # more is waiting: the next flush runs at once
            rule.with_delay(
                channel=rule.backend_id.channel,
                priority=OUTBOUND_PRIORITY,
                identity_key=f"{rule._outbox_identity_key()}:more",
                description=f"Send {rule.display_name} (continued)",
            )._outbox_flush_job()
        return messages

    @api.model
    def _outbox_batches(self, rows, batch_size):
        """``[(model, [(id, dedupe key)])]``: distinct changes in first-seen
        order, per model, at most ``batch_size`` each; a record never twice in
        one batch (its second dedupe key starts the next batch)."""
        seen = set()
        by_model = {}
        for _id, res_model, res_id, dedupe_key in rows:
            if (res_model, res_id, dedupe_key) in seen:
                continue
            seen.add((res_model, res_id, dedupe_key))
            by_model.setdefault(res_model, []).append((res_id, dedupe_key))
        batches = []
        for res_model, changes in by_model.items():
            batch, ids = [], set()
            for res_id, dedupe_key in changes:
                if len(batch) >= batch_size or res_id in ids:
                    batches.append((res_model, batch))
                    batch, ids = [], set()
                batch.append((res_id, dedupe_key))
                ids.add(res_id)
            if batch:
                batches.append((res_model, batch))
        return batches

    def _outbox_send(self, message_type, res_model, changes):
        """One outbound message of ``changes`` (``[(id, dedupe key)]``)."""
        ids = [res_id for res_id, _key in changes]
        payload = {"model": res_model, "ids": ids}
        keys = {str(res_id): key for res_id, key in changes if key}
        if keys:
            payload["keys"] = keys
        if len(changes) == 1 and changes[0][1]:
            # the same change recorded again is a counted duplicate
            key = f"outbox:{self.business_object}:{res_model}:{ids[0]}:{changes[0][1]}"
        else:
            key = f"outbox:{self.business_object}:{uuid.uuid4().hex}"
        external_id, correlation_id = self._outbox_summary(res_model, ids)
        Message = self.env["integration.message"].sudo()
        message, _created = Message._intake(
            self.backend_id,
            message_type.code,
            key,
            json.dumps(payload).encode(),
            direction="out",
            external_id=external_id,
            correlation_id=correlation_id,
        )
        return message

    def _outbox_summary(self, res_model, ids):
        """``(external id, correlation id)`` of a message: the record's name
        and correlation id for one record, a count for several."""
        Model = self.env[res_model].sudo() if res_model in self.env else None
        if Model is None or len(ids) > 1:
            label = Model._description.lower() if Model is not None else res_model
            return _("%(count)s %(label)s(s)", count=len(ids), label=label), None
        record = Model.browse(ids).exists()
        if not record:
            return f"{res_model},{ids[0]}", None
        if "integration_correlation_id" not in record._fields:
            return record.display_name, None
        # a business document (integration.document.mixin)
        return (
            record._integration_reference(),
            record.integration_correlation_id or None,
        )

    @api.model
    def _cron_outbox_flush(self):
        """Send due exports: scheduled rules whose ``next_export_at`` has come
        (then moved by their interval), and real-time or micro-batch rules
        whose rows are older than their window plus a few minutes (their
        flush job was lost, or ran just before a transaction that found it
        still queued committed). Each rule in a savepoint of its own."""
        now = fields.Datetime.now()
        self.env["integration.outbox"].flush_model()
        self.flush_model()
        self.env.cr.execute(
            """
            SELECT r.id FROM integration_sync_rule r
              JOIN integration_backend b ON b.id = r.backend_id AND b.active
             WHERE r.active AND r.direction IN ('export', 'both')
               AND CASE WHEN r.mode = 'scheduled'
                        THEN r.next_export_at IS NULL OR r.next_export_at <= %s
                        ELSE EXISTS (
                            SELECT 1 FROM integration_outbox o
                             WHERE o.backend_id = r.backend_id
                               AND o.business_object = r.business_object
                               AND o.create_date < %s - make_interval(mins =>
                                   %s + CASE WHEN r.mode = 'micro_batch'
                                             THEN r.interval_minutes ELSE 0 END))
                   END
             ORDER BY r.id
            """,
            (now, now, BACKSTOP_MINUTES),
        )
        rules = self.browse([row[0] for row in self.env.cr.fetchall()])
        sent = 0
        for rule in rules:
            if rule.mode == "scheduled":
                rule.next_export_at = now + timedelta(minutes=rule.interval_minutes)
            try:
                with self.env.cr.savepoint():
                    sent += len(rule._outbox_flush())
            except Exception:  # pylint: disable=broad-except
                # one flow's failure must not stop the others; its rows stay
                _logger.exception("Outbox flush of %s failed", rule.display_name)
        return sent
