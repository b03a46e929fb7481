import json
from collections import defaultdict

from markupsafe import Markup

from odoo import Command, _, api, fields, models

from odoo.addons.integration_core.tools import trace

from ..tools import easypost as ep

DELIVERY_FAILURE = "carrier.delivery.failure"
LABEL_PRICE = "carrier.label.price"
PROGRESS = [
    "unknown",
    "label_created",
    "in_transit",
    "out_for_delivery",
    "available_for_pickup",
    "delivered",
]
PROBLEM_ORDER = ["failure", "returned", "exception"]
TRACKER_TYPES = ("tracker.updated", "carrier.tracker.polled")


class StockPicking(models.Model):
    _inherit = ["stock.picking", "integration.document.mixin"]
    _name = "stock.picking"

    carrier_shipment_ids = fields.One2many(
        "carrier.shipment",
        "picking_id",
        "Carrier labels",
        copy=False,
        domain=[("is_return", "=", False)],
    )
    carrier_return_shipment_ids = fields.One2many(
        "carrier.shipment",
        "picking_id",
        "Return labels",
        copy=False,
        domain=[("is_return", "=", True)],
    )
    carrier_tracking_event_ids = fields.One2many(
        "carrier.tracking.event", "picking_id", "Tracking timeline", copy=False
    )
    integration_delivery_state = fields.Selection(
        ep.DELIVERY_STATES,
        "Delivery state",
        compute="_compute_integration_delivery",
        store=True,
        index=True,
        copy=False,
    )
    integration_refund_state = fields.Selection(
        ep.REFUND_STATES,
        "Label refund",
        compute="_compute_integration_delivery",
        store=True,
        copy=False,
    )
    integration_delivered_at = fields.Datetime(
        "Delivered on", compute="_compute_integration_delivery", store=True, copy=False
    )
    integration_signed_by = fields.Char(
        "Signed by", compute="_compute_integration_delivery", store=True, copy=False
    )
    integration_delivered_place = fields.Char(
        "Delivered at", compute="_compute_integration_delivery", store=True, copy=False
    )
    integration_invoice_id = fields.Many2one(
        "account.move", "Delivery invoice", copy=False, readonly=True
    )

    @api.depends(
        "carrier_shipment_ids.state",
        "carrier_shipment_ids.delivery_state",
        "carrier_shipment_ids.refund_status",
        "carrier_shipment_ids.signed_by",
        "carrier_shipment_ids.delivered_at",
    )
    def _compute_integration_delivery(self):
        for picking in self:
            shipments = picking.carrier_shipment_ids
            bought = shipments.filtered(lambda s: s.state == "bought")
            states = set(bought.mapped("delivery_state"))
            state = False
            for problem in PROBLEM_ORDER:
                if problem in states:
                    state = problem
                    break
            else:
                if states:
                    state = min(
                        states, key=lambda s: PROGRESS.index(s) if s in PROGRESS else 0
                    )
            picking.integration_delivery_state = state
            refunds = [s for s in shipments.mapped("refund_status") if s]
            picking.integration_refund_state = (
                "rejected"
                if "rejected" in refunds
                else "submitted"
                if "submitted" in refunds
                else refunds[0]
                if refunds
                else False
            )
            if state == "delivered":
                latest = max(
                    bought, key=lambda s: s.delivered_at or fields.Datetime.now()
                )
                picking.integration_delivered_at = latest.delivered_at
                picking.integration_signed_by = (
                    ", ".join(dict.fromkeys(s for s in bought.mapped("signed_by") if s))
                    or False
                )
                picking.integration_delivered_place = latest.delivered_place
            else:
                picking.integration_delivered_at = False
                picking.integration_signed_by = False
                picking.integration_delivered_place = False

    # ------------------------------------------------------------------
    # Cancel keeps the tracking number of a label the carrier would not void
    # ------------------------------------------------------------------
    def cancel_shipment(self):
        ours = self.filtered(
            lambda p: p.carrier_id.delivery_type == "integration_carrier"
        )
        if self - ours:
            super(StockPicking, self - ours).cancel_shipment()
        for picking in ours:
            picking.carrier_id.cancel_shipment(picking)
            kept = picking.carrier_shipment_ids.filtered(lambda s: s.state == "bought")
            if kept:
                picking.carrier_tracking_ref = ",".join(kept.mapped("tracking_code"))
                picking.message_post(
                    body=_(
                        "The carrier refused to void %s: the label stays valid.",
                        ", ".join(kept.mapped("tracking_code")),
                    )
                )
            else:
                picking.message_post(
                    body=_("Shipment %s cancelled", picking.carrier_tracking_ref)
                )
                picking.carrier_tracking_ref = False
        return True

    # ------------------------------------------------------------------
    # Labels bought; tracking; invoicing
    # ------------------------------------------------------------------
    def _integration_labels_bought(self, shipments):
        self.ensure_one()
        carrier = self.carrier_id
        backend = carrier.integration_backend_id
        quote = self.sale_id.integration_carrier_quote
        total = sum(shipments.mapped("price_company"))
        if quote and total:
            for shipment in shipments:
                shipment.quoted_price = quote * shipment.price_company / total
                problem = shipment._price_problem_text()
                if problem:
                    self.env["integration.message"]._desk_item_raise(
                        backend,
                        LABEL_PRICE,
                        self,
                        problem,
                        key=f"carrier.label.price,{shipment.id}",
                        payload=json.dumps({"shipment_id": shipment.id}).encode(),
                        name=shipment.tracking_code,
                    )
        self.message_post(
            body=Markup("%s<br/>%s")
            % (
                _("Labels bought at %s:", backend.name),
                ", ".join(
                    f"{s.tracking_code} ({s.service}, {s.price:.2f} {s.currency_name})"
                    for s in shipments
                ),
            ),
            attachment_ids=shipments.mapped("label_attachment_id").ids,
        )

    def send_to_shipper(self):
        """After Odoo set the shipping cost (and the Real cost on the order's
        shipping line): the invoice of the *on shipment* policy."""
        result = super().send_to_shipper()
        carrier = self.carrier_id
        if (
            carrier.delivery_type == "integration_carrier"
            and carrier._integration_invoice_policy() == "on_shipment"
        ):
            self._integration_create_invoice()
        return result

    def _integration_tracking_changed(self, shipment, old_state):
        """A parcel's status changed: desk items and invoicing follow."""
        self.ensure_one()
        backend = shipment.backend_id
        Message = self.env["integration.message"]
        key = f"carrier.shipment,{shipment.id}"
        state = shipment.delivery_state
        if state in ep.PROBLEM_STATES:
            Message._desk_item_raise(
                backend,
                DELIVERY_FAILURE,
                self,
                shipment._problem_text(),
                key=key,
                payload=json.dumps({"shipment_id": shipment.id}).encode(),
                name=shipment.tracking_code,
            )
        elif state == "delivered":
            if old_state in ep.PROBLEM_STATES:
                Message._desk_item_resolve(
                    backend,
                    DELIVERY_FAILURE,
                    self,
                    key_of=lambda record: key,
                    note=_("Solved: parcel %s was delivered.", shipment.tracking_code),
                )
            if (
                self.integration_delivery_state == "delivered"
                and self._integration_invoice_policy(shipment) == "on_delivery"
            ):
                self._integration_create_invoice()

    def _integration_invoice_policy(self, shipment=None):
        carrier = (shipment and shipment.carrier_id) or self.carrier_id
        if carrier:
            return carrier._integration_invoice_policy()
        backend = shipment.backend_id if shipment else self.env["integration.backend"]
        return backend.carrier_invoice_policy or "manual"

    def _integration_create_invoice(self):
        """The customer invoice of this delivery: the quantities it carried
        (a partial delivery bills what it carried), and the shipping line
        once per order. Posted when the backend says so. Made once."""
        self.ensure_one()
        order = self.sale_id
        if not order or self.integration_invoice_id:
            return self.integration_invoice_id
        quantities = defaultdict(float)
        for move in self.move_ids.filtered(
            lambda m: m.state == "done" and m.sale_line_id
        ):
            line = move.sale_line_id
            quantities[line] += move.product_uom._compute_quantity(
                move.quantity, line.product_uom
            )
        for line in order.order_line.filtered(
            lambda sol: sol.is_delivery and sol.qty_invoiced < sol.product_uom_qty
        ):
            quantities[line] += line.product_uom_qty - line.qty_invoiced
        lines = [
            Command.create(line._prepare_invoice_line(quantity=qty))
            for line, qty in quantities.items()
            if qty > 0
        ]
        if not lines:
            return self.env["account.move"]
        values = order._prepare_invoice()
        values["invoice_line_ids"] = lines
        correlation = self.integration_correlation_id
        move_fields = self.env["account.move"]._fields
        if correlation and "integration_correlation_id" in move_fields:
            # the order's invoice joins the order's trace, not the tracking
            # event's that proved the delivery
            values["integration_correlation_id"] = correlation
        invoice = (
            self.env["account.move"]
            .sudo()
            .with_company(order.company_id)
            .with_context(default_move_type="out_invoice")
            .create(values)
        )
        if self.carrier_id.integration_backend_id.carrier_post_invoices:
            invoice.action_post()
        self.integration_invoice_id = invoice
        self.message_post(
            body=_(
                "Invoice %(invoice)s made for this delivery (%(policy)s).",
                invoice=invoice.name or _("draft"),
                policy=dict(
                    self.carrier_id._fields["integration_invoice_policy"].selection
                )[self.carrier_id._integration_invoice_policy()],
            )
        )
        return invoice

    def action_view_carrier_shipments(self):
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "connector_carrier.action_carrier_shipment"
        )
        action["domain"] = [("picking_id", "in", self.ids)]
        action["context"] = {}
        return action

    # ------------------------------------------------------------------
    # The order trace (integration_core/tools/trace.py)
    # ------------------------------------------------------------------
    def _integration_trace_steps(self):
        steps = super()._integration_trace_steps()
        if self.picking_type_code != "outgoing" or self.state == "cancel":
            return steps
        shipments = self.carrier_shipment_ids.sorted("id")
        ours = self.carrier_id.delivery_type == "integration_carrier"
        if not shipments and not ours:
            return steps
        backend = shipments[:1].backend_id or self.carrier_id.integration_backend_id
        ref = dict(self._integration_trace_ref(), system=backend.name)
        trackers = self._integration_trace_messages(
            [
                ("direction", "=", "in"),
                ("message_type", "in", TRACKER_TYPES),
                ("res_model", "=", self._name),
                ("res_id", "=", self.id),
            ],
            order="received_at, id",
        )
        for shipment in shipments:
            steps += self._integration_trace_parcel(shipment, trackers, ref)
        bought = shipments.filtered(lambda s: s.state == "bought")
        if not bought and ours:
            steps.append(
                trace.pending_step(
                    "carrier.label",
                    _("Label and tracking"),
                    expect=_("no label bought for %s yet", self.name),
                    **ref,
                )
            )
        elif bought.filtered(lambda s: not s.delivered_at):
            steps.append(
                trace.pending_step(
                    "carrier.delivered",
                    _("Delivered"),
                    expect=_("not delivered yet"),
                    **ref,
                )
            )
        return steps

    def _integration_trace_parcel(self, shipment, trackers, ref):
        """Label, every tracking event, delivery with its proof."""
        Message = self.env["integration.message"]

        def open_items(kind):
            key = f"{kind},{shipment.id}" if kind == LABEL_PRICE else None
            key = key or f"carrier.shipment,{shipment.id}"
            item = Message._desk_item_find(
                shipment.backend_id, kind, self, lambda record: key
            ).get(key)
            return [item.id] if item and item.needs_attention else []

        def tracker_of(at):
            # the first webhook or poll received once the carrier had it
            later = trackers.filtered(lambda m: at and m.received_at >= at)
            return (later[:1] or trackers[-1:]).id or False

        states = dict(ep.DELIVERY_STATES)
        voided = shipment.state == "voided"
        steps = [
            trace.step(
                "carrier.label",
                _("Label voided") if voided else _("Label and tracking"),
                shipment.create_date,
                detail=_(
                    "%(code)s (%(service)s, %(price)s %(currency)s)",
                    code=shipment.tracking_code or shipment.reference,
                    service=shipment.service or "-",
                    price=f"{shipment.price:.2f}",
                    currency=shipment.currency_name or "",
                ),
                exception_ids=open_items(LABEL_PRICE),
                **ref,
            )
        ]
        events = shipment.event_ids.sorted(
            lambda e: (e.event_time or e.create_date, e.id)
        )
        slot = f"delivered:carrier.shipment,{shipment.id}"
        for event in events:
            at = event.event_time or event.create_date
            steps.append(
                trace.step(
                    "carrier.tracking",
                    _(
                        "Tracking: %s",
                        states.get(event.delivery_state) or event.status,
                    ),
                    at,
                    detail=" - ".join(
                        filter(
                            None,
                            [shipment.tracking_code, event.message, event.location],
                        )
                    ),
                    message_id=tracker_of(at),
                    slot=slot if event.delivery_state == "delivered" else None,
                    fallback=event.delivery_state == "delivered",
                    **ref,
                )
            )
        failures = open_items(DELIVERY_FAILURE)
        if failures:
            problem = [s for s in steps if s["key"] == "carrier.tracking"]
            (problem[-1] if problem else steps[0])["exception_ids"] = failures
        if shipment.delivered_at and not voided:
            proof = _(
                "%(code)s: signed by %(who)s at %(where)s",
                code=shipment.tracking_code,
                who=shipment.signed_by or _("nobody"),
                where=shipment.delivered_place or "-",
            )
            steps.append(
                trace.step(
                    "carrier.delivered",
                    _("Delivered with proof") if shipment.signed_by else _("Delivered"),
                    shipment.delivered_at,
                    detail=proof,
                    message_id=tracker_of(shipment.delivered_at),
                    slot=slot,
                    **ref,
                )
            )
        return steps
