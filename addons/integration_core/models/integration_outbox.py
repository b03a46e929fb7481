import logging

from odoo import api, fields, models

_logger = logging.getLogger(__name__)

BUFFER_KEY = "integration.outbox"


class IntegrationOutbox(models.Model):
    """Exports waiting to leave: "this record changed for this flow".

    Connectors record changes with one call,
    ``env["integration.outbox"]._record(business_object, records, ...)``; the
    core coalesces them and sends them as outbound messages by the sync rule's
    mode (``integration.sync.rule._outbox_flush``).

    No unique key on purpose: two stock operations never wait for, or fail
    on, each other here (every row is a plain INSERT); repeated changes of a
    record are coalesced when they are sent. ``_log_access`` is off: the
    rows are written by SQL at commit and live minutes.
    """

    _name = "integration.outbox"
    _description = "Integration Outbox (exports waiting to be sent)"
    _log_access = False
    _order = "id"

    backend_id = fields.Many2one(
        "integration.backend", required=True, ondelete="cascade", readonly=True
    )
    business_object = fields.Selection(
        selection=lambda self: (
            self.env["integration.sync.rule"]
            ._fields["business_object"]
            ._description_selection(self.env)
        ),
        required=True,
        readonly=True,
    )
    res_model = fields.Char("Model", required=True, readonly=True)
    res_id = fields.Many2oneReference(
        "Record id", model_field="res_model", required=True, readonly=True
    )
    dedupe_key = fields.Char(
        readonly=True,
        help="Optional: what changed (e.g. 'done'); a change sent alone with a "
        "dedupe key is sent once, a repeat is counted as a duplicate.",
    )
    create_date = fields.Datetime(
        "Recorded at", readonly=True, default=fields.Datetime.now
    )

    def init(self):
        # the flush reads one rule's rows in recording order
        self.env.cr.execute(
            """
            CREATE INDEX IF NOT EXISTS integration_outbox_flow_idx
                ON integration_outbox (backend_id, business_object, id)
            """
        )

    # ------------------------------------------------------------------
    # Recording (connectors call this)
    # ------------------------------------------------------------------
    @api.model
    def _record(
        self,
        business_object,
        records,
        backends=None,
        connector_type=None,
        dedupe_key=None,
    ):
        """Record that ``records`` changed for the flow ``business_object``.

        For ``backends`` (a recordset of ``integration.backend``), else for
        every active backend of ``connector_type`` (else of any type). Nothing
        is written now: changes are buffered per transaction and written by
        one INSERT when it commits (and at every flushing savepoint, which
        runs precommit callbacks too), so that a picking of a hundred moves
        makes one statement, not hundreds. Only backends whose sync rule for
        ``business_object`` is active and exports get rows.
        """
        if not records:
            return
        if backends is not None:
            backend_ids = [b.id for b in backends]
            if not backend_ids:
                return
        else:
            backend_ids = [None]
        data = self.env.cr.precommit.data
        pending = data.get(BUFFER_KEY)
        if pending is None:
            # dict: coalesced within the transaction, in first-seen order
            pending = data[BUFFER_KEY] = {}
            self.env.cr.precommit.add(self.sudo()._write_pending)
        for backend_id in backend_ids:
            for res_id in records.ids:
                pending.setdefault(
                    (
                        business_object,
                        records._name,
                        res_id,
                        dedupe_key or None,
                        backend_id,
                        connector_type or None,
                    ),
                    None,
                )

    def _write_pending(self):
        """Write this transaction's buffered changes (a precommit callback;
        also called by a flush, so that it sees what its own transaction
        recorded). One INSERT joins the sync rules: a flow that is off, an
        archived backend or a backend without a rule for the object records
        nothing. Then the realtime and micro-batch rules that got rows get
        their flush job."""
        pending = self.env.cr.precommit.data.pop(BUFFER_KEY, None)
        if not pending:
            return
        self.env["integration.backend"].flush_model(["active", "connector_type"])
        self.env["integration.sync.rule"].flush_model(
            ["backend_id", "business_object", "active", "direction"]
        )
        columns = list(zip(*pending, strict=True))
        # recorded "now", not when the transaction began: the outbox cron
        # treats old rows as lost by their job (statement_timestamp below)
        # Exports need a rule: unlike backend._flow_allowed (no rule lets a
        # flow run, which suits messages that already exist), the outbox
        # records only for a rule that says "export" - it also needs the
        # rule's mode to know when to send.
        self.env.cr.execute(
            """
            WITH changes AS (
                SELECT * FROM unnest(%s::varchar[], %s::varchar[], %s::int[],
                                     %s::varchar[], %s::int[], %s::varchar[])
                       WITH ORDINALITY
                       AS c(business_object, res_model, res_id, dedupe_key,
                            backend_id, connector_type, seq)
            ), inserted AS (
                INSERT INTO integration_outbox
                       (backend_id, business_object, res_model, res_id,
                        dedupe_key, create_date)
                SELECT r.backend_id, c.business_object, c.res_model, c.res_id,
                       c.dedupe_key, statement_timestamp() at time zone 'UTC'
                  FROM changes c
                  JOIN integration_sync_rule r
                    ON r.business_object = c.business_object AND r.active
                   AND r.direction IN ('export', 'both')
                   AND (c.backend_id IS NULL OR r.backend_id = c.backend_id)
                  JOIN integration_backend b ON b.id = r.backend_id AND b.active
                   AND (c.connector_type IS NULL
                        OR b.connector_type = c.connector_type)
                 ORDER BY c.seq, r.backend_id
             RETURNING backend_id, business_object
            )
            SELECT r.id FROM integration_sync_rule r
             WHERE r.mode IN ('realtime', 'micro_batch')
               AND (r.backend_id, r.business_object) IN (
                   SELECT DISTINCT backend_id, business_object FROM inserted)
             ORDER BY r.id
            """,
            [list(column) for column in columns],
        )
        rule_ids = [row[0] for row in self.env.cr.fetchall()]
        if rule_ids:
            self.env["integration.sync.rule"].browse(rule_ids)._outbox_schedule()
            # ORM writes made in a precommit callback are not flushed by the
            # commit that runs it (the flush came first): flush the jobs now.
            self.env.flush_all()
