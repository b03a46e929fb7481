import base64
import contextlib
import json
import logging
import time
import traceback
from collections import defaultdict
from datetime import timedelta

import psycopg2
from psycopg2 import IntegrityError, OperationalError, errorcodes

from odoo import _, api, fields, models, tools
from odoo.exceptions import AccessError, UserError
from odoo.exceptions import ValidationError as OdooValidationError
from odoo.osv import expression
from odoo.tools import SQL

from ..exceptions import (
    CATEGORY_MAPPING,
    CATEGORY_PERMANENT,
    CATEGORY_TRANSIENT,
    ERROR_CATEGORIES,
    AuthenticationFailed,
    BusinessRuleError,
    ConcurrencyConflict,
    IntegrationError,
    MappingError,
    PermanentError,
    SkipMessage,
    TransientError,
    ValidationFailed,
)
from ..tools.backoff import retry_delay
from ..tools.batching import next_batch_size
from ..tools.correlation import (
    correlation_context,
    new_correlation_id,
    processing_scope,
)
from ..tools.desk import (
    explain_json_error,
    explain_violations,
    human_age,
    render_summary,
)
from ..tools.redaction import redact_headers, redact_text
from ..tools.signing import body_digest
from ..tools.storable import storable_key, storable_text
from ..tools.trace import build as trace_build

_logger = logging.getLogger(__name__)

MANAGER = "integration_core.group_integration_manager"
REPLAYABLE_STATES = ("done", "ignored")
CONCURRENCY_ERRORS = (
    errorcodes.LOCK_NOT_AVAILABLE,
    errorcodes.SERIALIZATION_FAILURE,
    errorcodes.DEADLOCK_DETECTED,
)
OPEN_STATES = ("received", "validated", "processing")


def row_lock_conflict(cr, table, row_id):
    """Lock a row for this transaction, or tell why not, without waiting:
    None when locked; the database's error when another transaction holds
    the row or changed it since this one's snapshot (Odoo's isolation is
    REPEATABLE READ, so such a row cannot be written here either)."""
    try:
        with cr.savepoint(flush=False):
            cr.execute(
                SQL(
                    "SELECT id FROM %s WHERE id = %s FOR NO KEY UPDATE NOWAIT",
                    SQL.identifier(table),
                    row_id,
                ),
                log_exceptions=False,
            )
    except OperationalError as exc:
        if exc.pgcode not in CONCURRENCY_ERRORS:
            raise
        return exc
    return None


# A micro-batch stops taking messages after this long (seconds): its messages
# commit together, so a longer batch holds back every document it made (an
# order's release waits for the commit of the import); what is left keeps its
# own job, run next.
BATCH_SECONDS = 3.0
# queue_job's priority (smaller first, default 10) of what sends our own
# documents on (exports, the outbox's flushes): in a connector's channel they
# run before intake that waits, so that a burst of new orders does not hold
# back the next step of the orders already in Odoo.
OUTBOUND_PRIORITY = 5
# Searched with ``ilike`` (the list's search, ``_rec_names_search``): trigram
# indexes (``init``).
_TRIGRAM_COLUMNS = ("name", "external_id", "correlation_id", "idempotency_key")
# Only what these fields hold may be changed by a desk user (not a manager).
DESK_FIELDS = {"assignee_id", "sla_notified"}


class IntegrationMessage(models.Model):
    """Every inbound and outbound exchange, stored before any processing.

    ``received -> validated -> processing -> done``, or ``failed`` (a retry is
    scheduled, or a person must act), ``dead`` (retries exhausted or not
    retryable) and ``ignored``. The idempotency key is unique per backend,
    direction and type in the database: a duplicate delivery only counts on
    the first message.
    """

    _name = "integration.message"
    _description = "Integration Message"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "id desc"
    _rec_names_search = ["name", "external_id", "correlation_id", "idempotency_key"]

    STATES = [
        ("received", "Received"),
        ("validated", "Validated"),
        ("processing", "Processing"),
        ("done", "Done"),
        ("failed", "Failed"),
        ("dead", "Dead"),
        ("ignored", "Ignored"),
    ]

    name = fields.Char(required=True, readonly=True)
    backend_id = fields.Many2one(
        "integration.backend",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(
        "res.company", required=True, readonly=True, index=True
    )
    connector_type = fields.Selection(
        related="backend_id.connector_type", string="Connector"
    )
    direction = fields.Selection(
        [("in", "Inbound"), ("out", "Outbound")], required=True, readonly=True
    )
    message_type = fields.Char("Type code", required=True, readonly=True, index=True)
    message_type_id = fields.Many2one(
        "integration.message.type", "Type", readonly=True, index=True
    )
    external_id = fields.Char(readonly=True, index=True)
    idempotency_key = fields.Char(required=True, readonly=True)
    correlation_id = fields.Char(readonly=True, index=True)

    payload = fields.Text(help="The body exactly as received or sent.")
    payload_encoding = fields.Selection(
        [("utf-8", "Text (UTF-8)"), ("base64", "Binary (base64)")],
        default="utf-8",
        readonly=True,
    )
    payload_display = fields.Text(
        "Payload (formatted)",
        compute="_compute_payload_display",
        help="The payload with its JSON indented for reading (numbers and "
        "repeated keys as a JSON reader sees them); the Raw payload tab shows "
        "the body exactly as stored.",
    )
    payload_purged = fields.Boolean(
        readonly=True, help="The payload was removed after the retention period."
    )
    headers = fields.Text(readonly=True, help="Request headers, credentials masked.")

    # Not tracked: the hot path must not write chatter; failures, retries and
    # manual actions post their own notes.
    state = fields.Selection(
        STATES, required=True, default="received", index=True, readonly=True
    )
    attempts = fields.Integer(readonly=True, group_operator=False)
    next_retry_at = fields.Datetime(readonly=True)
    processing_started_at = fields.Datetime(readonly=True)
    done_at = fields.Datetime(readonly=True)
    received_at = fields.Datetime(readonly=True, default=fields.Datetime.now)
    duplicate_count = fields.Integer(
        "Duplicates", readonly=True, help="Further deliveries of the same message."
    )
    last_seen_at = fields.Datetime(readonly=True)
    job_uuid = fields.Char("Job", readonly=True, copy=False)
    replay_pending = fields.Boolean(
        readonly=True,
        copy=False,
        help="A manager replayed the message: its next run applies it again "
        "even when the version it carries is the one applied.",
    )

    error_category = fields.Selection(ERROR_CATEGORIES, readonly=True, index=True)
    error_message = fields.Char("Problem", readonly=True)
    error_detail = fields.Text("Technical detail", readonly=True)
    mapping_kind = fields.Char(readonly=True)
    mapping_code = fields.Char(readonly=True)
    outcome = fields.Selection(
        [("applied", "Applied"), ("skipped", "Skipped"), ("conflict", "Conflict")],
        readonly=True,
    )
    business_exception = fields.Text(
        readonly=True,
        help="Processed, but something needs a person (e.g. totals differ).",
    )
    ignore_reason = fields.Text(readonly=True)
    ignored_from_state = fields.Char(
        readonly=True, help="The state before it was ignored (for Reopen)."
    )
    retry_blocked = fields.Boolean(
        "Retrying cannot help",
        readonly=True,
        help="The data itself is wrong (e.g. a cut-off body): the sender must "
        "send it again, or a manager repairs the payload and reprocesses it.",
    )
    sla_notified = fields.Boolean(readonly=True, copy=False)
    needs_attention = fields.Boolean(
        compute="_compute_needs_attention", store=True, index=True
    )
    assignee_id = fields.Many2one("res.users", "Assigned to", tracking=True, index=True)

    res_model = fields.Char("Related model", readonly=True, index=True)
    res_id = fields.Many2oneReference(
        "Related record id", model_field="res_model", readonly=True, index=True
    )
    res_name = fields.Char(
        "Related record",
        compute="_compute_res_name",
        help="Shown whatever your rights on the record; opening it follows them.",
    )
    res_readable = fields.Boolean(compute="_compute_res_name")
    age_hours = fields.Float("Age (hours)", compute="_compute_age")
    age_display = fields.Char("Age", compute="_compute_age")
    done_recently = fields.Boolean(
        "Done in 24h", compute="_compute_done_recently", search="_search_done_recently"
    )
    summary_html = fields.Html(
        "Summary", compute="_compute_summary_html", sanitize=False
    )
    next_step = fields.Text("What to do next", compute="_compute_next_step")
    desk_status = fields.Selection(
        [
            ("failed", "Failed"),
            ("retrying", "Retrying by itself"),
            ("dead", "Dead"),
            ("look", "Needs a look"),
            ("ignored", "Ignored"),
            ("fine", "Fine"),
        ],
        "Status",
        compute="_compute_desk_status",
    )
    over_sla = fields.Boolean(
        "Older than SLA", compute="_compute_age", search="_search_over_sla"
    )

    call_log_ids = fields.One2many(
        "integration.call.log", "message_id", "Outbound calls", readonly=True
    )
    call_log_count = fields.Integer("Calls", compute="_compute_call_log_count")

    _sql_constraints = [
        (
            "idempotency_unique",
            "UNIQUE(backend_id, direction, message_type, idempotency_key)",
            "A message with this idempotency key already exists.",
        )
    ]

    @api.depends("payload", "payload_encoding")
    def _compute_payload_display(self):
        for message in self:
            text = message.payload or ""
            message.payload_display = text
            if message.payload_encoding == "utf-8" and text[:1] in ("{", "["):
                # not JSON after all: shown as received (processing says why)
                with contextlib.suppress(ValueError, RecursionError):
                    message.payload_display = json.dumps(
                        json.loads(text), indent=2, ensure_ascii=False
                    )

    @api.depends("state", "business_exception")
    def _compute_needs_attention(self):
        for message in self:
            message.needs_attention = message.state in ("failed", "dead") or (
                message.state == "done" and bool(message.business_exception)
            )

    def _compute_call_log_count(self):
        counts = {
            row["message_id"][0]: row["message_id_count"]
            for row in self.env["integration.call.log"].read_group(
                [("message_id", "in", self.ids)], ["message_id"], ["message_id"]
            )
        }
        for message in self:
            message.call_log_count = counts.get(message.id, 0)

    @api.depends("res_model", "res_id")
    def _compute_res_name(self):
        """The related record's name whatever the user's rights on it (a clerk
        without Sales rights still reads which order it is); opening it
        (``action_open_related``) follows the user's rights.

        By model for the whole list (a page of the desk is 80 items): one
        ``exists``, one name read and one access check per related model,
        not per item."""
        ids_by_model = defaultdict(set)
        for message in self:
            if message.res_model and message.res_id and message.res_model in self.env:
                ids_by_model[message.res_model].add(message.res_id)
        names, readable = {}, set()
        for model, ids in ids_by_model.items():
            records = self.env[model].sudo().browse(sorted(ids)).exists()
            for record in records:
                names[model, record.id] = record.display_name
            mine = records.with_env(self.env)
            if mine.check_access_rights("read", raise_exception=False):
                readable.update(
                    (model, record_id)
                    for record_id in mine._filter_access_rules("read").ids
                )
        for message in self:
            key = (message.res_model, message.res_id)
            message.res_name = names.get(key, False)
            message.res_readable = key in readable

    def _user_can_read(self, record):
        record = record.with_env(self.env)
        if not record.check_access_rights("read", raise_exception=False):
            return False
        try:
            record.check_access_rule("read")
        except AccessError:
            return False
        return True

    @api.depends("create_date", "backend_id.sla_hours")
    def _compute_age(self):
        now = fields.Datetime.now()
        for message in self:
            start = message.create_date or now
            seconds = (now - start).total_seconds()
            message.age_hours = round(seconds / 3600, 1)
            message.age_display = human_age(seconds)
            message.over_sla = message.needs_attention and message.age_hours > (
                message.backend_id.sla_hours or 24
            )

    @api.depends("payload", "state", "error_message", "mapping_code")
    def _compute_summary_html(self):
        """What the exchange is about, as its connector tells it (the
        ``message_summary`` hook: ``{"title", "fields": [(label, value)],
        "lines": {"columns": [...], "rows": [[...]], "marked": [index]},
        "note"}``), rendered here so that connectors write no HTML."""
        for message in self:
            summary = None
            if message.backend_id and not message.payload_purged:
                with contextlib.suppress(Exception):
                    summary = message.backend_id.sudo()._dispatch(
                        "message_summary", message.sudo()
                    )
            message.summary_html = render_summary(summary) if summary else False

    @api.depends("state", "business_exception", "next_retry_at")
    def _compute_desk_status(self):
        for message in self:
            if message.state == "failed":
                status = "retrying" if message.next_retry_at else "failed"
            elif message.state == "done":
                status = "look" if message.business_exception else "fine"
            elif message.state in ("dead", "ignored"):
                status = message.state
            else:
                status = "fine"
            message.desk_status = status

    @api.depends("state", "error_category", "retry_blocked", "mapping_kind")
    def _compute_next_step(self):
        for message in self:
            text = None
            if message.backend_id and message.needs_attention:
                text = message.backend_id._dispatch("next_step", message)
                text = text or message._default_next_step()
            message.next_step = text or False

    def _default_next_step(self):
        """What a clerk does about this item, in words."""
        self.ensure_one()
        system = self.backend_id.name
        if self.state == "done" and self.business_exception:
            return _(
                "Fix it in Odoo (open the related record), then press Retry to "
                "check again; or Ignore it with a reason."
            )
        if self.retry_blocked:
            return _(
                "The data %(system)s sent is wrong: retrying cannot help. Ask "
                "%(system)s to send it again, or hand the item to an integration "
                "manager, who can repair the payload and reprocess it.",
                system=system,
            )
        if self.error_category == CATEGORY_MAPPING:
            ValueMap = self.env["integration.value.map"]
            kinds = dict(ValueMap._fields["kind"]._description_selection(self.env))
            return _(
                "Press 'Map and retry' and choose the %(kind)s that %(code)s "
                "means; the other messages waiting for the same code are "
                "retried too.",
                kind=(kinds.get(self.mapping_kind) or _("Odoo record")).lower(),
                code=f"'{self.mapping_code}'",
            )
        if self.state == "failed" and self.next_retry_at:
            return _(
                "Nothing to do yet: Odoo tries again by itself (next try at "
                "%s UTC). It comes back here if it keeps failing.",
                fields.Datetime.to_string(self.next_retry_at)[:16],
            )
        if self.error_category == CATEGORY_TRANSIENT:
            return _(
                "%s did not answer in time, several times. Press Retry once it "
                "works again.",
                system,
            )
        if self.error_category == CATEGORY_PERMANENT:
            return _(
                "Something failed that a retry alone will not fix. Hand the item "
                "to an integration manager (Assign), who reads the Technical "
                "detail tab."
            )
        return _("Correct what the problem says in Odoo, then press Retry.")

    def _compute_done_recently(self):
        since = fields.Datetime.now() - timedelta(hours=24)
        for message in self:
            message.done_recently = (
                message.state == "done"
                and not message.business_exception
                and bool(message.done_at and message.done_at >= since)
            )

    def _search_done_recently(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Unsupported search on 'Done in 24h'."))
        domain = [
            ("state", "=", "done"),
            ("business_exception", "=", False),
            ("done_at", ">=", fields.Datetime.now() - timedelta(hours=24)),
        ]
        return domain if (operator == "=") == value else ["!", "&", "&"] + domain

    def _search_over_sla(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            raise UserError(_("Unsupported search on 'Older than SLA'."))
        now = fields.Datetime.now()
        per_backend = [
            [
                "&",
                ("backend_id", "=", backend.id),
                ("create_date", "<", now - timedelta(hours=backend.sla_hours or 24)),
            ]
            for backend in self.env["integration.backend"]
            .with_context(active_test=False)
            .search([])
        ]
        if not per_backend:
            domain = [("id", "=", 0)]
        else:
            domain = ["|"] * (len(per_backend) - 1)
            for part in per_backend:
                domain += part
        domain = ["&", ("needs_attention", "=", True)] + domain
        positive = (operator == "=") == value
        return domain if positive else ["!"] + domain

    @api.model
    def _name_search(self, name, domain=None, operator="ilike", limit=None, order=None):
        """Each field of ``_rec_names_search`` on its own, then their ids
        together: one OR of four ``ilike`` in id order makes PostgreSQL walk
        the table from its newest row (9.5 s at a million messages), where
        each field alone is a trigram index lookup."""
        if not name or operator not in ("ilike", "like", "=ilike", "=like", "="):
            return super()._name_search(name, domain, operator, limit, order)
        ids = set()
        for field in self._rec_names_search:
            ids.update(
                self._search(
                    expression.AND([domain or [], [(field, operator, name)]]),
                    limit=limit,
                    order=order,
                )
            )
        return self._search([("id", "in", list(ids))], limit=limit, order=order)

    def _related_record(self):
        self.ensure_one()
        if not self.res_model or not self.res_id or self.res_model not in self.env:
            return None
        record = self.env[self.res_model].browse(self.res_id).exists()
        return record or None

    # ------------------------------------------------------------------
    # Access: desk users act through buttons, managers edit
    # ------------------------------------------------------------------
    def write(self, vals):
        if (
            not self.env.su
            and not self.env.user.has_group(MANAGER)
            and set(vals) - DESK_FIELDS
        ):
            raise AccessError(
                _("Only integration managers can edit messages (payload included).")
            )
        return super().write(vals)

    def init(self):
        # the payload purge walks, per backend and age, only what it purges
        tools.create_index(
            self.env.cr,
            "integration_message_purge_index",
            self._table,
            ["backend_id", "coalesce(done_at, write_date)"],
            where="NOT payload_purged AND state IN ('done', 'ignored')",
        )
        # The Overview at a million messages (bench/scale.py): each backend's
        # last message and its messages per hour of the last 24 h (a range
        # of the index, never the table)...
        tools.create_index(
            self.env.cr,
            "integration_message_backend_create_date_index",
            self._table,
            ["backend_id", "create_date"],
        )
        # ... what was done in 24 h (a day of done messages, not the 95% of
        # the table that is done) ...
        tools.create_index(
            self.env.cr,
            "integration_message_backend_done_at_index",
            self._table,
            ["backend_id", "done_at"],
            where="state = 'done'",
        )
        # the micro-batch's newest waiting messages of a backend (a job's
        # batch, _pending_batch_candidates): only the queue, in id order
        tools.create_index(
            self.env.cr,
            "integration_message_backend_waiting_index",
            self._table,
            ["backend_id", "id"],
            where="state = 'received'",
        )
        # ... and the open items per backend with the oldest one, and the
        # desk's "Older than SLA" (per backend and age): the 2% on the desk
        tools.create_index(
            self.env.cr,
            "integration_message_attention_index",
            self._table,
            ["backend_id", "create_date"],
            where="needs_attention",
        )
        # The searches of the Messages list by name, external id,
        # correlation id or key (``ilike``, and ``name_search`` over the
        # four, ``_rec_names_search``): trigram indexes, where PostgreSQL has
        # pg_trgm; without them each search reads the whole table.
        # GIN's pending list is kept (a purged row rewrites every index of
        # the table: direct trigram inserts made the purge 7x slower a row),
        # but short (1 MB, not 4): the request or purge batch that merges it
        # into the index waits a quarter as long.
        if self._trigram_extension():
            for column in _TRIGRAM_COLUMNS:
                name = f"integration_message_{column}_trgm_index"
                tools.create_index(
                    self.env.cr, name, self._table, [f"{column} gin_trgm_ops"], "gin"
                )
                self.env.cr.execute(
                    SQL(
                        "ALTER INDEX %s SET (gin_pending_list_limit = 1024)",
                        SQL.identifier(name),
                    )
                )

    def _trigram_extension(self):
        """Is pg_trgm there (created when missing, if the database user may:
        it is a trusted extension since PostgreSQL 13)?"""
        cr = self.env.cr
        cr.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cr.fetchone():
            return True
        try:
            with cr.savepoint(flush=False):
                cr.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except psycopg2.Error as exc:
            _logger.warning(
                "pg_trgm is not installed and cannot be created (%s): searching "
                "messages by name, external id or correlation id reads the whole "
                "table. Run CREATE EXTENSION pg_trgm as a superuser, then update "
                "integration_core.",
                exc,
            )
            return False
        return True

    # ------------------------------------------------------------------
    # Intake
    # ------------------------------------------------------------------
    @api.model
    def _intake(
        self,
        backend,
        message_type,
        idempotency_key,
        payload,
        *,
        direction="in",
        external_id=None,
        reference=None,
        correlation_id=None,
        headers=None,
        enqueue=True,
    ):
        """Store an exchange once; return ``(message, created)``.

        A second delivery with the same key creates nothing: it is counted on
        the first message. The database's unique constraint decides, so two
        workers receiving the same delivery at the same time also make one
        message (the loser's transaction is retried by Odoo and finds it).
        ``reference`` is what people call the record ("#1042"): it names the
        message, else the external id does.
        """
        backend.ensure_one()
        # Read from a body or headers: any JSON value, any characters. What
        # PostgreSQL cannot store is replaced (a key by a digest: keys must
        # stay distinct); the payload itself is always stored verbatim.
        reference = storable_text(reference, 100)
        external_id = storable_text(external_id, 255)
        correlation_id = storable_text(correlation_id, 255)
        message_type = storable_text(message_type, 128) or "unknown"
        idempotency_key = storable_key(idempotency_key)
        if isinstance(payload, str):
            payload = payload.encode()
        payload = payload or b""
        try:
            text, encoding = payload.decode("utf-8"), "utf-8"
            if "\x00" in text:
                raise ValueError("NUL byte")
        except (UnicodeDecodeError, ValueError):
            text, encoding = base64.b64encode(payload).decode(), "base64"
        type_record = (
            self.env["integration.message.type"]
            .sudo()
            ._lookup(backend.connector_type, direction, message_type)
        )
        label = type_record.document_name or type_record.name or message_type
        values = {
            "name": " ".join(filter(None, [label, reference or external_id])),
            "backend_id": backend.id,
            "company_id": backend.company_id.id,
            "direction": direction,
            "message_type": message_type,
            "message_type_id": type_record.id or None,
            "external_id": external_id or None,
            "idempotency_key": idempotency_key,
            "correlation_id": correlation_id or new_correlation_id(),
            "payload": text,
            "payload_encoding": encoding,
            "headers": json.dumps(redact_headers(headers)) if headers else None,
            "state": "received",
            "attempts": 0,
            "duplicate_count": 0,
            "needs_attention": False,
            "payload_purged": False,
            "create_uid": self.env.uid,
            "write_uid": self.env.uid,
        }
        columns = ", ".join(values)
        placeholders = ", ".join(["%s"] * len(values))
        self.env.cr.execute(
            f"""
            INSERT INTO integration_message ({columns}, received_at, last_seen_at,
                                             create_date, write_date)
            VALUES ({placeholders}, now() at time zone 'UTC', now() at time zone 'UTC',
                    now() at time zone 'UTC', now() at time zone 'UTC')
            ON CONFLICT (backend_id, direction, message_type, idempotency_key)
            DO NOTHING
            RETURNING id
            """,  # noqa: S608 - column names are ours, values are parameters
            list(values.values()),
            log_exceptions=False,
        )
        row = self.env.cr.fetchone()
        if row:
            message = self.browse(row[0])
            if enqueue:
                message._enqueue()
            return message, True
        self.env.cr.execute(
            """
            UPDATE integration_message
               SET duplicate_count = duplicate_count + 1,
                   last_seen_at = now() at time zone 'UTC'
             WHERE backend_id = %s AND direction = %s AND message_type = %s
               AND idempotency_key = %s
         RETURNING id
            """,
            (backend.id, direction, message_type, idempotency_key),
        )
        message = self.browse(self.env.cr.fetchone()[0])
        message.invalidate_recordset(["duplicate_count", "last_seen_at"])
        return message, False

    @api.model
    def _intake_webhook(self, backend, headers, body):
        """Intake of a verified webhook: what to store is the backend's
        envelope (``_webhook_envelope``); the headers are kept, redacted."""
        try:
            envelope = backend._webhook_envelope(headers, body)
        except Exception as exc:  # pylint: disable=broad-except
            # The contract says an envelope never raises; a body it chokes on
            # must still be stored: under the envelope of the headers alone.
            _logger.warning(
                "Backend %s: webhook envelope failed (%s); stored by its headers",
                backend.id,
                exc,
            )
            envelope = dict(
                backend._webhook_envelope(headers, b""),
                idempotency_key=f"unreadable:{body_digest(body)}",
            )
        return self._intake(
            backend,
            envelope["message_type"],
            envelope["idempotency_key"],
            body,
            external_id=envelope.get("external_id"),
            reference=envelope.get("reference"),
            correlation_id=envelope.get("correlation_id"),
            headers=dict(headers),
        )

    # ------------------------------------------------------------------
    # Desk items: business exceptions on records that are not exchanges
    # ------------------------------------------------------------------
    @api.model
    def _desk_item_key(self, record, key=None):
        return key or f"{record._name},{record.id}"

    @api.model
    def _desk_item_find(self, backend, kind, records, key_of=None):
        """``{key: message}`` of the desk items of ``kind`` on ``records``."""
        keys = [self._desk_item_key(r, key_of and key_of(r)) for r in records]
        return {
            message.idempotency_key: message
            for message in self.sudo().search(
                [
                    ("backend_id", "=", backend.id),
                    ("direction", "=", "in"),
                    ("message_type", "=", kind),
                    ("idempotency_key", "in", keys),
                ]
            )
        }

    @api.model
    def _desk_item_raise(
        self, backend, kind, record, problem, key=None, payload=None, name=None
    ):
        """Put ``record`` on the desk: the item of ``kind`` (a message type
        with *Desk item* set, whose handler is the re-check hook) says
        ``problem`` (first line = the one-line problem). One item per record
        and kind: raising again refreshes it; an item a person ignored stays
        ignored. Returns the item."""
        record.ensure_one()
        key = self._desk_item_key(record, key)
        item = self._desk_item_find(backend, kind, record, lambda r: key).get(key)
        if not item:
            item, _created = self.sudo()._intake(
                backend,
                kind,
                key,
                payload
                or json.dumps({"model": record._name, "id": record.id}).encode(),
                external_id=name or record.display_name,
                correlation_id=record["integration_correlation_id"]
                if "integration_correlation_id" in record._fields
                else None,
                enqueue=False,
            )
        item._desk_item_set(record, problem)
        return item

    @api.model
    def _desk_item_resolve(self, backend, kind, records, key_of=None, note=None):
        """Close the open desk items of ``kind`` on ``records`` (solved)."""
        items = self._desk_item_find(backend, kind, records, key_of)
        for record in records:
            item = items.get(self._desk_item_key(record, key_of and key_of(record)))
            if item and item._desk_item_set(record, False):
                item.message_post(body=note or _("Solved: %s", record.display_name))

    def _desk_item_set(self, record, problem):
        """Keep this item open with ``problem``, or close it (``problem``
        False); an item a person ignored stays ignored, an unchanged problem
        is not written again. True when the item changed."""
        self.ensure_one()
        if self.state == "ignored" or (self.business_exception or False) == problem:
            return False
        if not problem and self.state != "done":
            return False  # never opened: nothing to close
        self.sudo()._mark_done({"records": record, "business_exception": problem})
        return True

    def _desk_item_recheck(self):
        """Run the item's re-check hook (the type's handler) with the rights of
        the user who asked; returns the remaining problem or False."""
        self.ensure_one()
        backend = self.backend_id.with_env(self.env)
        backend = backend.with_company(backend.company_id)
        record = self._related_record()
        if record is None:
            return False
        hook = getattr(backend, self.message_type_id.handler)
        return hook(self, record.with_env(backend.env)) or False

    def _retry_desk_items(self):
        """Generic *Retry* of desk items: re-check now, then keep the item
        open with what remains or close it."""
        for item in self:
            problem = item._desk_item_recheck()
            item._desk_item_set(item._related_record(), problem)
            body = (
                _("Checked again by %s: still open.", self.env.user.name)
                if problem
                else _("Checked again by %s: solved.", self.env.user.name)
            )
            item.message_post(body=body)

    # ------------------------------------------------------------------
    # Jobs
    # ------------------------------------------------------------------
    def _enqueue(self, eta=None):
        for message in self:
            job = message.with_delay(
                channel=message.backend_id.channel,
                priority=OUTBOUND_PRIORITY if message.direction == "out" else None,
                identity_key=f"integration.message:{message.id}",
                eta=eta,
                description=f"{message.name} [corr:{message.correlation_id}]",
            )._process_job()
            # plain SQL: intake is the hot path, and nothing depends on it
            self.env.cr.execute(
                "UPDATE integration_message SET job_uuid = %s WHERE id = %s",
                (job.uuid, message.id),
            )
            message.invalidate_recordset(["job_uuid"])

    def _cancel_pending_jobs(self):
        uuids = [u for u in self.mapped("job_uuid") if u]
        if uuids:
            jobs = (
                self.env["queue.job"]
                .sudo()
                .search(
                    [
                        ("uuid", "in", uuids),
                        ("state", "in", ("pending", "enqueued", "wait_dependencies")),
                    ]
                )
            )
            jobs.button_cancelled()

    def _process_job(self):
        """The job: process once, whatever the number of deliveries or runs."""
        self.ensure_one()
        # Exclusive while processing; a second worker gets LockNotAvailable
        # and queue_job postpones its job.
        self.env.cr.execute(
            "SELECT id FROM integration_message WHERE id = %s FOR NO KEY UPDATE NOWAIT",
            [self.id],
            log_exceptions=False,
        )
        if not self.env.cr.fetchone():
            return "Message deleted: nothing to do."
        started = time.monotonic()
        self.invalidate_recordset()
        message = self.sudo()
        if message.state in ("done", "ignored", "dead"):
            return f"Nothing to do: message is {message.state}."
        if message.state == "failed" and not message.next_retry_at:
            return "Nothing to do: the message waits for a person."
        result = message._process()
        batch = message.backend_id.batch_size
        if batch > 1:
            others = message._process_pending_batch(
                batch - 1, deadline=started + BATCH_SECONDS
            )
            if others:
                result += f" (+{others} queued message(s) of the same backend)"
        return result

    def _process_pending_batch(self, limit, deadline=None):
        """Micro-batch: also process up to ``limit`` messages of this backend
        whose own job is still pending, and close those jobs in the same
        transaction, so that message and job states always agree. Past
        ``deadline`` (``time.monotonic()``) no further message is started:
        the batch commits, and what it claimed but left keeps its own job.

        Every message keeps its own job (a crash or a rollback leaves them all
        pending, to run one by one); the batch only saves the per-job overhead
        under load. Rows locked or changed by others are skipped, never waited
        for: a batch never fails because of a row it merely wanted.

        The batch takes the *newest* waiting messages: queue_job's runner
        dispatches the oldest jobs first, so batch and runner work from
        opposite ends of the queue and rarely meet (connectors do not depend
        on processing order: duplicates and out-of-order updates are theirs
        to handle anyway).
        """
        self.env.flush_all()
        candidates = self._pending_batch_candidates(limit * 2)
        if not candidates:
            return 0
        lock = (
            "SELECT id FROM integration_message WHERE id IN %s "
            "AND state = 'received' ORDER BY id DESC LIMIT %s "
            "FOR NO KEY UPDATE SKIP LOCKED"
        )
        rows = self._rows_if_free(lock, [tuple(candidates), limit])
        if rows is None:
            # one of them changed since this transaction's snapshot: claim
            # them one by one, leaving that one to its own job
            rows = []
            for message_id in candidates:
                if len(rows) >= limit:
                    break
                rows += self._rows_if_free(lock, [(message_id,), 1]) or []
        if not rows:
            return 0
        messages = self.browse()
        for message in self.browse(sorted(row[0] for row in rows)):
            if deadline is not None and time.monotonic() > deadline:
                break
            message._process()
            messages |= message
        if not messages:
            return 0
        self.env.flush_all()
        self._close_batched_jobs(messages, candidates)
        return len(messages)

    def _pending_batch_candidates(self, limit):
        """{message id: job id} of at most ``limit`` of the newest messages
        of this backend waiting for their still-pending job.

        Two short queries rather than one join: in a burst the statistics
        lag behind the queue (autovacuum analyzes a minute later, if at all),
        and with them the planner joined every waiting message to the job
        table by its state index, 0.3 ms a message: 2.5 s per batch with
        7,000 waiting (bench/carrier.py). The newest waiting ones come from
        their own small index in its order; their jobs by uuid.
        """
        self.env.cr.execute(
            """
            SELECT id, job_uuid FROM integration_message
             WHERE backend_id = %s AND state = 'received' AND id != %s
               AND job_uuid IS NOT NULL
             ORDER BY id DESC
             LIMIT %s
            """,
            (self.backend_id.id, self.id, limit),
        )
        message_of_job = {
            uuid: message_id for message_id, uuid in self.env.cr.fetchall()
        }
        if not message_of_job:
            return {}
        self.env.cr.execute(
            """
            SELECT uuid, id FROM queue_job
             WHERE uuid IN %s AND state = 'pending'
               AND (eta IS NULL OR eta <= now() at time zone 'UTC')
            """,
            (tuple(message_of_job),),
        )
        job_of_message = {
            message_of_job[uuid]: job for uuid, job in self.env.cr.fetchall()
        }
        return dict(sorted(job_of_message.items(), reverse=True))

    def _rows_if_free(self, query, params):
        """The rows of a locking query run in a savepoint, or None when a row
        it needs is locked or was changed by another transaction since this
        one's snapshot (Odoo's isolation is REPEATABLE READ)."""
        try:
            with self.env.cr.savepoint(flush=False):
                self.env.cr.execute(query, params, log_exceptions=False)
                return self.env.cr.fetchall()
        except OperationalError as exc:
            if exc.pgcode not in CONCURRENCY_ERRORS:
                raise
            return None

    def _close_batched_jobs(self, messages, job_of_message):
        """Close the still-pending jobs of messages this batch processed: done,
        or, for a message that waits for a retry, pending with the retry's
        time (its retry found this very job by identity key). Written through
        queue_job's model, in this transaction: message and job commit or
        roll back together.

        The runner may have dispatched some of these jobs since this
        transaction's snapshot: such a job is left as it is (it runs, finds
        its message handled, and does nothing), never the cause of a rollback.
        """
        Job = (
            self.env["queue.job"]
            .sudo()
            .with_context(tracking_disable=True, mail_notrack=True)
        )
        retrying = messages.filtered(lambda m: m.state == "failed" and m.next_retry_at)
        for message in retrying:
            self._write_if_free(
                Job.browse(job_of_message[message.id]),
                {"eta": message.next_retry_at, "date_started": False},
            )
        now = fields.Datetime.now()
        done = {
            "state": "done",
            "result": f"Processed in a batch by job {self.env.context.get('job_uuid')}",
            "date_started": now,
            "date_done": now,
            "exc_info": False,
        }
        jobs = Job.browse([job_of_message[m.id] for m in messages - retrying])
        if jobs and not self._write_if_free(jobs, done):
            # one by one, so that only the jobs the runner took stay open
            for job in jobs:
                self._write_if_free(job, done)

    def _write_if_free(self, jobs, values):
        """Write pending ``jobs`` in a savepoint; False when one of them is
        locked or changed by another transaction (the runner took it)."""
        try:
            with self.env.cr.savepoint(flush=False):
                pending = jobs.filtered(lambda job: job.state == "pending")
                pending.write(values)
                pending.flush_recordset()
                return True
        except OperationalError as exc:
            if exc.pgcode not in CONCURRENCY_ERRORS:
                raise
            jobs.invalidate_recordset()
            return False

    def _process(self):
        self.ensure_one()
        with (
            correlation_context(self.correlation_id),
            processing_scope(self.id) as scope,
        ):
            # One UPDATE per outcome: within this transaction nobody could see
            # an intermediate "processing" state, and the hot path saves it.
            attempt = self.attempts + 1
            replay = self.replay_pending
            try:
                with self._call_logs_kept(scope), self.env.cr.savepoint():
                    # documents created by the handler carry the correlation id
                    result = self.with_context(
                        default_integration_correlation_id=self.correlation_id,
                        integration_replay=replay,
                    )._run_handler()
            except SkipMessage as exc:
                self._mark_skipped(exc, attempt)
            except IntegrationError as exc:
                self._mark_error(exc, attempt)
            except OperationalError as exc:
                if exc.pgcode in CONCURRENCY_ERRORS:
                    raise  # queue_job retries the job in a fresh transaction
                error = TransientError(_("Database error"), str(exc))
                error.remote_health = False
                self._mark_error(error, attempt)
            except IntegrityError as exc:
                if exc.pgcode != errorcodes.UNIQUE_VIOLATION or attempt > 1:
                    # a duplicate that a retry did not cure is no race
                    self._mark_error(self._unexpected_error(exc), attempt)
                else:
                    # Another transaction made the same record (a binding, a
                    # partner) at the same time: the retry finds it.
                    self._mark_error(
                        ConcurrencyConflict(
                            _(
                                "Another job created the same record at the "
                                "same time; retrying will use it."
                            ),
                            str(exc),
                        ),
                        attempt,
                    )
            except (UserError, OdooValidationError) as exc:
                # Odoo's own rules refused the document: a business matter.
                self._mark_error(
                    BusinessRuleError(
                        _("Odoo refused the change: %s", exc.args[0]),
                        traceback.format_exc(),
                    ),
                    attempt,
                )
            except Exception as exc:  # pylint: disable=broad-except
                self._mark_error(self._unexpected_error(exc), attempt)
            else:
                self._mark_done(result, attempt)
            if replay:
                self.replay_pending = False
                if self.state == "done":  # other outcomes post their own note
                    self.message_post(body=_("Replay applied."))
            _logger.info("Message %s (%s) -> %s", self.id, self.name, self.state)
            return f"{self.state}: {self.error_message or self.name}"

    @contextlib.contextmanager
    def _call_logs_kept(self, scope):
        """Around the handler's savepoint: when it is rolled back, the calls
        the handler made are logged again (they were made; the message's form
        shows them)."""
        try:
            yield
        except Exception:
            self.env["integration.call.log"]._log_again(scope.call_logs)
            raise

    def _unexpected_error(self, exc):
        _logger.exception("Message %s failed unexpectedly", self.id)
        return PermanentError(
            _("Unexpected error while processing: %s", exc), traceback.format_exc()
        )

    def _run_handler(self):
        backend = self.backend_id
        message_type = self.message_type_id
        if not message_type:
            raise ValidationFailed(
                _(
                    "%(backend)s: unknown message type '%(type)s'.",
                    backend=backend.name,
                    type=self.message_type,
                )
            )
        data = self._payload_data()
        problems, violations = explain_violations(message_type.json_schema, data)
        if violations:
            more = len(problems) - 1
            text = problems[0]
            if more == 1:
                text += " " + _("(and 1 more problem: see the Technical detail tab)")
            elif more:
                text += " " + _(
                    "(and %s more problems: see the Technical detail tab)", more
                )
            error = ValidationFailed(
                _("%(what)s: %(problem)s", what=self.name, problem=text),
                violations,
                detail="\n".join(problems + [""] + violations),
            )
            error.retry_useless = True
            raise error
        if message_type.is_desk_item:
            problem = self._desk_item_recheck()
            return {"records": self._related_record(), "business_exception": problem}
        # (state "validated" is not written here: within this transaction
        # nobody could see it, and the hot path saves the UPDATE)
        backend._check_flow(
            message_type.business_object,
            "import" if self.direction == "in" else "export",
        )
        handler = getattr(
            backend.with_company(backend.company_id), message_type.handler or "", None
        )
        if not callable(handler):
            raise PermanentError(
                _("No handler for message type %s.", message_type.code),
                f"integration.backend has no method {message_type.handler!r}",
            )
        # handlers run in the backend's company: what they create is its own
        return handler(self.with_company(backend.company_id), data)

    def _payload_bytes(self):
        if self.payload_encoding == "base64":
            return base64.b64decode(self.payload or "")
        return (self.payload or "").encode()

    def _payload_data(self):
        """The payload decoded as its type says (JSON parsed, else text)."""
        if self.payload_purged:
            raise PermanentError(_("The payload was purged after retention."))
        if (self.message_type_id.payload_format or "json") != "json":
            return self._payload_bytes()
        body = self._payload_bytes()
        try:
            return json.loads(body)
        except ValueError as exc:
            error = ValidationFailed(
                _(
                    "%(what)s: %(why)s",
                    what=self.name,
                    why=explain_json_error(exc, len(body)),
                ),
                detail=_("The body is not valid JSON: %s", exc),
            )
            error.retry_useless = True
            raise error from exc

    # ------------------------------------------------------------------
    # Outcomes
    # ------------------------------------------------------------------
    def _mark_done(self, result=None, attempt=None):
        vals = {
            "state": "done",
            "attempts": attempt or self.attempts + 1,
            "next_retry_at": False,
            "done_at": fields.Datetime.now(),
            "outcome": "applied",
            "error_category": False,
            "error_message": False,
            "error_detail": False,
            "mapping_kind": False,
            "mapping_code": False,
            "processing_started_at": False,
            "retry_blocked": False,
        }
        records = result if isinstance(result, models.BaseModel) else None
        # A business exception: processed, but a person must look (it is on
        # the desk with its first line as the problem); none clears an old one.
        vals["business_exception"] = False
        if isinstance(result, dict):
            records = result.get("records")
            exception = result.get("business_exception")
            if exception:
                vals.update(
                    business_exception=exception,
                    error_category="business",
                    error_message=exception.splitlines()[0][:500],
                )
        if records:
            vals.update(res_model=records._name, res_id=records[:1].id)
            if "integration_correlation_id" in records._fields:
                records.filtered(lambda r: not r.integration_correlation_id).write(
                    {"integration_correlation_id": self.correlation_id}
                )
        self.write(vals)

    def _mark_skipped(self, exc, attempt=None):
        attempts = attempt or self.attempts + 1
        if exc.conflict:
            self.write(
                {
                    "attempts": attempts,
                    "next_retry_at": False,
                    "state": "failed",
                    "outcome": "conflict",
                    "error_category": "business",
                    "error_message": exc.reason,
                    "processing_started_at": False,
                }
            )
        else:
            self.write(
                {
                    "attempts": attempts,
                    "next_retry_at": False,
                    "state": "ignored",
                    "outcome": "skipped",
                    "ignore_reason": exc.reason,
                    "processing_started_at": False,
                    # an earlier attempt's error no longer says anything
                    "error_category": False,
                    "error_message": False,
                    "error_detail": False,
                    "mapping_kind": False,
                    "mapping_code": False,
                }
            )
        self.message_post(body=exc.reason)

    def _mark_error(self, exc, attempt=None):
        backend = self.backend_id
        attempt = attempt or self.attempts + 1
        vals = {
            "attempts": attempt,
            "error_category": exc.category,
            "error_message": (exc.message or "")[:500],
            "error_detail": redact_text(exc.detail or "", backend._secrets()),
            "processing_started_at": False,
            "outcome": False,
            "retry_blocked": bool(getattr(exc, "retry_useless", False)),
        }
        if isinstance(exc, MappingError):
            vals.update(mapping_kind=exc.kind, mapping_code=exc.code)
        about = getattr(exc, "records", None)
        if about is not None and about.exists():
            vals.update(res_model=about._name, res_id=about[:1].id)
        retry_in = None
        if exc.category == CATEGORY_TRANSIENT and attempt < backend.max_attempts:
            retry_in = retry_delay(
                attempt,
                getattr(exc, "retry_after", None),
                base=backend.retry_base_seconds or 30,
                cap=backend.retry_max_seconds or 3600,
            )
            vals.update(
                state="failed",
                next_retry_at=fields.Datetime.now() + timedelta(seconds=retry_in),
            )
        elif exc.category in (CATEGORY_TRANSIENT, CATEGORY_PERMANENT):
            vals.update(state="dead", next_retry_at=False)
        else:
            vals.update(state="failed", next_retry_at=False)
        self.write(vals)
        if exc.category in (CATEGORY_TRANSIENT, CATEGORY_PERMANENT) and getattr(
            exc, "remote_health", True
        ):
            # The handler's savepoint rolled back what _call recorded: record
            # the failure (and a refused credential) again, once.
            backend._record_failure(exc, auth=isinstance(exc, AuthenticationFailed))
        if retry_in is not None:
            self._enqueue(eta=int(retry_in))
            note = _(
                "Attempt %(attempt)s of %(max)s failed: %(error)s. Next try in "
                "%(seconds)s s.",
                attempt=self.attempts,
                max=backend.max_attempts,
                error=exc.message,
                seconds=int(retry_in),
            )
        elif self.state == "dead":
            note = _(
                "Dead after %(attempt)s attempt(s): %(error)s",
                attempt=self.attempts,
                error=exc.message,
            )
        else:
            note = _(
                "Needs a person (%(category)s): %(error)s",
                category=dict(ERROR_CATEGORIES)[exc.category],
                error=exc.message,
            )
        self.message_post(body=note)

    # ------------------------------------------------------------------
    # Desk actions
    # ------------------------------------------------------------------
    def action_retry(self):
        desk_items = self.filtered(
            lambda m: (
                m.message_type_id.is_desk_item
                and m.state == "done"
                and m.business_exception
            )
        )
        if desk_items:
            desk_items._retry_desk_items()
            if desk_items == self:
                return True
        retryable = (self - desk_items).filtered(
            lambda m: (
                m.state in ("failed", "dead") + OPEN_STATES
                or (m.state == "done" and m.business_exception)
            )
        )
        if not retryable:
            raise UserError(
                _(
                    "Only failed, dead or stuck messages and business exceptions "
                    "can be retried."
                )
            )
        retryable.sudo()._cancel_pending_jobs()
        retryable.sudo().write(
            {
                "state": "received",
                "attempts": 0,
                "next_retry_at": False,
                "processing_started_at": False,
            }
        )
        retryable.sudo()._enqueue()
        for message in retryable:
            message.message_post(body=_("Retried by %s.", self.env.user.name))
        return True

    def _replayable(self):
        """Finished exchanges whose body is still kept (desk items are
        checked again by *Retry*, not replayed)."""
        return self.filtered(
            lambda m: (
                m.state in REPLAYABLE_STATES
                and not m.payload_purged
                and not m.message_type_id.is_desk_item
            )
        )

    def action_replay(self, reason):
        """Run the handler again, as a new attempt, for finished messages.

        Handlers are idempotent: what is right stays as it is, and what was
        changed by hand in Odoo where the other system is the system of record
        is put back (the version guard lets the applied version through once,
        ``integration_replay``). Managers only; the reason goes to the chatter.
        Returns the messages replayed."""
        if not self.env.user.has_group(MANAGER):
            raise AccessError(_("Only integration managers can replay messages."))
        reason = (reason or "").strip()
        if not reason:
            raise UserError(_("Say why the messages are replayed."))
        messages = self._replayable()
        messages.sudo().write(
            {"state": "received", "replay_pending": True, "next_retry_at": False}
        )
        for message in messages:
            message.message_post(
                body=_(
                    "Replayed by %(user)s: %(reason)s",
                    user=self.env.user.name,
                    reason=reason,
                )
            )
        messages.sudo()._enqueue()
        return messages

    def action_retry_selected(self):
        """*Retry selected* of the lists: queued again, with a word of it."""
        self.action_retry()
        return self._notification(
            _(
                "%s item(s) queued again: the list shows their new state shortly.",
                len(self),
            ),
            "info",
        )

    def action_retry_now(self):
        """*Retry* of the form: process now, in this request, and say what
        came of it (the form reloads with the new state)."""
        self.ensure_one()
        if self.message_type_id.is_desk_item and self.state == "done":
            self._retry_desk_items()
        else:
            self._process_now(_("Retried by %s", self.env.user.name))
        return self._outcome_notification()

    def _process_now(self, note):
        """Reset and process this message at once (as its job would, with
        the job's rights); ``note`` opens the chatter line of the outcome.
        A message another worker holds right now is left to it."""
        self.ensure_one()
        if not (
            self.state in ("failed", "dead") + OPEN_STATES
            or (self.state == "done" and self.business_exception)
        ):
            raise UserError(
                _(
                    "Only failed, dead or stuck messages and business exceptions "
                    "can be retried."
                )
            )
        message = self.sudo()
        self.env.flush_all()
        if message._rows_if_free(
            "SELECT id FROM integration_message WHERE id = %s FOR NO KEY UPDATE NOWAIT",
            [message.id],
        ) in (None, []):
            raise UserError(
                _("%s is being processed right now: look again in a moment.", self.name)
            )
        message._cancel_pending_jobs()
        message.write(
            {
                "state": "received",
                "attempts": 0,
                "next_retry_at": False,
                "processing_started_at": False,
            }
        )
        message._process()
        self.invalidate_recordset()
        self.message_post(
            body=_("%(note)s: %(outcome)s", note=note, outcome=self._outcome_text())
        )

    def _outcome_text(self):
        """The state in words, with what it made ("done: S00004 created")."""
        self.ensure_one()
        related = ""
        if self.res_name:
            related = " " + _("Related record: %s.", self.res_name)
        if self.state == "done" and not self.business_exception:
            return _("done.") + related
        if self.state == "done":
            return _("done, but it needs a look: %s", self.error_message) + related
        if self.state == "ignored":
            return _("not applied: %s", self.ignore_reason or "")
        if self.state == "failed" and self.next_retry_at:
            return _("failed again, Odoo retries by itself: %s", self.error_message)
        if self.state in OPEN_STATES:
            return _("queued.")
        return _("still failing: %s", self.error_message)

    def _outcome_notification(self):
        self.ensure_one()
        kind = (
            "success"
            if self.state == "done" and not self.business_exception
            else ("info" if self.state in OPEN_STATES + ("ignored",) else "warning")
        )
        return self._notification(f"{self.name}: {self._outcome_text()}", kind)

    @api.model
    def _notification(self, text, kind="info"):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "message": text,
                "type": kind,
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_ignore(self, reason):
        if not (reason or "").strip():
            raise UserError(_("Say why the message is ignored."))
        closable = self.filtered(
            lambda m: (
                m.state != "ignored" and (m.state != "done" or m.business_exception)
            )
        )
        closable.sudo()._cancel_pending_jobs()
        for message in closable:
            message.sudo().write(
                {
                    "state": "ignored",
                    "ignore_reason": reason,
                    "next_retry_at": False,
                    "ignored_from_state": message.state,
                }
            )
            message.message_post(
                body=_(
                    "Ignored by %(user)s: %(reason)s",
                    user=self.env.user.name,
                    reason=reason,
                )
            )
        return True

    def action_reopen(self):
        """Put an ignored item back on the desk as it was."""
        reopened = self.filtered(
            lambda m: m.state == "ignored" and m.ignored_from_state
        )
        if not reopened:
            raise UserError(
                _(
                    "Only items a person ignored can be reopened (a message "
                    "skipped on purpose by a sync rule can be retried instead)."
                )
            )
        for message in reopened:
            message.sudo().write(
                {
                    "state": message.ignored_from_state,
                    "ignored_from_state": False,
                    "ignore_reason": False,
                    "sla_notified": False,
                }
            )
            message.message_post(body=_("Reopened by %s.", self.env.user.name))
        return self._notification(_("%s item(s) back on the desk.", len(reopened)))

    def action_open_ignore_wizard(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Ignore"),
            "res_model": "integration.message.ignore",
            "view_mode": "form",
            "target": "new",
            "context": {"active_ids": self.ids, "active_model": self._name},
        }

    def action_open_assign_wizard(self):
        return {
            "type": "ir.actions.act_window",
            "name": _("Assign"),
            "res_model": "integration.message.assign",
            "view_mode": "form",
            "target": "new",
            "context": {"active_ids": self.ids, "active_model": self._name},
        }

    def action_open_payload_editor(self):
        """Managers: repair the payload, then reprocess (the original body is
        kept as an attachment: nothing is lost)."""
        self.ensure_one()
        if not self.env.user.has_group(MANAGER):
            raise AccessError(_("Only integration managers can edit a payload."))
        return {
            "type": "ir.actions.act_window",
            "name": _("Repair the payload"),
            "res_model": "integration.message.payload.edit",
            "view_mode": "form",
            "target": "new",
            "context": {"default_message_id": self.id},
        }

    def _assign(self, user, note=None, deadline=None, summary=None):
        """Assign to ``user`` with a to-do activity (which notifies them)."""
        for message in self:
            message.write({"assignee_id": user.id})
            message.activity_schedule(
                "mail.mail_activity_data_todo",
                date_deadline=deadline or fields.Date.context_today(self),
                summary=summary or _("Integration exception: %s", message.name),
                note=note or message.error_message or False,
                user_id=user.id,
            )
        return True

    def action_assign_to_me(self):
        self.write({"assignee_id": self.env.user.id})
        return self._notification(
            _("%s item(s) assigned to you.", len(self)), "success"
        )

    def action_open_related(self):
        self.ensure_one()
        record = self.sudo()._related_record()
        if not record:
            raise UserError(_("This message has no related record."))
        if not self._user_can_read(record):
            raise UserError(
                _(
                    "You are not allowed to open %(record)s (%(model)s): it needs "
                    "rights you do not have. Use Assign to hand this item to a "
                    "colleague who has them.",
                    record=record.display_name,
                    model=self.env["ir.model"]._get(record._name).name,
                )
            )
        return {
            "type": "ir.actions.act_window",
            "res_model": record._name,
            "res_id": record.id,
            "view_mode": "form",
            "target": "current",
        }

    def action_create_mapping(self):
        self.ensure_one()
        if self.error_category != CATEGORY_MAPPING or not self.mapping_kind:
            raise UserError(_("This message has no missing mapping."))
        return {
            "type": "ir.actions.act_window",
            "name": _("Map and retry"),
            "res_model": "integration.value.map.create",
            "view_mode": "form",
            "target": "new",
            "context": {"default_message_id": self.id},
        }

    def action_view_call_logs(self):
        """The outbound calls this message's processing made."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_core.action_integration_call_log"
        )
        action["domain"] = [("message_id", "in", self.ids)]
        action["context"] = {}
        return action

    def action_view_job(self):
        self.ensure_one()
        job = self.env["queue.job"].search([("uuid", "=", self.job_uuid)], limit=1)
        if not job:
            raise UserError(_("No job is recorded for this message."))
        return {
            "type": "ir.actions.act_window",
            "res_model": "queue.job",
            "res_id": job.id,
            "view_mode": "form",
        }

    # ------------------------------------------------------------------
    # Crons
    # ------------------------------------------------------------------
    @api.model
    def _cron_retry_due(self, limit=500):
        """Failed messages whose retry time has come and that have no waiting
        job (e.g. the job was lost): enqueue them."""
        due = self.search(
            [("state", "=", "failed"), ("next_retry_at", "<=", fields.Datetime.now())],
            limit=limit,
            order="next_retry_at",
        )
        waiting = set(
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("uuid", "in", [u for u in due.mapped("job_uuid") if u]),
                    ("state", "in", ("pending", "enqueued", "started")),
                ]
            )
            .mapped("uuid")
        )
        to_enqueue = due.filtered(lambda m: m.job_uuid not in waiting)
        to_enqueue._enqueue()
        return len(to_enqueue)

    @api.model
    def _cron_rescue_stuck(self, stuck_minutes=15, limit=500):
        """Open messages that no live worker holds and whose job is not
        waiting to run (a worker crashed, a job was lost): process again.

        A live worker holds the message row locked, so ``SKIP LOCKED`` leaves
        it alone; the job itself re-checks the state under the same lock, so
        a message is processed once even if two jobs meet. The message's own
        job is requeued when it still exists (queue_job's runner also
        requeues jobs of killed workers from its lock table): no job is left
        failed or started for a message that then ends done.
        """
        threshold = fields.Datetime.now() - timedelta(minutes=stuck_minutes)
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT m.id FROM integration_message m
             WHERE m.state IN %s AND m.write_date < %s
               AND NOT EXISTS (
                   SELECT 1 FROM queue_job j
                    WHERE j.uuid = m.job_uuid
                      AND (j.state IN ('pending', 'enqueued', 'wait_dependencies')
                           OR (j.state = 'started' AND j.date_started >= %s)))
             ORDER BY m.id
             LIMIT %s
               FOR NO KEY UPDATE SKIP LOCKED
            """,
            (OPEN_STATES, threshold, threshold, limit),
        )
        stuck = self.browse([row[0] for row in self.env.cr.fetchall()])
        if not stuck:
            return 0
        stale_jobs = (
            self.env["queue.job"]
            .sudo()
            .search(
                [
                    ("uuid", "in", [u for u in stuck.mapped("job_uuid") if u]),
                    ("state", "in", ("started", "failed")),
                ]
            )
        )
        stale_jobs.requeue()
        stuck.write({"state": "received", "processing_started_at": False})
        stuck.filtered(lambda m: m.job_uuid not in stale_jobs.mapped("uuid"))._enqueue()
        for message in stuck:
            message.message_post(
                body=_("Rescued: processing was interrupted; queued again.")
            )
        _logger.warning("Rescued %s stuck integration message(s)", len(stuck))
        return len(stuck)

    @api.model
    def _cron_notify_over_sla(self, limit=200):
        """Items that have just passed their backend's SLA: tell the person
        assigned, else the backend's desk responsible, else the integration
        managers (once per item; reopening arms it again)."""
        items = self.search(
            [("over_sla", "=", True), ("sla_notified", "=", False)],
            limit=limit,
            order="create_date",
        )
        managers = self.env.ref(MANAGER).users.filtered(
            lambda u: (
                u.active and not u.share and u.id != self.env.ref("base.user_root").id
            )
        )
        for item in items:
            users = item.assignee_id or item.backend_id.desk_responsible_id or managers
            users = users.filtered(
                lambda u, item=item: item.company_id in u.company_ids
            )
            if users:
                item.message_notify(
                    partner_ids=users.partner_id.ids,
                    subject=_("Older than its SLA: %s", item.name),
                    body=_(
                        "%(name)s has waited %(age)s, longer than the %(sla)s h "
                        "the backend %(backend)s allows: %(problem)s",
                        name=item.name,
                        age=item.age_display,
                        sla=item.backend_id.sla_hours or 24,
                        backend=item.backend_id.name,
                        problem=item.error_message or "",
                    ),
                )
        items.sudo().write({"sla_notified": True})
        return len(items)

    @api.model
    def _cron_purge_payloads(
        self, batch=2000, commit_batches=False, batch_seconds=0.1, merge_rows=1000
    ):
        """Drop payloads and headers of finished messages past the backend's
        retention; the message itself (metadata, errors, links) stays.

        In batches of at most ``batch`` rows, oldest first, skipping rows a
        worker holds; the cron commits after each batch (``commit_batches``)
        and before the first one, so that no transaction holds more than one
        batch locked and a purge of millions of rows runs beside intake.
        Committed batches are sized by time (``next_batch_size``): the first
        one is 50 rows, each next one at most twice the last and as many as
        the last one's pace (its commit included) allows in
        ``batch_seconds``, and fewer at once after a long one (a purged row
        rewrites every index of the table, and a busy machine is slower).
        Each batch reads the purge index from where the last one ended, not
        over the entries of the rows already purged. Every ``merge_rows``
        rows purged (about half of a pending list of 1 MB) and at the end,
        the trigram indexes' pending lists are merged between committed
        batches on their own (``_purge_clean_pending_lists``), not by a
        batch's UPDATE."""
        purged = 0
        size = min(batch, 50) if commit_batches else batch
        self.flush_model()
        backends = (
            self.env["integration.backend"]
            .with_context(active_test=False)
            .search([("retention_days", ">", 0)])
        )
        plan = [
            (backend.id, fields.Datetime.now() - timedelta(days=backend.retention_days))
            for backend in backends
        ]
        gin_indexes = self._purge_gin_indexes() if commit_batches else []
        unmerged = 0
        if commit_batches:
            self.env.cr.commit()  # pylint: disable=invalid-commit
        for backend_id, threshold in plan:
            after = None
            while True:
                started = time.monotonic()
                # the purge index in its order, from where the last batch
                # ended (a bitmap scan and a sort would read every candidate
                # left, each batch)
                self.env.cr.execute("SET LOCAL enable_bitmapscan = off")
                self.env.cr.execute(
                    """
                    WITH batch AS (
                        SELECT id, coalesce(done_at, write_date) AS at
                          FROM integration_message
                         WHERE backend_id = %(backend)s
                           AND state IN ('done', 'ignored')
                           AND NOT payload_purged
                           AND coalesce(done_at, write_date) < %(threshold)s
                           AND (%(after)s::timestamp IS NULL
                                OR coalesce(done_at, write_date) >= %(after)s)
                         ORDER BY coalesce(done_at, write_date)
                         LIMIT %(size)s
                           FOR NO KEY UPDATE SKIP LOCKED
                    )
                    UPDATE integration_message m
                       SET payload = NULL, headers = NULL, payload_purged = TRUE
                      FROM batch
                     WHERE m.id = batch.id
                    RETURNING batch.at
                    """,
                    {
                        "backend": backend_id,
                        "threshold": threshold,
                        "after": after,
                        "size": size,
                    },
                )
                ats = [row[0] for row in self.env.cr.fetchall()]
                self.env.cr.execute("RESET enable_bitmapscan")
                purged += len(ats)
                if commit_batches:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                    size_next = next_batch_size(
                        size, time.monotonic() - started, batch_seconds, batch
                    )
                    unmerged += len(ats)
                    if unmerged >= merge_rows:
                        gin_indexes = self._purge_clean_pending_lists(gin_indexes)
                        unmerged = 0
                if len(ats) < size:
                    break
                after = max(ats)
                if commit_batches:
                    size = size_next
        if unmerged:
            self._purge_clean_pending_lists(gin_indexes)
        self.invalidate_model(["payload", "headers", "payload_purged"])
        if purged:
            _logger.info("Purged the payloads of %s integration message(s)", purged)
        return purged

    def _purge_gin_indexes(self):
        """The table's GIN (trigram) indexes, whose pending lists the purge
        merges between its batches."""
        self.env.cr.execute(
            """
            SELECT c.relname
              FROM pg_index i
              JOIN pg_class c ON c.oid = i.indexrelid
              JOIN pg_am a ON a.oid = c.relam
             WHERE i.indrelid = %s::regclass AND a.amname = 'gin'
             ORDER BY c.relname
            """,
            [self._table],
        )
        return [row[0] for row in self.env.cr.fetchall()]

    def _purge_clean_pending_lists(self, indexes):
        """Merge the GIN indexes' pending lists into the indexes, each in a
        transaction of its own holding no lock on the table nor on a row
        (``gin_clean_pending_list``: a lock on the index only, which intake
        does not wait for). A purged row adds its trigrams to the lists;
        merged here every thousand rows or so, they stay under half full,
        and the purge's own UPDATE never merges a full list (1 MB: 0.1 to
        0.7 s at a million messages on a loaded machine, bench/scale.py)
        while it holds its rows. What is left of ``indexes`` (none when the
        database user may not merge them: the UPDATE merges as before)."""
        for name in indexes:
            try:
                self.env.cr.execute(
                    "SELECT gin_clean_pending_list(%s::regclass)",
                    [name],
                    log_exceptions=False,
                )
            except psycopg2.Error as exc:
                self.env.cr.rollback()
                _logger.info("The purge leaves the GIN indexes' merges: %s", exc)
                return []
            self.env.cr.commit()  # pylint: disable=invalid-commit
        return indexes

    # ------------------------------------------------------------------
    # The order trace of the message (integration.document.mixin)
    # ------------------------------------------------------------------
    def _trace_document(self):
        """The document whose trace this message belongs to (as superuser):
        the root of its related record, else of the documents carrying its
        correlation id (the highest ``_integration_trace_rank`` wins), else
        None."""
        self.ensure_one()
        record = self.sudo()._related_record()
        if record is not None and hasattr(record, "_integration_trace_root"):
            root = record._integration_trace_root()
            if root._integration_trace_rank >= 0:
                return root
        if not self.correlation_id:
            return None
        roots = []
        for name in sorted(self.env.registry.models):
            Model = self.env[name]
            if (
                Model._abstract
                or Model._transient
                or not hasattr(Model, "_integration_trace_root")
                or Model._integration_trace_rank < 0
            ):
                continue
            found = Model.sudo().search(
                [("integration_correlation_id", "=", self.correlation_id)],
                limit=1,
                order="id",
            )
            if found:
                roots.append(found._integration_trace_root())
        roots = [r for r in roots if r._integration_trace_rank >= 0]
        if not roots:
            return None
        return max(roots, key=lambda r: r._integration_trace_rank)

    def _integration_trace_summary(self, now=None):
        """The trace of the order this message belongs to; a message of no
        document gets the trace of its correlation id's messages."""
        self.ensure_one()
        document = self._trace_document()
        if document is not None:
            return document.with_env(self.env)._integration_trace_summary(now=now)
        messages = self.search(
            [("correlation_id", "=", self.correlation_id or False)]
            if self.correlation_id
            else [("id", "=", self.id)],
            order="received_at, id",
        )
        steps = [
            {
                "key": "message",
                "label": message.name,
                "sequence": 0,
                "at": message.received_at or message.create_date,
                "system": message.backend_id.name,
                "detail": message.error_message or "",
                "message_id": message.id,
                "res_model": message.res_model,
                "res_id": message.res_id,
                "document": message.res_name,
            }
            for message in messages
        ]
        exceptions = [
            {"id": m.id, "problem": m.error_message or m.business_exception}
            for m in messages
            if m.needs_attention
        ]
        summary = trace_build(steps, now or fields.Datetime.now(), exceptions)
        summary["root"] = None
        return summary

    def _integration_trace(self, now=None):
        """Entry point: the trace steps of this message's order (plain
        dicts, see ``integration_core/tools/trace.py``)."""
        return self._integration_trace_summary(now=now)["steps"]

    def action_open_integration_trace(self):
        self.ensure_one()
        return self.env["integration.trace"]._open_for(self)
