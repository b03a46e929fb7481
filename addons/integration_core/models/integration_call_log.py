import logging
from datetime import timedelta

from odoo import api, fields, models, tools

from ..exceptions import ERROR_CATEGORIES
from ..tools.correlation import (
    current_correlation_id,
    current_scope,
    new_correlation_id,
)
from ..tools.redaction import redact_text

_logger = logging.getLogger(__name__)

RESPONSE_LIMIT = 2000


def _summary(text, secrets):
    """The start of a body, masked: masked a little beyond the cut, so that a
    credential across the cut is not kept in part."""
    return (redact_text((text or "")[: RESPONSE_LIMIT + 512], secrets) or "")[
        :RESPONSE_LIMIT
    ]


class IntegrationCallLog(models.Model):
    """One outbound HTTP call: what was asked, what came back, how long it
    took. Not a message: nothing is processed, retried or put on the desk
    from here, and the rows have a retention of their own per backend
    (``call_log_retention_days``).

    Written once, after the call returned or failed (``_log_call``); read-only
    for everyone in the interface.
    """

    _name = "integration.call.log"
    _description = "Integration Outbound Call"
    _order = "id desc"
    _rec_name = "url"

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
    call_type = fields.Char(
        readonly=True, index=True, help="What the call was for, e.g. shopify.graphql."
    )
    method = fields.Char(readonly=True)
    url = fields.Char("URL", readonly=True)
    request_summary = fields.Text(readonly=True)
    http_status = fields.Integer("HTTP status", readonly=True, group_operator=False)
    duration_ms = fields.Integer("Duration (ms)", readonly=True)
    state = fields.Selection(
        [("ok", "OK"), ("error", "Error")], required=True, readonly=True, index=True
    )
    error_category = fields.Selection(ERROR_CATEGORIES, readonly=True)
    error_message = fields.Char("Problem", readonly=True)
    response_summary = fields.Text(readonly=True)
    correlation_id = fields.Char(readonly=True, index=True)
    message_id = fields.Many2one(
        "integration.message",
        "Made for message",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
        help="The message whose processing made this call.",
    )

    def init(self):
        # the retention cron deletes per backend by age
        tools.create_index(
            self.env.cr,
            "integration_call_log_backend_create_date_index",
            self._table,
            ["backend_id", "create_date"],
        )

    # ------------------------------------------------------------------
    # API
    # ------------------------------------------------------------------
    @api.model
    def _log_call(
        self, backend, call_type, method, url, response=None, error=None, elapsed=None
    ):
        """Log one call (one INSERT), credentials masked with the backend's
        secrets. ``error`` (an ``IntegrationError``) makes it an error; the
        ``response``, when there is one, gives status and body. The message is
        the one being processed (``tools.correlation.processing_scope``, set by
        ``integration.message._process``), or ``integration_message_id`` in
        the context for a caller outside processing."""
        backend.ensure_one()
        secrets = backend._secrets()
        scope = current_scope()
        url = redact_text(url or "", secrets)
        vals = {
            "backend_id": backend.id,
            "company_id": backend.company_id.id,
            "call_type": call_type,
            "method": method,
            "url": url[:2000],
            "request_summary": f"{method} {url}",
            "duration_ms": int((elapsed or 0) * 1000),
            "state": "error" if error is not None else "ok",
            "correlation_id": self.env.context.get("integration_correlation_id")
            or current_correlation_id()
            or new_correlation_id(),
            "message_id": self.env.context.get("integration_message_id")
            or (scope.message_id if scope else False),
        }
        if response is not None:
            vals["http_status"] = response.status_code
            vals["response_summary"] = _summary(response.text, secrets)
        if error is not None:
            vals.update(
                http_status=vals.get("http_status")
                or getattr(error, "http_status", None)
                or 0,
                error_category=error.category,
                error_message=(error.message or "")[:500],
            )
            if error.detail or response is None:
                vals["response_summary"] = _summary(error.detail, secrets)
        log = self.sudo().create(vals)
        if scope is not None:
            scope.call_logs.append(dict(vals))
        return log

    @api.model
    def _log_again(self, vals_list):
        """Log again the calls of a handler whose savepoint was rolled back:
        the calls were made, and the message's form must show them."""
        if vals_list:
            self.sudo().create(vals_list)

    # ------------------------------------------------------------------
    # Retention
    # ------------------------------------------------------------------
    @api.model
    def _cron_purge(self, batch=10000, commit_batches=False):
        """Delete call logs older than each backend's retention (0 keeps
        them forever). Our own table: plain SQL, in batches, which the cron
        commits one by one (``commit_batches``: no long transaction)."""
        self.flush_model()
        deleted = 0
        backends = (
            self.env["integration.backend"]
            .sudo()
            .with_context(active_test=False)
            .search([("call_log_retention_days", ">", 0)])
        )
        for backend in backends:
            threshold = fields.Datetime.now() - timedelta(
                days=backend.call_log_retention_days
            )
            while True:
                self.env.cr.execute(
                    """
                    DELETE FROM integration_call_log WHERE id IN (
                        SELECT id FROM integration_call_log
                         WHERE backend_id = %s AND create_date < %s
                         LIMIT %s)
                    """,
                    (backend.id, threshold, batch),
                )
                count = self.env.cr.rowcount
                deleted += count
                if commit_batches:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
                if count < batch:
                    break
        if deleted:
            self.invalidate_model()
            _logger.info("Purged %s integration call log(s)", deleted)
        return deleted
