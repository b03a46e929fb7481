import json
import logging
import time

from odoo import SUPERUSER_ID, http
from odoo.http import request

_logger = logging.getLogger(__name__)
_last_warning = {}
WARNING_INTERVAL = 60  # seconds between two bad-signature warnings per backend


def _json(http_status, **body):
    return request.make_response(
        json.dumps(body),
        headers=[("Content-Type", "application/json")],
        status=http_status,
    )


def _warn_rate_limited(backend_id, remote):
    """One warning per backend and minute: a flood must not flood the log."""
    now = time.monotonic()
    if now - _last_warning.get(backend_id, 0) >= WARNING_INTERVAL:
        _last_warning[backend_id] = now
        _logger.warning(
            "Webhook for backend %s from %s rejected: missing or wrong signature",
            backend_id,
            remote,
        )


class IntegrationWebhookController(http.Controller):
    """``POST /integration/webhook/<backend_id>``: verify, store, enqueue, 2xx.

    The work happens in a job. A correctly signed request is always stored,
    even when its body is not valid JSON (processing then fails it and says
    why); a bad signature stores nothing.
    """

    @http.route(
        "/integration/ping",
        type="http",
        auth="none",
        methods=["GET"],
        save_session=False,
    )
    def ping(self):
        """Liveness of Odoo *and* its database, for load balancers; also the
        baseline route of the intake benchmark."""
        request.env.cr.execute("SELECT 1")
        return _json(200, status="ok")

    @http.route(
        "/integration/webhook/<int:backend_id>",
        type="http",
        auth="none",
        methods=["POST"],
        csrf=False,
        save_session=False,
    )
    def receive(self, backend_id, **_kwargs):
        # Intake runs as the superuser: webhooks carry no Odoo session, the
        # signature is the authentication.
        env = request.env(user=SUPERUSER_ID)
        backend = env["integration.backend"].browse(backend_id).exists()
        if not backend or not backend.active:
            return _json(404, error="unknown backend")
        limit = max(backend.max_payload_kb, 1) * 1024
        httprequest = request.httprequest
        if (httprequest.content_length or 0) > limit:
            return _json(413, error=f"body larger than {limit} bytes")
        # Without a Content-Length (chunked) the body is read whole, within
        # Odoo's own request size cap, then measured.
        body = httprequest.get_data()
        if len(body) > limit:
            return _json(413, error=f"body larger than {limit} bytes")
        if not backend._webhook_verify(httprequest.headers, body):
            _warn_rate_limited(backend_id, httprequest.remote_addr)
            return _json(401, error="invalid signature")
        message, created = env["integration.message"]._intake_webhook(
            backend, httprequest.headers, body
        )
        return _json(
            200,
            message_id=message.id,
            duplicate=not created,
            correlation_id=message.correlation_id,
        )
