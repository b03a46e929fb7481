import json
import logging
import os
import time
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import html_escape
from odoo.tools.sql import create_index

from ..exceptions import (
    AuthenticationFailed,
    CircuitOpen,
    ConcurrencyConflict,
    IntegrationError,
    SkipMessage,
)
from ..tools.desk import human_age
from ..tools.http_client import IntegrationHttpClient, shared_rate_limiter
from ..tools.redaction import redact_text
from ..tools.signals import check_signal, client_domain, company_scoped
from ..tools.signing import SIGNATURE_HEADER, body_digest, verify_signature
from .integration_message import OPEN_STATES, row_lock_conflict

_logger = logging.getLogger(__name__)

MANAGER = "integration_core.group_integration_manager"
# Credential fields: readable by managers only, masked in every log line.
SECRET_FIELDS = ("api_key", "api_secret", "webhook_secret")
# Where external systems reach this Odoo with webhooks (Settings > Integration),
# e.g. a public https address, or a service name inside a Docker network;
# unset: the ``web.base.url`` of the database.
WEBHOOK_BASE_URL_PARAM = "integration.webhook_base_url"
# The message states the Overview counts (done ones are counted by time).
OPEN_AND_FAILED_STATES = (*OPEN_STATES, "failed", "dead")


def archive_backends_of_removed_connector(backends):
    """``ondelete`` of a connector type (``selection_add``): when its addon is
    uninstalled, its backends become archived generic backends and keep
    their messages, bindings, value maps and chatter (history is evidence;
    a ``cascade`` would delete it all)."""
    for backend in backends.with_context(active_test=False):
        removed = backend.connector_type
        backend.write({"connector_type": "generic", "active": False})
        backend.message_post(
            body=_(
                "Archived: the %(connector)s connector was uninstalled. Its "
                "messages and bindings are kept.",
                connector=removed,
            )
        )


class IntegrationBackend(models.Model):
    """One connection to one external system.

    **The connector contract.** A connector is an addon that adds its type to
    ``connector_type`` (``selection_add``, with ``ondelete`` set to
    :func:`archive_backends_of_removed_connector` so that uninstalling it
    keeps history) and implements, on this model, methods named
    ``_<connector_type>_<hook>``. The core calls them through
    :meth:`_dispatch` and falls back to its own ``_default_<hook>``; a
    connector never asks "is this my type?", and every method of one
    connector is found by its prefix. The hooks:

    ``_<type>_webhook_verify(headers, body)`` -> bool
        Is the raw request signed with this backend's webhook secret
        (constant-time)? Default: ``X-Integration-Signature``, base64
        HMAC-SHA256 of the body.
    ``_<type>_webhook_envelope(headers, body)`` -> dict
        What intake stores: ``message_type``, ``idempotency_key`` and
        optionally ``external_id``, ``reference`` and ``correlation_id``. It
        must never raise on a signed body (the body may be anything).
        Default: the ``X-Integration-*`` headers.
    ``_<type>_default_sync_rules()`` -> list of dicts
        The sync rules a new backend gets. Default: none.
    ``_<type>_backend_defaults()`` -> dict
        Field defaults of a new backend of the type (API version, rate limit).
    ``_<type>_test_connection()`` -> str
        Call the remote, return a line for the user; raise IntegrationError.
    ``_<type>_poll_<business_object>(rule)`` -> int
        Scheduled pull for a sync rule; returns the messages queued.
    ``_<type>_business_signals()`` -> list of dicts
        What the Overview shows the business about this backend, each a
        ``key``, a ``label`` (thresholds in words), and the ``model`` and
        ``domain`` of the records behind it (optional ``help``, ``context``
        of the list). The core counts the domain (one ``search_count`` as
        superuser, within the backend's company: write domains on indexed
        fields) and a click on the figure opens the same domain with the
        user's rights (:meth:`action_open_business_signal`). Thresholds are
        fields of the connector's backend; indexes the domains need are
        declared by extending :meth:`_business_signal_indexes`. See
        ``tools/signals.py``.
    ``_<type>_message_summary(message)`` -> dict or None
        What one message is about, for the top of its desk form: ``title``,
        ``fields`` (label, value pairs), ``lines`` (``columns``, ``rows``,
        ``marked``: indexes of the rows the problem is about) and ``note``.
    ``_<type>_next_step(message)`` -> str or None
        What a clerk does next about a failed message; None: the core's text.
    ``_<type>_secrets()`` -> list of str
        Secret values beyond the credential fields (tokens the remote
        issued), masked in every log line.
    Message handlers ``_<type>_handle_<what>(message, data)``
        Named by the message types (data): processing calls them in the
        backend's company; the name is checked when the type loads.
    Export handlers ``_<type>_export_<business_object>(message, data)``
        Handlers of the outbound message types that the outbox makes from
        recorded changes (``integration.outbox._record``); ``data["ids"]``
        names the changed records of ``data["model"]``.
    Re-check hooks ``_<type>_recheck_<what>(message, record)``
        Handlers of *desk item* types (business exceptions on records that
        are not exchanges): the generic *Retry* calls them; they return the
        problem that remains, or False once it is solved.

    Connectors use the core's mechanisms rather than their own: outbound
    calls through :meth:`_call`, bindings (``integration.binding``), value
    maps, :meth:`_advisory_lock`, :meth:`_skip_if_stale`,
    :meth:`_resolve_partner`, desk items (``integration.message``
    ``_desk_item_raise`` / ``_desk_item_resolve``) and the outbox for
    exports.
    """

    _name = "integration.backend"
    _description = "Integration Backend"
    _inherit = ["mail.thread"]
    _order = "sequence, name"

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True, tracking=True)
    company_id = fields.Many2one(
        "res.company", required=True, default=lambda self: self.env.company
    )
    connector_type = fields.Selection(
        [("generic", "Generic (signed JSON webhooks)")],
        required=True,
        default="generic",
        tracking=True,
    )
    environment = fields.Selection(
        [("sandbox", "Sandbox"), ("production", "Production")],
        required=True,
        default="sandbox",
        tracking=True,
    )
    base_url = fields.Char("Base URL", tracking=True)
    api_version = fields.Char("API version")

    # Credentials. A value "env:NAME" is read from the server's environment,
    # so that production secrets need not be stored in the database at all.
    # Never exported, never copied, readable by managers only.
    api_key = fields.Char(
        "API key / access token", groups=MANAGER, copy=False, exportable=False
    )
    api_secret = fields.Char("API secret", groups=MANAGER, copy=False, exportable=False)
    webhook_secret = fields.Char(groups=MANAGER, copy=False, exportable=False)
    webhook_url = fields.Char(
        "Webhook URL",
        compute="_compute_webhook_url",
        groups=MANAGER,
        help="The address to register at the external system for its webhooks. "
        "It starts with the webhook base URL of Settings > Integration (or, "
        "when that is empty, the web address of this database).",
    )

    # Processing policy
    channel = fields.Char(
        "Job channel",
        compute="_compute_channel",
        store=True,
        readonly=False,
        help="queue_job channel of this backend's jobs; give each connector a "
        "capacity in the job runner's configuration.",
    )
    max_attempts = fields.Integer(
        default=6,
        help="Attempts of a message failing for technical reasons before it is dead.",
    )
    retry_base_seconds = fields.Integer(
        "First retry after (s)", default=30, help="Doubles at each attempt."
    )
    retry_max_seconds = fields.Integer("Longest retry delay (s)", default=3600)
    batch_size = fields.Integer(
        "Messages per job",
        default=50,
        help="Under load, a job also processes up to this many queued messages "
        "of the backend (each keeps its own job, closed with it). 1 processes "
        "strictly one message per job.",
    )
    timeout_seconds = fields.Integer("Call timeout (s)", default=30)
    rate_limit = fields.Float(
        "Calls per second", default=4.0, help="Client-side limit; 0 for none."
    )
    max_payload_kb = fields.Integer("Largest webhook (KiB)", default=1024)
    retention_days = fields.Integer(
        "Keep payloads (days)",
        default=30,
        help="Payloads of finished messages are purged after this many days; "
        "the message itself is kept.",
    )
    call_log_retention_days = fields.Integer(
        "Keep call logs (days)",
        default=7,
        help="Outbound call logs older than this are deleted; 0 keeps them.",
    )
    sla_hours = fields.Integer(
        "Exception SLA (hours)",
        default=24,
        help="Exceptions older than this show under 'Older than SLA'.",
    )
    desk_responsible_id = fields.Many2one(
        "res.users",
        "Desk responsible",
        help="Told of exceptions older than the SLA that nobody is assigned to "
        "(empty: the integration managers).",
    )
    circuit_threshold = fields.Integer(
        "Stop after auth failures",
        default=3,
        help="Consecutive authentication failures that stop outbound calls.",
    )

    # Health
    last_success_at = fields.Datetime(readonly=True, copy=False)
    last_error_at = fields.Datetime(readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    consecutive_failures = fields.Integer(readonly=True, copy=False)
    auth_failures = fields.Integer(readonly=True, copy=False)
    circuit_open = fields.Boolean(
        "Calls stopped",
        readonly=True,
        copy=False,
        tracking=True,
        help="Outbound calls are stopped because the remote refused the "
        "credentials several times; they resume when the credentials change or "
        "a manager resumes them.",
    )
    health = fields.Selection(
        [
            ("unknown", "Nothing exchanged yet"),
            ("ok", "Healthy"),
            ("attention", "Needs attention"),
            ("degraded", "Calls failing"),
            ("stopped", "Stopped: credentials refused"),
        ],
        compute="_compute_health",
        help="Stopped or failing speak of the calls to the remote system; "
        "Needs attention means open exceptions on the desk.",
    )

    sync_rule_ids = fields.One2many("integration.sync.rule", "backend_id")
    message_ids_count = fields.Integer(compute="_compute_message_ids_count")
    queue_depth = fields.Integer(compute="_compute_dashboard")
    count_failed = fields.Integer(compute="_compute_dashboard")
    count_dead = fields.Integer(compute="_compute_dashboard")
    count_done = fields.Integer("Done (24h)", compute="_compute_dashboard")
    count_exceptions = fields.Integer(compute="_compute_dashboard")
    count_to_look = fields.Integer(
        compute="_compute_dashboard", help="Processed, but a person must look."
    )
    call_log_count = fields.Integer("Calls", compute="_compute_call_log_count")
    oldest_exception_at = fields.Datetime(compute="_compute_dashboard")
    oldest_exception_age = fields.Char(compute="_compute_dashboard")
    last_activity_age = fields.Char(compute="_compute_dashboard")
    throughput_chart = fields.Html(
        "Messages per hour (24h)", compute="_compute_dashboard", sanitize=False
    )
    business_signals = fields.Html(
        compute="_compute_business_signals",
        help="What the business should look at, as each connector counts it "
        "(orders not released, lines unmatched...).",
    )
    business_signal_data = fields.Json(
        "Business signals (figures)",
        compute="_compute_business_signals",
        help="The business signals as the Overview shows them: key, label, "
        "count, and whether this user may open the records behind it.",
    )

    _sql_constraints = [
        ("max_attempts_positive", "CHECK(max_attempts > 0)", "Attempts must be > 0."),
    ]

    @api.depends("connector_type")
    def _compute_channel(self):
        for backend in self:
            if not backend.channel:
                backend.channel = f"root.integration.{backend.connector_type}"

    def _webhook_base_url(self):
        """The start of every webhook URL: the suite's setting, else
        ``web.base.url``; no trailing slash."""
        params = self.env["ir.config_parameter"].sudo()
        base = params.get_param(WEBHOOK_BASE_URL_PARAM) or ""
        if not base.strip():
            base = params.get_param("web.base.url") or ""
        return base.strip().rstrip("/")

    def _webhook_url(self):
        """Where the external system of this backend posts its webhooks."""
        self.ensure_one()
        return f"{self._webhook_base_url()}/integration/webhook/{self._origin.id}"

    # From a system parameter, not from fields: no dependencies to declare.
    def _compute_webhook_url(self):
        for backend in self:
            backend.webhook_url = backend._origin.id and backend._webhook_url()

    @api.depends("circuit_open", "consecutive_failures", "last_success_at")
    def _compute_health(self):
        """Calls first (stopped, failing), then the desk (open exceptions),
        then any exchange at all: an inbound-only backend that receives is
        healthy without ever calling out."""
        for backend in self:
            if backend.circuit_open:
                backend.health = "stopped"
            elif backend.consecutive_failures:
                backend.health = "degraded"
            elif backend.count_exceptions:
                backend.health = "attention"
            elif backend.last_activity_age:  # a success or any message
                backend.health = "ok"
            else:
                backend.health = "unknown"

    def _compute_message_ids_count(self):
        """Counted on the backend index alone (an index-only scan): through
        the ORM the company rule reads every row of the backend (2 s for
        100,000 messages). A backend's messages are in its company, and the
        backends are the ones the user may read."""
        counts = {}
        if self.ids:
            self.env["integration.message"].flush_model(["backend_id"])
            self.env.cr.execute(
                "SELECT backend_id, count(*) FROM integration_message "
                "WHERE backend_id IN %s GROUP BY backend_id",
                [tuple(self.ids)],
            )
            counts = dict(self.env.cr.fetchall())
        for backend in self:
            backend.message_ids_count = counts.get(backend.id, 0)

    def _compute_dashboard(self):
        """The Overview's figures. At a million messages (bench/scale.py)
        none of them reads the done messages one by one: the states counted
        are the open ones (the state index), done in 24 h is a range of
        ``integration_message_backend_done_at_index``, the items to fix
        come from ``integration_message_attention_index``, the last message
        and the hourly chart from ``integration_message_backend_create_date_index``."""
        Message = self.env["integration.message"]
        since = fields.Datetime.now() - timedelta(hours=24)
        by_state = {
            (row["backend_id"][0], row["state"]): row["__count"]
            for row in Message.read_group(
                [
                    ("backend_id", "in", self.ids),
                    # positive (an index range): "not in" reads the table
                    ("state", "in", OPEN_AND_FAILED_STATES),
                ],
                ["backend_id"],
                ["backend_id", "state"],
                lazy=False,
            )
            if row["backend_id"]
        }
        exceptions = {
            row["backend_id"][0]: (row["backend_id_count"], row["create_date"])
            for row in Message.read_group(
                [("backend_id", "in", self.ids), ("needs_attention", "=", True)],
                ["backend_id", "create_date:min"],
                ["backend_id"],
            )
        }
        done_24h = {
            row["backend_id"][0]: row["backend_id_count"]
            for row in Message.read_group(
                [("backend_id", "in", self.ids), ("done_recently", "=", True)],
                ["backend_id"],
                ["backend_id"],
            )
        }
        last_received = self._last_message_dates()
        hourly = self._hourly_counts(since)
        for backend in self:
            counts = {s: by_state.get((backend.id, s), 0) for s, _l in Message.STATES}
            backend.queue_depth = (
                counts["received"] + counts["validated"] + counts["processing"]
            )
            backend.count_failed = counts["failed"]
            backend.count_dead = counts["dead"]
            backend.count_done = done_24h.get(backend.id, 0)
            count, oldest = exceptions.get(backend.id, (0, False))
            backend.count_exceptions = count
            backend.count_to_look = max(0, count - counts["failed"] - counts["dead"])
            backend.oldest_exception_at = oldest
            now = fields.Datetime.now()
            backend.oldest_exception_age = (
                human_age((now - oldest).total_seconds()) if oldest else False
            )
            last = max(
                filter(None, [backend.last_success_at, last_received.get(backend.id)]),
                default=None,
            )
            age = human_age((now - last).total_seconds()) if last else None
            backend.last_activity_age = (
                False if age is None else age if age == "just now" else f"{age} ago"
            )
            backend.throughput_chart = self._bar_chart(hourly.get(backend.id, {}))

    def _compute_call_log_count(self):
        counts = {
            row["backend_id"][0]: row["backend_id_count"]
            for row in self.env["integration.call.log"].read_group(
                [("backend_id", "in", self.ids)], ["backend_id"], ["backend_id"]
            )
        }
        for backend in self:
            backend.call_log_count = counts.get(backend.id, 0)

    def _compute_business_signals(self):
        """Counts only, shown to every desk user: a clerk without Sales or
        Accounting rights sees how many orders or bank lines wait (counted as
        superuser, within the backend's company). Whether the figure opens
        its list follows the user's own rights, as *Open* does on the desk."""
        for backend in self:
            rows = backend._business_signal_rows() if backend._origin.id else []
            backend.business_signal_data = rows
            items = [
                f"<li><strong>{int(row['count'])}</strong> "
                f"{html_escape(row['label'])}</li>"
                for row in rows
            ]
            backend.business_signals = (
                f"<ul class='list-unstyled mb-0'>{''.join(items)}</ul>"
                if items
                else False
            )

    def _business_signals(self):
        """The connector's signals (see ``tools/signals.py``), built as
        superuser in the backend's company."""
        self.ensure_one()
        return self.sudo().with_company(self.company_id)._dispatch("business_signals")

    def _checked_business_signals(self):
        return [check_signal(signal) for signal in self._business_signals()]

    def _business_signal_domain(self, signal):
        """What a signal counts and opens: its domain within the backend's
        company (when its model has a company)."""
        model = self.env[signal["model"]]
        return company_scoped(
            signal["domain"], self.company_id.id, "company_id" in model._fields
        )

    def _business_signal_rows(self):
        """``[{"key", "label", "count", "model", "help", "can_open"}]``: one
        ``search_count`` per signal, as superuser in the backend's company."""
        self.ensure_one()
        rows = []
        for signal in self._checked_business_signals():
            model = signal["model"]
            if model:
                count = (
                    self.env[model]
                    .sudo()
                    .with_company(self.company_id)
                    .with_context(active_test=True)
                    .search_count(self._business_signal_domain(signal))
                )
                can_open = self.env[model].check_access_rights(
                    "read", raise_exception=False
                )
            else:
                count, can_open = signal["count"], False
            rows.append(
                {
                    "key": signal["key"],
                    "label": signal["label"],
                    "count": count,
                    "model": model,
                    "model_name": model and self.env["ir.model"]._get(model).name,
                    "help": signal["help"],
                    "can_open": bool(can_open),
                }
            )
        return rows

    def action_open_business_signal(self, key):
        """The records behind one figure of the Overview: the signal's domain,
        built again now (its thresholds count from this moment), opened with
        the user's rights. A user who may not read such records is told so,
        in the desk's words (they see the count, not the records)."""
        self.ensure_one()
        self.check_access_rights("read")
        self.check_access_rule("read")
        signal = next(
            (s for s in self._checked_business_signals() if s["key"] == key and key),
            None,
        )
        if not signal or not signal["model"]:
            raise UserError(
                _("%(backend)s shows no such figure any more.", backend=self.name)
            )
        Model = self.env[signal["model"]]
        if not Model.check_access_rights("read", raise_exception=False):
            raise UserError(
                _(
                    "You are not allowed to open %(what)s (%(model)s): it needs "
                    "rights you do not have. The Overview counts them for you; "
                    "a colleague with those rights can open the list.",
                    what=signal["label"],
                    model=self.env["ir.model"]._get(signal["model"]).name,
                )
            )
        views = {
            view_type: self.sudo().env.ref(xmlid, raise_if_not_found=False)
            for view_type, xmlid in signal["views"].items()
        }
        view_ids = {t: view.id for t, view in views.items() if view}
        search = views.get("search") or False
        return {
            "type": "ir.actions.act_window",
            "name": f"{self.name}: {signal['label']}",
            "res_model": signal["model"],
            "domain": client_domain(self._business_signal_domain(signal)),
            "views": [(view_ids.get(t, False), t) for t in ("list", "form")],
            "search_view_id": search and [search.id, search.name],
            "view_mode": "tree,form",
            "target": "current",
            "context": {"create": False, **signal["context"]},
            "help": _("<p>Nothing to look at here any more.</p>"),
        }

    def _default_business_signals(self):
        return []

    @api.model
    def _business_signal_indexes(self):
        """Indexes the signals' domains need, as ``(name, table, expressions,
        where)``: each connector extends the list (``super()`` plus its own)
        so that its counts stay an index scan on a large database. Created
        when an addon is installed or updated, after every table."""
        return []

    def init(self):
        result = super().init()
        self.pool.post_init(self._create_business_signal_indexes)
        return result

    def _create_business_signal_indexes(self):
        for name, table, expressions, where in self._business_signal_indexes():
            create_index(self.env.cr, name, table, expressions, where=where)

    def _default_message_summary(self, message):
        """What a message is about, for the top of its form (see
        ``integration.message._compute_summary_html``): the connector's
        ``_<type>_message_summary(message)`` returns a dict; none here."""
        return None

    def _default_next_step(self, message):
        """What to do next, in words; None keeps the core's text."""
        return None

    def _last_message_dates(self):
        """``{backend id: create_date of its last message}``: one index probe
        per backend (a ``max`` grouped by backend would read every row).
        Plain SQL: a backend's messages are in its company, and the backends
        are the ones the user may read."""
        if not self.ids:
            return {}
        self.env["integration.message"].flush_model(["backend_id", "create_date"])
        self.env.cr.execute(
            """
            SELECT b.id, (SELECT max(m.create_date) FROM integration_message m
                           WHERE m.backend_id = b.id)
              FROM unnest(%s) AS b(id)
            """,
            [list(self.ids)],
        )
        return {backend_id: last for backend_id, last in self.env.cr.fetchall() if last}

    def _hourly_counts(self, since):
        if not self.ids:
            return {}
        self.env["integration.message"].flush_model(["backend_id", "create_date"])
        self.env.cr.execute(
            """
            SELECT backend_id,
                   floor(extract(epoch FROM now() at time zone 'UTC' - create_date)
                         / 3600)::int AS hours_ago,
                   count(*)
              FROM integration_message
             WHERE backend_id IN %s AND create_date >= %s
          GROUP BY 1, 2
            """,
            (tuple(self.ids), since),
        )
        result = {}
        for backend_id, hours_ago, count in self.env.cr.fetchall():
            result.setdefault(backend_id, {})[hours_ago] = count
        return result

    @api.model
    def _bar_chart(self, counts_by_hours_ago):
        """Inline SVG bars, oldest hour on the left, with a count axis and an
        hour axis: no JS widget needed."""
        values = [counts_by_hours_ago.get(h, 0) for h in range(23, -1, -1)]
        top = max(values) or 1
        left, height, width = 26, 44, 240
        bars = []
        for index, value in enumerate(values):
            bar = round(height * value / top)
            bars.append(
                f'<rect x="{left + index * 10}" y="{4 + height - bar}" width="8" '
                f'height="{bar}" fill="#017e84"><title>{23 - index}h ago: '
                f"{value}</title></rect>"
            )
        axis = (
            f'<line x1="{left - 2}" y1="4" x2="{left - 2}" y2="{4 + height}" '
            'stroke="#999" stroke-width="1"/>'
            f'<line x1="{left - 2}" y1="{4 + height}" x2="{left + width}" '
            f'y2="{4 + height}" stroke="#999" stroke-width="1"/>'
            + (
                f'<text x="{left - 5}" y="10" font-size="9" text-anchor="end" '
                f'fill="#666">{top}</text>'
                if max(values)
                else ""
            )
            + f'<text x="{left - 5}" y="{4 + height}" font-size="9" '
            'text-anchor="end" fill="#666">0</text>'
            f'<text x="{left}" y="{height + 16}" font-size="9" fill="#666">'
            "24 h ago</text>"
            f'<text x="{left + 120}" y="{height + 16}" font-size="9" '
            'text-anchor="middle" fill="#666">12 h</text>'
            f'<text x="{left + width}" y="{height + 16}" font-size="9" '
            'text-anchor="end" fill="#666">now</text>'
        )
        total = sum(values)
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" '
            f'viewBox="0 0 {left + width + 4} {height + 20}" width="{left + width + 4}"'
            f' height="{height + 20}" role="img" aria-label="messages per hour">'
            f"{axis}{''.join(bars)}</svg><div class='small text-muted'>"
            f"{total} messages in 24h, peak {max(values)}/h (messages per hour)</div>"
        )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------
    @api.model_create_multi
    def create(self, vals_list):
        default_type = self._fields["connector_type"].default(self)
        for vals in vals_list:
            hook = self._hook_method(
                vals.get("connector_type") or default_type, "backend_defaults"
            )
            if hook:
                for field_name, value in hook().items():
                    vals.setdefault(field_name, value)
        backends = super().create(vals_list)
        for backend in backends:
            backend._ensure_default_sync_rules()
        return backends

    @api.onchange("connector_type")
    def _onchange_connector_type(self):
        hook = self._hook_method(self.connector_type, "backend_defaults")
        for field_name, value in (hook() if hook else {}).items():
            if not self[field_name] or field_name == "api_version":
                self[field_name] = value

    def write(self, vals):
        if any(field in vals for field in SECRET_FIELDS + ("base_url",)):
            # New credentials: give outbound calls another chance.
            vals = {**vals, "circuit_open": False, "auth_failures": 0}
        return super().write(vals)

    def copy_data(self, default=None):
        default = dict(default or {})
        default.setdefault("name", _("%s (copy)", self.name))
        return super().copy_data(default)

    # ------------------------------------------------------------------
    # The connector contract (see the class docstring)
    # ------------------------------------------------------------------
    @api.model
    def _hook_method(self, connector_type, hook):
        """The bound ``_<connector_type>_<hook>`` method, or None."""
        method = getattr(self, f"_{connector_type}_{hook}", None)
        return method if callable(method) else None

    def _dispatch(self, hook, *args, **kwargs):
        """Call this backend's connector hook, else the core's default."""
        self.ensure_one()
        method = self._hook_method(self.connector_type, hook) or getattr(
            self, f"_default_{hook}"
        )
        return method(*args, **kwargs)

    def _default_default_sync_rules(self):
        return []

    def _ensure_default_sync_rules(self):
        existing = set(self.sync_rule_ids.mapped("business_object"))
        to_create = [
            {**vals, "backend_id": self.id}
            for vals in self._dispatch("default_sync_rules")
            if vals["business_object"] not in existing
        ]
        if to_create:
            self.env["integration.sync.rule"].create(to_create)

    # ------------------------------------------------------------------
    # Secrets
    # ------------------------------------------------------------------
    def _get_secret(self, field_name):
        """The credential's value; ``env:NAME`` reads the server environment."""
        self.ensure_one()
        value = self.sudo()[field_name] or ""
        if value.startswith("env:"):
            value = os.environ.get(value[4:], "")
        return value

    def _secrets(self):
        """Every secret value to mask: the credential fields and what the
        connector adds (``_<type>_secrets``, e.g. tokens it obtained)."""
        self.ensure_one()
        values = [self._get_secret(name) for name in SECRET_FIELDS]
        hook = self._hook_method(self.connector_type, "secrets")
        return values + (hook() if hook else [])

    # ------------------------------------------------------------------
    # Webhook intake (dispatched to the connector)
    # ------------------------------------------------------------------
    def _webhook_verify(self, headers, body):
        """True when the request is signed with this backend's webhook secret."""
        return self._dispatch("webhook_verify", headers, body)

    def _webhook_envelope(self, headers, body):
        """What intake needs to store a webhook (see the class docstring)."""
        return self._dispatch("webhook_envelope", headers, body)

    def _default_webhook_verify(self, headers, body):
        return verify_signature(
            self._get_secret("webhook_secret"), body, headers.get(SIGNATURE_HEADER)
        )

    def _default_webhook_envelope(self, headers, body):
        """What intake needs to store a webhook, read from headers only.

        Returns a dict with ``message_type``, ``idempotency_key`` and optionally
        ``external_id``, ``reference`` (the name people use, e.g. "#1042") and
        ``correlation_id``. The body is not parsed here:
        intake must store anything correctly signed, and answer fast.
        """
        self.ensure_one()
        return {
            "message_type": headers.get("X-Integration-Topic") or "unknown",
            "idempotency_key": headers.get("X-Integration-Idempotency-Key")
            or body_digest(body),
            "external_id": headers.get("X-Integration-External-Id")
            or headers.get("X-Integration-Idempotency-Key"),
            "correlation_id": headers.get("X-Correlation-Id"),
        }

    # ------------------------------------------------------------------
    # Sync rules API
    # ------------------------------------------------------------------
    def _sync_rule(self, business_object):
        self.ensure_one()
        return self.sync_rule_ids.filtered(
            lambda r: r.business_object == business_object
        )[:1]

    def _flow_allowed(self, business_object, direction):
        """May the flow of ``business_object`` run in ``direction`` (import or
        export)? A backend without a rule for the object lets it run."""
        rule = self._sync_rule(business_object)
        return not rule or rule._allows(direction)

    def _check_flow(self, business_object, direction):
        rule = self._sync_rule(business_object)
        if rule:
            rule._check_flow(direction)

    def _check_writable(self, business_object, side, values=None):
        """Values that ``side`` ('odoo' or 'external') may write.

        Raises ``SkipMessage`` when the other side is the system of record and
        none of the values may be written; returns the writable subset.
        """
        rule = self._sync_rule(business_object)
        if not rule:
            return dict(values or {})
        return rule._writable_values(side, values)

    # ------------------------------------------------------------------
    # Helpers for connectors
    # ------------------------------------------------------------------
    def _advisory_lock(self, namespace, key, busy_message=None, retry_after=None):
        """One transaction at a time per (backend, ``namespace``, ``key``):
        e.g. ``("shopify.order", order_id)``. Held until the transaction
        ends. When another transaction holds it, raises ConcurrencyConflict
        (retried soon) with ``busy_message``, or returns False without one.

        The lock id is a 64-bit hash of the names: no numbers to pick by
        hand, and two connectors cannot collide on purpose.
        """
        self.ensure_one()
        self.env.cr.execute(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
            (f"integration:{self.id}:{namespace}:{key}",),
        )
        if self.env.cr.fetchone()[0]:
            return True
        if busy_message is None:
            return False
        raise ConcurrencyConflict(busy_message, retry_after=retry_after)

    def _skip_if_stale(self, binding, updated_at, what):
        """The version guard: skip (``SkipMessage``) an update of ``what``
        whose ``updated_at`` is older than the version ``binding`` last
        applied, so that out-of-order deliveries cannot undo newer ones.
        Returns True when it is the very version applied (the caller decides
        whether its content differs), False when it is newer or unknown, and
        when a manager replays it (``integration_replay``: apply it again)."""
        applied = binding.external_updated_at if binding else None
        if not (applied and updated_at):
            return False
        if updated_at == applied and self.env.context.get("integration_replay"):
            return False
        if updated_at < applied:
            raise SkipMessage(
                _(
                    "%(what)s: this version (%(version)s) is older than the one "
                    "applied (%(applied)s); skipped.",
                    what=what,
                    version=updated_at,
                    applied=applied,
                )
            )
        return updated_at == applied

    # ------------------------------------------------------------------
    # Outbound calls
    # ------------------------------------------------------------------
    def _http_client(self, **overrides):
        """The connector's HTTP client for this backend (connectors add auth)."""
        self.ensure_one()
        options = {
            "timeout": self.timeout_seconds or 30,
            "rate_limiter": shared_rate_limiter(
                (self.env.cr.dbname, self.id), self.rate_limit
            )
            if self.rate_limit
            else None,
            "secrets": self._secrets(),
            "name": self.name,
        }
        options.update(overrides)
        return IntegrationHttpClient(self.base_url, **options)

    def _call(
        self,
        method,
        path,
        *,
        client=None,
        call_type="http.call",
        read_answer=None,
        **kwargs,
    ):
        """One outbound exchange, logged in ``integration.call.log`` (never as
        a message) under ``call_type``.

        Stops at once while the circuit is open; counts authentication
        failures; records health. Returns the ``requests`` response, or what
        ``read_answer(response)`` returns: it reads the answer before the call
        is logged, so that an IntegrationError it raises makes the call a
        failed one, and a credential it obtains (and keeps where ``_secrets``
        finds it) is already masked in the log.
        """
        self.ensure_one()
        if self.circuit_open:
            raise CircuitOpen(
                _(
                    "%(backend)s: outbound calls are stopped after repeated "
                    "authentication failures. Fix the credentials on the backend.",
                    backend=self.name,
                )
            )
        client = client or self._http_client()
        started = time.monotonic()
        response = None

        def log(error=None):
            self.env["integration.call.log"]._log_call(
                self,
                call_type,
                method,
                client.url(path),
                response=response,
                error=error,
                elapsed=time.monotonic() - started,
            )

        try:
            response = client.request(method, path, **kwargs)
            answer = read_answer(response) if read_answer else response
        except IntegrationError as exc:
            self._record_failure(exc, auth=isinstance(exc, AuthenticationFailed))
            log(exc)
            raise
        log()
        self._record_success()
        return answer

    def _record_success(self):
        now = fields.Datetime.now()
        for backend in self.sudo():
            if (
                backend.consecutive_failures
                or backend.auth_failures
                or (
                    not backend.last_success_at
                    or now - backend.last_success_at > timedelta(seconds=60)
                )
            ):
                # Throttled: a busy backend does not rewrite its row per call.
                # Best effort: when a concurrent job of the backend holds or
                # wrote the row, its health stands and this job goes on (the row
                # is every job's of the backend; a conflict on it would send
                # the whole job back to the queue).
                if row_lock_conflict(self.env.cr, "integration_backend", backend.id):
                    continue
                backend.write(
                    {
                        "last_success_at": now,
                        "consecutive_failures": 0,
                        "auth_failures": 0,
                    }
                )
                backend.flush_recordset()

    def _record_failure(self, error, auth=False):
        for backend in self.sudo():
            vals = {
                "last_error_at": fields.Datetime.now(),
                "last_error": redact_text(
                    f"{getattr(error, 'message', error)}\n"
                    f"{getattr(error, 'detail', '') or ''}",
                    backend._secrets(),
                ),
                "consecutive_failures": backend.consecutive_failures + 1,
            }
            if auth:
                vals["auth_failures"] = backend.auth_failures + 1
                if vals["auth_failures"] >= backend.circuit_threshold:
                    vals["circuit_open"] = True
            backend.write(vals)
            if vals.get("circuit_open") and not backend.circuit_open:
                backend.message_post(
                    body=_(
                        "Outbound calls stopped: the remote refused the credentials "
                        "%(count)s times in a row. Fix them, then press Resume.",
                        count=vals["auth_failures"],
                    )
                )

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------
    def _test_connection(self):
        """The connector calls its API; returns a short text on success."""
        return self._dispatch("test_connection")

    def _default_test_connection(self):
        if not self.base_url:
            raise UserError(_("Set the base URL first."))
        response = self._call("GET", "", call_type="connection.test", expected=None)
        return _(
            "HTTP %(status)s from %(url)s",
            status=response.status_code,
            url=self.base_url,
        )

    def action_test_connection(self):
        """Say whether the connection works. A failure is answered with a
        notification, not an error, so that the health it recorded stays."""
        self.ensure_one()
        try:
            result, kind, title = (
                self._test_connection(),
                "success",
                _("Connection works"),
            )
        except IntegrationError as exc:
            result, kind, title = exc.message, "danger", _("Connection test failed")
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": result,
                "type": kind,
                "sticky": kind == "danger",
            },
        }

    def action_resume_calls(self):
        self.write({"circuit_open": False, "auth_failures": 0})
        self.message_post(body=_("Outbound calls resumed by %s.", self.env.user.name))

    def _action_messages(self, filters, name, xmlid="action_integration_message"):
        """The message list with its filters as visible facets (the search
        view's ``filters``, and this backend), never a hidden domain."""
        action = self.env["ir.actions.act_window"]._for_xml_id(
            f"integration_core.{xmlid}"
        )
        context = {f"search_default_{f}": 1 for f in filters}
        if len(self) == 1:
            context["search_default_backend_id"] = self.id
        action["context"] = context
        action["name"] = name
        return action

    def action_view_call_logs(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "integration_core.action_integration_call_log"
        )
        action["domain"] = [("backend_id", "in", self.ids)]
        action["context"] = {}
        return action

    def action_view_messages(self):
        return self._action_messages([], _("Messages"))

    def action_view_done(self):
        return self._action_messages(["done_24h"], _("Done in 24h"))

    def action_view_exceptions(self):
        return self._action_messages(
            [], _("Exceptions"), xmlid="action_integration_exceptions"
        )

    def action_view_to_look(self):
        return self._action_messages(
            ["business"], _("To look at"), xmlid="action_integration_exceptions"
        )

    def action_view_queue(self):
        return self._action_messages(["state_open"], _("In queue"))

    def action_view_failed(self):
        return self._action_messages(["state_failed"], _("Failed"))

    def action_view_dead(self):
        return self._action_messages(["state_dead"], _("Dead"))

    # ------------------------------------------------------------------
    # Polling
    # ------------------------------------------------------------------
    def _poll(self, rule):
        """Run the connector's ``_<type>_poll_<business_object>(rule)``;
        returns how many messages it queued (none without the hook)."""
        self.ensure_one()
        handler = self._hook_method(self.connector_type, f"poll_{rule.business_object}")
        if handler is None:
            _logger.debug("%s has no poller for %s", self.name, rule.business_object)
            return 0
        return handler(rule) or 0

    # ------------------------------------------------------------------
    # Generic connector: contacts pushed by any system as signed JSON
    # ------------------------------------------------------------------
    def _generic_handle_contact_upsert(self, message, data):
        """``contact.upsert``: create or update a partner from ``{id, name,
        email, phone, street, city, zip, country}``; found by binding, then by
        email, so that a returning contact never becomes a second partner."""
        self.ensure_one()
        values = {
            key: data[key]
            for key in ("name", "email", "phone", "street", "city", "zip")
            if key in data
        }
        if data.get("country"):
            country = self.env["integration.value.map"]._lookup(
                self, "country", data["country"], default=True
            ) or self.env["res.country"].search(
                [("code", "=", data["country"].upper())], limit=1
            )
            values["country_id"] = country.id or False
        return self.env["integration.partner.resolver"]._resolve(
            self, data["id"], values, email=data.get("email"), strict=True
        )

    def _demo_generate_traffic(self):
        """Demo data: a few contact deliveries, processed at once, so that a
        new user sees done, duplicate and failed messages on the desk."""
        Message = self.env["integration.message"]
        deliveries = [
            {
                "id": "WEB-1001",
                "name": "Ada Lovelace",
                "email": "ada@example.com",
                "city": "London",
                "country": "GB",
            },
            {"id": "WEB-1002", "name": "Grace Hopper", "email": "grace@example.com"},
            {"id": "WEB-1002", "name": "Grace Hopper", "email": "grace@example.com"},
            {"id": "WEB-1003", "email": "no-name@example.com"},
            {"id": "WEB-1004", "name": "Alan Turing", "email": 42},
        ]
        for backend in self:
            messages = Message
            for data in deliveries:
                message, created = Message._intake(
                    backend,
                    "contact.upsert",
                    data["id"],
                    json.dumps(data).encode(),
                    external_id=data["id"],
                    enqueue=False,
                )
                if created:
                    messages |= message
            broken, _created = Message._intake(
                backend,
                "contact.upsert",
                "WEB-1005",
                b'{"id": "WEB-1005", "name": ',
                external_id="WEB-1005",
                enqueue=False,
            )
            for message in messages | broken:
                message._process()
