import json
import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.integration_core.exceptions import (
    BusinessRuleError,
    IntegrationError,
    PermanentError,
    SkipMessage,
    TransientError,
    ValidationFailed,
)
from odoo.addons.integration_core.models.integration_backend import (
    archive_backends_of_removed_connector,
)
from odoo.addons.integration_core.tools.signing import body_digest

from ..tools import easypost as ep

_logger = logging.getLogger(__name__)

TRACKER_UPDATED = "tracker.updated"
TRACKER_POLLED = "carrier.tracker.polled"
DELIVERY_FAILURE = "carrier.delivery.failure"
REFUND_REJECTED = "carrier.refund.rejected"
LABEL_PRICE = "carrier.label.price"

# A parcel on its way: shipped, not delivered, no problem reported yet
IN_TRANSIT_STATES = (
    "label_created",
    "in_transit",
    "out_for_delivery",
    "available_for_pickup",
    "unknown",
)
INVOICE_POLICIES = [
    ("manual", "Manual"),
    ("on_shipment", "When the labels are bought (on shipment)"),
    ("on_delivery", "On proof of delivery"),
]


class IntegrationBackend(models.Model):
    """The carrier connector: an EasyPost-compatible API (v2).

    Outbound: shipments, rates, labels and refunds for the ``delivery.carrier``
    provider ``integration_carrier``. Inbound: ``tracker.updated`` Events
    (webhook, ``X-Hmac-Signature``), and a poll backstop of trackers that
    stayed silent longer than *Poll trackers silent for*.
    """

    _inherit = "integration.backend"

    connector_type = fields.Selection(
        selection_add=[("carrier", "Carrier (EasyPost-compatible)")],
        ondelete={"carrier": archive_backends_of_removed_connector},
    )
    carrier_label_format = fields.Selection(
        ep.LABEL_FORMATS,
        "Label format",
        default="PDF",
        help="Format of the labels bought; a shipping method may choose its own.",
    )
    carrier_invoice_policy = fields.Selection(
        INVOICE_POLICIES,
        "Invoice deliveries",
        default="manual",
        help="When the customer invoice of a delivery is made: by a person, "
        "when its labels are bought, or when every parcel of it is delivered "
        "(for the delivered quantities only). A shipping method may override it.",
    )
    carrier_post_invoices = fields.Boolean(
        "Post the invoices", help="Post the invoices made by the policy (else drafts)."
    )
    carrier_price_tolerance = fields.Float(
        "Label price tolerance (%)",
        default=10.0,
        help="A label costing more than the quoted rate by more than this "
        "share is put on the desk.",
    )
    carrier_silence_hours = fields.Integer(
        "Poll trackers silent for (hours)",
        default=24,
        help="The poll backstop asks the carrier only for trackers without "
        "news for longer than this, and never after a final status.",
    )
    carrier_signal_delivery_days = fields.Integer(
        "Not delivered after (days)",
        default=3,
        help="The Overview counts deliveries shipped this long ago that the "
        "carrier has not delivered yet (0: all of them).",
    )
    carrier_shipment_count = fields.Integer(compute="_compute_carrier_shipment_count")

    def _compute_carrier_shipment_count(self):
        counts = {
            row["backend_id"][0]: row["backend_id_count"]
            for row in self.env["carrier.shipment"].read_group(
                [("backend_id", "in", self.ids)], ["backend_id"], ["backend_id"]
            )
        }
        for backend in self:
            backend.carrier_shipment_count = counts.get(backend.id, 0)

    # ------------------------------------------------------------------
    # Contract hooks
    # ------------------------------------------------------------------
    def _carrier_backend_defaults(self):
        return {"api_version": "v2", "rate_limit": 5.0}

    def _carrier_default_sync_rules(self):
        return [
            # The carrier owns tracking: webhooks first, a poll backstop.
            {
                "business_object": "tracking",
                "system_of_record": "external",
                "direction": "import",
                "mode": "scheduled",
                "interval_minutes": 60,
            },
            # Refund requests: their outcome is polled.
            {
                "business_object": "refund",
                "system_of_record": "external",
                "direction": "import",
                "mode": "scheduled",
                "interval_minutes": 60,
            },
        ]

    def _carrier_webhook_verify(self, headers, body):
        return ep.verify_signature(
            self._get_secret("webhook_secret"), body, headers.get(ep.SIGNATURE_HEADER)
        )

    def _carrier_webhook_envelope(self, headers, body):
        """Keyed by the Event's id: a duplicate delivery is one message."""
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        found = ep.envelope(data)
        return {
            "message_type": found.get("description") or "unknown",
            "idempotency_key": found.get("event_id") or body_digest(body),
            "external_id": found.get("event_id"),
            "reference": found.get("tracking_code"),
            "correlation_id": headers.get("X-Correlation-Id"),
        }

    def _carrier_test_connection(self):
        response = self._carrier_request("GET", "shipments", params={"page_size": 1})
        body = self._carrier_json(response)
        return _(
            "Connected to %(url)s (%(count)s recent shipment(s) listed).",
            url=self.base_url,
            count=len(body.get("shipments") or []),
        )

    def _carrier_business_signals(self):
        """Parcels of this carrier's labels, by what operations and finance do
        about them: shipped N days ago and still not delivered, failed or
        returned, delivered without a proof (no signature), delivered but
        their order still has something to invoice. Each is one count on
        the indexed ``integration_delivery_state`` (plus the partial indexes
        of :meth:`_business_signal_indexes`)."""
        days = max(0, self.carrier_signal_delivery_days)
        ours = [("carrier_shipment_ids.backend_id", "=", self.id)]
        delivered = ours + [("integration_delivery_state", "=", "delivered")]
        return [
            {
                "key": "not_delivered",
                "label": _("shipped over %(days)s d ago, not delivered yet", days=days)
                if days
                else _("shipped, not delivered yet"),
                "model": "stock.picking",
                "domain": ours
                + [
                    ("state", "=", "done"),
                    ("integration_delivery_state", "in", IN_TRANSIT_STATES),
                    (
                        "date_done",
                        "<=",
                        fields.Datetime.now() - timedelta(days=days),
                    ),
                ],
                "help": _("The carrier has no delivery for them yet: ask it."),
            },
            {
                "key": "failed",
                "label": _("deliveries failed or returned"),
                "model": "stock.picking",
                "domain": ours
                + [("integration_delivery_state", "in", tuple(ep.PROBLEM_STATES))],
                "help": _("Each one is also on the desk."),
            },
            {
                "key": "no_proof",
                "label": _("delivered without proof of delivery"),
                "model": "stock.picking",
                "domain": delivered + [("integration_signed_by", "=", False)],
                "help": _("The carrier reported no signature for them."),
            },
            {
                "key": "not_invoiced",
                "label": _("delivered, not invoiced"),
                "model": "stock.picking",
                "domain": delivered + [("sale_id.invoice_status", "=", "to invoice")],
                "help": _(
                    "Delivered to the customer, but their sale order still has "
                    "quantities to invoice."
                ),
            },
        ]

    @api.model
    def _business_signal_indexes(self):
        return super()._business_signal_indexes() + [
            (
                "stock_picking_carrier_no_proof_idx",
                "stock_picking",
                ["id"],
                "integration_delivery_state = 'delivered' "
                "AND integration_signed_by IS NULL",
            ),
            (
                "sale_order_to_invoice_signal_idx",
                "sale_order",
                ["company_id"],
                "invoice_status = 'to invoice'",
            ),
        ]

    # ------------------------------------------------------------------
    # The API
    # ------------------------------------------------------------------
    def _carrier_client(self, retries=True):
        """Basic auth with the API key as user name, as EasyPost wants it."""
        options = {"max_retries": 0} if not retries else {}
        client = self._http_client(**options)
        client.session.auth = (self._get_secret("api_key"), "")
        return client

    def _carrier_request(self, method, path, *, retries=True, **kwargs):
        return self._call(
            method,
            path,
            client=self._carrier_client(retries),
            call_type=f"carrier.{path.split('/')[0]}",
            **kwargs,
        )

    def _carrier_json(self, response):
        try:
            return response.json()
        except ValueError as exc:
            raise PermanentError(
                _("%s answered something that is not JSON.", self.name),
                response.text[:2000],
            ) from exc

    def _carrier_refused(self, response, what):
        """A 4xx answer of the carrier as a business error a clerk reads."""
        try:
            text = ep.error_text(response.json())
        except ValueError:
            text = ""
        return BusinessRuleError(
            _(
                "%(backend)s refused %(what)s: %(reason)s",
                backend=self.name,
                what=what,
                reason=text or f"HTTP {response.status_code}",
            ),
            response.text[:2000],
        )

    def _carrier_find_shipment(self, reference):
        """The shipment of ``reference`` (EasyPost retrieves by id or
        reference), or None."""
        response = self._carrier_request(
            "GET", f"shipments/{reference}", expected=(200, 404)
        )
        return None if response.status_code == 404 else self._carrier_json(response)

    def _carrier_create_shipment(self, spec, what):
        response = self._carrier_request(
            "POST", "shipments", json={"shipment": spec}, expected=(200, 201, 422)
        )
        if response.status_code == 422:
            raise self._carrier_refused(response, what)
        return self._carrier_json(response)

    def _carrier_buy(self, shipment, rate, what):
        """Buy ``rate``: never retried blindly. After a timeout or a 5xx the
        shipment is read again: bought means bought (the carrier made the
        label), else the error stands. "Postage already exists" is the same
        label found again."""
        try:
            response = self._carrier_request(
                "POST",
                f"shipments/{shipment['id']}/buy",
                retries=False,
                json={"rate": {"id": rate["id"]}},
                expected=(200, 201, 422),
            )
        except TransientError:
            again = self._carrier_find_shipment(shipment["id"])
            if ep.purchased(again):
                _logger.info("%s: %s was bought despite the error", self.name, what)
                return again
            raise
        if response.status_code == 422:
            again = self._carrier_find_shipment(shipment["id"])
            if ep.purchased(again):
                return again
            raise self._carrier_refused(response, what)
        return self._carrier_json(response)

    def _carrier_label_file(self, shipment, file_format):
        """The label's bytes in ``file_format``: converted first if needed
        (``GET shipments/<id>/label``); label files are public URLs, fetched
        without the API key."""
        url = ep.label_url(shipment.get("postage_label"), file_format)
        if not url:
            response = self._carrier_request(
                "GET",
                f"shipments/{shipment['id']}/label",
                params={"file_format": file_format},
            )
            url = ep.label_url(
                self._carrier_json(response).get("postage_label"), file_format
            )
        if not url:
            raise PermanentError(
                _(
                    "%(backend)s gave no %(format)s label for %(code)s.",
                    backend=self.name,
                    format=file_format,
                    code=shipment.get("tracking_code"),
                )
            )
        response = self._call("GET", url, call_type="carrier.label_file")
        return response.content

    # ------------------------------------------------------------------
    # Tracking: webhook, poll, apply
    # ------------------------------------------------------------------
    def _carrier_handle_tracker_updated(self, message, data):
        try:
            values = ep.event_values(data)
        except ep.PayloadError as exc:
            raise ValidationFailed(
                _(
                    "%(backend)s: tracking event %(event)s cannot be read: %(error)s",
                    backend=self.name,
                    event=message.external_id or "",
                    error=exc,
                )
            ) from exc
        return self._carrier_apply_tracker(values)

    def _carrier_handle_tracker_polled(self, message, data):
        try:
            values = ep.tracker_values(data)
        except ep.PayloadError as exc:
            raise ValidationFailed(
                _(
                    "%(backend)s: polled tracker: %(error)s",
                    backend=self.name,
                    error=exc,
                )
            ) from exc
        return self._carrier_apply_tracker(values)

    def _carrier_apply_tracker(self, values):
        Shipment = self.env["carrier.shipment"]
        shipment = Shipment.search(
            [
                ("backend_id", "=", self.id),
                ("tracking_code", "=", values["tracking_code"]),
            ],
            order="id desc",
            limit=1,
        )
        if not shipment:
            raise SkipMessage(
                _(
                    "%(backend)s: no label of ours has tracking code %(code)s.",
                    backend=self.name,
                    code=values["tracking_code"],
                )
            )
        # one transaction at a time per parcel: the version guard needs it
        self._advisory_lock(
            "carrier.tracking",
            shipment.id,
            busy_message=_(
                "Another event of parcel %s is being applied.", shipment.name
            ),
        )
        shipment._apply_tracking(values)
        return {"records": shipment.picking_id or shipment}

    def _carrier_poll_tracking(self, rule):
        """The backstop: ask for trackers silent longer than the threshold,
        never for one in a final status; each answer is a message."""
        self.ensure_one()
        silent_since = fields.Datetime.now() - timedelta(
            hours=max(self.carrier_silence_hours, 0)
        )
        shipments = self.env["carrier.shipment"].search(
            [
                ("backend_id", "=", self.id),
                ("state", "=", "bought"),
                ("tracker_ext_id", "!=", False),
                # an unused return label would be asked for forever
                ("is_return", "=", False),
                ("final", "=", False),
                ("last_news_at", "<", silent_since),
            ],
            limit=500,
        )
        Message = self.env["integration.message"]
        queued = 0
        for shipment in shipments:
            response = self._carrier_request(
                "GET", f"trackers/{shipment.tracker_ext_id}", expected=(200, 404)
            )
            shipment.last_polled_at = fields.Datetime.now()
            if response.status_code == 404:
                continue
            body = response.content
            tracker = self._carrier_json(response)
            _message, created = Message._intake(
                self,
                TRACKER_POLLED,
                f"{tracker.get('id')}:{tracker.get('updated_at')}",
                body,
                external_id=tracker.get("id"),
                reference=shipment.tracking_code,
            )
            queued += int(created)
        return queued

    def _carrier_poll_refund(self, rule):
        """Refunds asked and not answered yet: read their outcome."""
        self.ensure_one()
        shipments = self.env["carrier.shipment"].search(
            [("backend_id", "=", self.id), ("refund_status", "=", "submitted")],
            limit=500,
        )
        for shipment in shipments:
            remote = self._carrier_find_shipment(shipment.shipment_ext_id)
            if remote:
                shipment._set_refund_status(remote.get("refund_status"))
        return 0

    # ------------------------------------------------------------------
    # Desk items (re-check hooks of the generic Retry)
    # ------------------------------------------------------------------
    def _carrier_shipment_of_item(self, message):
        data = json.loads(message._payload_bytes() or b"{}")
        return self.env["carrier.shipment"].browse(data.get("shipment_id")).exists()

    def _carrier_recheck_delivery_failure(self, message, record):
        shipment = self._carrier_shipment_of_item(message)
        if not shipment or shipment.delivery_state not in ep.PROBLEM_STATES:
            return False
        return shipment._problem_text()

    def _carrier_recheck_refund_rejected(self, message, record):
        shipment = self._carrier_shipment_of_item(message)
        if not shipment or shipment.refund_status != "rejected":
            return False
        if shipment.shipment_ext_id:
            remote = self._carrier_find_shipment(shipment.shipment_ext_id)
            if remote and remote.get("refund_status") != "rejected":
                shipment._set_refund_status(remote.get("refund_status"))
                return False
        return shipment._refund_problem_text()

    def _carrier_recheck_label_price(self, message, record):
        """Solved once the price difference was accepted (item ignored) or the
        quote updated to cover it."""
        shipment = self._carrier_shipment_of_item(message)
        return shipment._price_problem_text() if shipment else False

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------
    def action_carrier_register_webhook(self):
        """Subscribe this Odoo's webhook URL at the carrier (once)."""
        self.ensure_one()
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        url = f"{base.rstrip('/')}/integration/webhook/{self.id}"
        try:
            listed = self._carrier_json(self._carrier_request("GET", "webhooks"))
            if not any(w.get("url") == url for w in listed.get("webhooks") or []):
                self._carrier_request(
                    "POST",
                    "webhooks",
                    json={
                        "webhook": {
                            "url": url,
                            "webhook_secret": self._get_secret("webhook_secret"),
                        }
                    },
                )
        except IntegrationError as exc:
            raise UserError(exc.message) from exc
        self.message_post(body=_("Webhook registered at the carrier: %s", url))
        return True

    def action_view_carrier_shipments(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "connector_carrier.action_carrier_shipment"
        )
        action["domain"] = [("backend_id", "in", self.ids)]
        action["context"] = {}
        return action
