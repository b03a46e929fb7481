import json
import logging
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.integration_core.exceptions import (
    IntegrationError,
    PermanentError,
    ValidationFailed,
)
from odoo.addons.integration_core.models.integration_backend import (
    archive_backends_of_removed_connector,
)
from odoo.addons.integration_core.tools.correlation import (
    correlation_context,
    new_correlation_id,
)
from odoo.addons.integration_core.tools.signing import body_digest

from ..contract import ContractError, adapter_for, envelope_of, parse_event
from ..contract.adapter import _ADAPTERS
from ..contract.schemas import (
    MESSAGE_TYPE_OF_EVENT,
    MESSAGE_TYPE_SCHEMAS,
    schema_text,
)

_logger = logging.getLogger(__name__)

# answers of the WMS that the adapter reads (errors included): never retried
READ_STATUSES = (200, 201, 202, 204, 400, 404, 409, 422)


def _adapter_selection(_self):
    return [(code, cls.label) for code, cls in sorted(_ADAPTERS.items())]


class IntegrationBackend(models.Model):
    """The WMS connector: the contract of ``CONTRACT.md`` (or a 3PL's API
    through an adapter). Deliveries of the mapped warehouses are released
    through the outbox (``dispatch``), receipts announced
    (``receipt_confirmation``); confirmations come as signed webhooks and,
    as a backstop, from the events poll."""

    _inherit = "integration.backend"

    connector_type = fields.Selection(
        selection_add=[("wms", "Warehouse system (WMS / 3PL)")],
        ondelete={"wms": archive_backends_of_removed_connector},
    )
    wms_adapter = fields.Selection(
        _adapter_selection,
        "WMS API",
        default="contract",
        help="How Odoo speaks to this warehouse: the WMS contract itself, or "
        "the adapter of a 3PL's own API.",
    )
    wms_warehouse_ids = fields.One2many(
        "stock.warehouse", "wms_backend_id", "Warehouses run by this WMS"
    )
    wms_release_policy = fields.Selection(
        [
            ("full", "When fully reserved"),
            ("partial", "What is reserved (the rest kept back)"),
        ],
        "Release deliveries",
        default="full",
        required=True,
    )
    wms_remainder_policy = fields.Selection(
        [("backorder", "Keep as a backorder"), ("cancel", "Cancel it")],
        "What the WMS did not ship",
        default="backorder",
        required=True,
        help="When the WMS's last shipment of an order leaves quantities "
        "unshipped (or its last receipt leaves quantities not received).",
    )
    wms_accepts_changes = fields.Boolean(
        "WMS takes changes",
        default=True,
        help="A change of a released delivery (quantity, address, carrier) is "
        "sent as a new revision. Off: such a change goes on the desk instead.",
    )
    wms_reject_location_id = fields.Many2one(
        "stock.location",
        "Rejected goods location",
        help="Received quantities the WMS rejected go here; without it a "
        "rejection is an exception for a person.",
    )
    wms_stock_tolerance = fields.Float(
        "Stock tolerance",
        digits="Product Unit of Measure",
        default=0.0,
        help="Differences between the WMS's and Odoo's stock up to this "
        "quantity (per product and lot) are not differences.",
    )
    wms_page_size = fields.Integer(
        "Lines / events per page", default=500, help="Snapshot pulls and the poll."
    )
    wms_signal_release_hours = fields.Integer(
        "Not released after (hours)",
        default=4,
        help="The Overview counts delivery orders confirmed this long ago and "
        "still not released to the warehouse (0: all of them).",
    )
    wms_signal_ship_hours = fields.Integer(
        "Not shipped after (hours)",
        default=24,
        help="The Overview counts deliveries released this long ago and not "
        "shipped yet by the warehouse (0: all of them).",
    )

    # ------------------------------------------------------------------
    # Configuration hooks
    # ------------------------------------------------------------------
    def _wms_backend_defaults(self):
        return {"api_version": "1", "rate_limit": 10.0}

    def _wms_default_sync_rules(self):
        return [
            {
                "business_object": "dispatch",
                "system_of_record": "odoo",
                "direction": "both",
                "mode": "realtime",
                "batch_size": 1,
            },
            {
                "business_object": "shipment_confirmation",
                "system_of_record": "external",
                "direction": "import",
                "mode": "scheduled",
                "interval_minutes": 15,
            },
            {
                "business_object": "receipt_confirmation",
                "system_of_record": "external",
                "direction": "both",
                "mode": "realtime",
                "batch_size": 1,
            },
            {
                "business_object": "stock_level",
                "system_of_record": "external",
                "direction": "import",
                "mode": "scheduled",
                "interval_minutes": 1440,
            },
        ]

    def _wms_business_signals(self):
        """Deliveries that wait too long on either side of the release: not
        released N hours after they were confirmed (``date``, the delivery's
        creation, which confirming the sale order makes), and released N
        hours ago but not shipped by the WMS. Both counts use the partial
        index ``stock_picking_wms_signal_idx`` (open deliveries per WMS)."""
        now = fields.Datetime.now()
        base = [
            ("wms_backend_id", "=", self.id),
            ("picking_type_id.code", "=", "outgoing"),
            ("state", "not in", ("draft", "done", "cancel")),
        ]
        release_hours = max(0, self.wms_signal_release_hours)
        ship_hours = max(0, self.wms_signal_ship_hours)
        not_released = base + [
            "|",
            ("wms_state", "=", False),
            ("wms_state", "in", ("waiting", "to_release", "held")),
            ("date", "<=", now - timedelta(hours=release_hours)),
        ]
        not_shipped = base + [
            ("wms_state", "in", ("released", "acknowledged")),
            ("wms_released_at", "<=", now - timedelta(hours=ship_hours)),
        ]
        return [
            {
                "key": "not_released",
                "label": _(
                    "delivery orders confirmed over %(hours)s h ago, not released "
                    "to the warehouse",
                    hours=release_hours,
                )
                if release_hours
                else _("delivery orders not yet released to the warehouse"),
                "model": "stock.picking",
                "domain": not_released,
                "help": _(
                    "Waiting for stock (reserve it) or held because the "
                    "reservation was lost."
                ),
            },
            {
                "key": "not_shipped",
                "label": _(
                    "released over %(hours)s h ago, not shipped by the warehouse",
                    hours=ship_hours,
                )
                if ship_hours
                else _("released, not shipped yet"),
                "model": "stock.picking",
                "domain": not_shipped,
                "help": _("Ask the warehouse about them."),
            },
        ]

    @api.model
    def _business_signal_indexes(self):
        return super()._business_signal_indexes() + [
            (
                "stock_picking_wms_signal_idx",
                "stock_picking",
                ["wms_backend_id", "date"],
                "wms_backend_id IS NOT NULL "
                "AND state NOT IN ('draft', 'done', 'cancel')",
            )
        ]

    @staticmethod
    def _wms_json(data):
        return json.dumps(data, separators=(",", ":"), default=str).encode()

    # ------------------------------------------------------------------
    # Webhooks: the event id inside the signed body is the key
    # ------------------------------------------------------------------
    def _wms_webhook_envelope(self, headers, body):
        envelope = envelope_of(body)
        event_type = envelope["event_type"] or headers.get("X-Integration-Event")
        message_type = envelope["message_type"] or (
            f"wms.{event_type}" if event_type else "wms.unknown"
        )
        key = envelope["event_id"] or body_digest(body)
        return {
            "message_type": message_type,
            "idempotency_key": key,
            "external_id": envelope["event_id"] or key[:16],
            "reference": envelope.get("reference"),
            "correlation_id": headers.get("X-Correlation-Id"),
        }

    # ------------------------------------------------------------------
    # Calls to the WMS, through the adapter
    # ------------------------------------------------------------------
    def _wms_adapter_instance(self):
        return adapter_for(self.wms_adapter)

    def _wms_client(self):
        token = self._get_secret("api_key")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return self._http_client(headers=headers)

    def _wms_request(self, request, call_type="wms.api"):
        """``(status, answer)`` of one call described by the adapter.
        Transport errors, 401, 429 and 5xx raise the core's exceptions."""
        self.ensure_one()
        if not self.base_url:
            raise PermanentError(_("%s: set the WMS's base URL first.", self.name))
        kwargs = {"expected": READ_STATUSES}
        if request.json is not None:
            kwargs["json"] = request.json
        if request.params:
            kwargs["params"] = request.params

        def read(response):
            try:
                answer = response.json() if response.content else {}
            except ValueError as exc:
                raise PermanentError(
                    _(
                        "%(wms)s answered HTTP %(status)s with a body that is not "
                        "JSON.",
                        wms=self.name,
                        status=response.status_code,
                    ),
                    response.text[:2000],
                ) from exc
            return response.status_code, answer

        return self._call(
            request.method,
            request.path,
            client=self._wms_client(),
            call_type=call_type,
            read_answer=read,
            **kwargs,
        )

    def _wms_test_connection(self):
        status, answer = self._wms_request(
            self._wms_adapter_instance().info(), "connection.test"
        )
        if status != 200:
            raise PermanentError(
                _("%(wms)s answered HTTP %(status)s.", wms=self.name, status=status)
            )
        return _(
            "%(name)s (warehouse %(code)s, contract v%(version)s); Odoo warehouses: "
            "%(warehouses)s",
            name=answer.get("name") or "-",
            code=answer.get("warehouse") or "-",
            version=answer.get("contract_version") or "?",
            warehouses=", ".join(self.wms_warehouse_ids.mapped("name"))
            or _("none mapped yet"),
        )

    # ------------------------------------------------------------------
    # Inbound events
    # ------------------------------------------------------------------
    def _wms_event(self, message, data, expected_code):
        """The event of a message as the contract's shape (via the adapter),
        checked to be of the message's type. A body the adapter keeps as it
        is was checked against the type's schema by the core already; one it
        translated is checked here."""
        event = self._wms_adapter_instance().inbound_event(data)
        if event is data:
            code = MESSAGE_TYPE_OF_EVENT.get(
                event.get("event_type") if isinstance(event, dict) else None
            )
        else:
            try:
                code, event = parse_event(event)
            except ContractError as exc:
                raise ValidationFailed(exc.message, exc.problems) from exc
        if code != expected_code:
            raise ValidationFailed(
                _(
                    "%(wms)s: event %(event)s is a %(code)s, not a %(expected)s.",
                    wms=self.name,
                    event=message.external_id,
                    code=code,
                    expected=expected_code,
                )
            )
        return event

    def _wms_handle_shipment(self, message, data):
        return self.env["wms.shipment.importer"]._apply(
            self, message, self._wms_event(message, data, "wms.shipment")
        )

    def _wms_handle_receipt_confirmed(self, message, data):
        return self.env["wms.receipt.importer"]._apply(
            self, message, self._wms_event(message, data, "wms.receipt_confirmed")
        )

    def _wms_handle_order_status(self, message, data):
        return self.env["wms.shipment.importer"]._apply_status(
            self, message, self._wms_event(message, data, "wms.order_status")
        )

    def _wms_handle_snapshot(self, message, data):
        return self.env["wms.stock.reconciler"]._reconcile(
            self, message, self._wms_event(message, data, "wms.snapshot")
        )

    # ------------------------------------------------------------------
    # Outbound: the outbox's exports, and the cancel request
    # ------------------------------------------------------------------
    def _wms_export_dispatch(self, message, data):
        return self.env["wms.release.exporter"]._export(self, message, data)

    def _wms_export_receipt_confirmation(self, message, data):
        return self.env["wms.release.exporter"]._export(self, message, data)

    def _wms_handle_cancel(self, message, data):
        return self.env["wms.release.exporter"]._cancel(self, message, data)

    # ------------------------------------------------------------------
    # Polling: the events backstop and the stock snapshot pull
    # ------------------------------------------------------------------
    def _wms_poll_shipment_confirmation(self, rule):
        """Every event since the rule's cursor, stored like its webhook (the
        event id is the key: an event that came by webhook is a duplicate).
        The cursor moves after each page; a failing call stops the run and
        the next one resumes there."""
        self.ensure_one()
        adapter = self._wms_adapter_instance()
        Message = self.env["integration.message"]
        queued = 0
        with correlation_context(new_correlation_id()):
            try:
                for _page in range(50):
                    status, answer = self._wms_request(
                        adapter.events(rule.cursor, max(self.wms_page_size, 1))
                    )
                    if status != 200:
                        raise PermanentError(
                            _(
                                "%(wms)s: the events poll answered HTTP %(status)s.",
                                wms=self.name,
                                status=status,
                            ),
                            json.dumps(answer)[:2000],
                        )
                    events, cursor, has_more = adapter.events_page(answer)
                    for event in events:
                        body = self._wms_json(event)
                        envelope = self._wms_webhook_envelope({}, body)
                        _message, created = Message._intake(
                            self,
                            envelope["message_type"],
                            envelope["idempotency_key"],
                            body,
                            external_id=envelope["external_id"],
                            reference=envelope["reference"],
                        )
                        queued += int(created)
                    if cursor:
                        rule.cursor = cursor
                    if not has_more:
                        break
            except IntegrationError as exc:
                _logger.warning("%s: events poll stopped: %s", self.name, exc.message)
        return queued

    def _wms_pull_snapshot(self):
        """Pull the WMS's stock page by page into one ``wms.snapshot``
        message (the same body as a pushed one); returns the message."""
        self.ensure_one()
        adapter = self._wms_adapter_instance()
        status, answer = self._wms_request(adapter.snapshot_start())
        if status not in (200, 201):
            raise PermanentError(
                _(
                    "%(wms)s refused the stock snapshot (HTTP %(status)s).",
                    wms=self.name,
                    status=status,
                ),
                json.dumps(answer)[:2000],
            )
        header = adapter.snapshot_header(answer)
        lines, cursor = [], None
        while True:
            status, page = self._wms_request(
                adapter.snapshot_page(
                    header["snapshot_id"], cursor, max(self.wms_page_size, 1)
                )
            )
            if status != 200:
                raise PermanentError(
                    _(
                        "%(wms)s: snapshot page answered HTTP %(status)s.",
                        wms=self.name,
                        status=status,
                    )
                )
            page_lines, cursor = adapter.snapshot_lines(page)
            lines += page_lines
            if not cursor:
                break
        event = {
            "event_id": f"pull:{header['snapshot_id']}",
            "event_type": "stock.snapshot",
            "occurred_at": header["as_of"],
            "data": {**header, "lines": lines},
        }
        message, _created = self.env["integration.message"]._intake(
            self,
            "wms.snapshot",
            event["event_id"],
            self._wms_json(event),
            external_id=event["event_id"],
            reference=header["snapshot_id"],
        )
        return message

    def _wms_poll_stock_level(self, rule):
        self.ensure_one()
        try:
            self._wms_pull_snapshot()
        except IntegrationError as exc:
            _logger.warning("%s: snapshot pull failed: %s", self.name, exc.message)
            return 0
        return 1

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------
    def action_wms_reconcile_now(self):
        """Pull a snapshot now and reconcile it in this request."""
        self.ensure_one()
        try:
            message = self.sudo()._wms_pull_snapshot()
        except IntegrationError as exc:
            raise UserError(exc.message) from exc
        if message.state == "received":
            message._cancel_pending_jobs()
            message._process()
        text = (
            message.business_exception
            or message.error_message
            or _("The WMS's stock matches Odoo's.")
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Stock reconciliation: %s", message.name),
                "message": text.splitlines()[0],
                "type": "warning" if message.needs_attention else "success",
                "sticky": bool(message.needs_attention),
            },
        }

    @api.model
    def _wms_install_schemas(self):
        """Data hook: the message types take their schemas from the
        contract module (one source of truth, see CONTRACT.md)."""
        Type = self.env["integration.message.type"].sudo()
        for code in MESSAGE_TYPE_SCHEMAS:
            Type.search([("connector_type", "=", "wms"), ("code", "=", code)]).write(
                {"json_schema": schema_text(code)}
            )
