import json
from datetime import timezone

from odoo import _, api, fields, models
from odoo.exceptions import UserError
from odoo.tools import float_compare

from odoo.addons.integration_core.tools import trace

from ..contract import ContractError, parse_order_status

WMS_STATES = [
    ("waiting", "Waiting for reservation"),
    ("to_release", "Reserved: being released"),
    ("held", "Held: reservation lost"),
    ("released", "Released"),
    ("acknowledged", "Acknowledged"),
    ("announced", "Announced"),
    ("cancel_requested", "Cancel asked"),
    ("shipped", "Shipped"),
    ("received", "Received"),
    ("cancelled", "Cancelled"),
    ("refused", "Refused by the WMS"),
]
# The WMS confirms these: Odoo's own Validate is blocked for them.
AT_THE_WMS = ("released", "acknowledged", "announced", "cancel_requested")
# Changes of these are sent as a new revision.
CHANGE_FIELDS = ("partner_id", "carrier_id", "scheduled_date")


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "integration.document.mixin"]

    wms_backend_id = fields.Many2one(
        "integration.backend",
        "WMS",
        compute="_compute_wms_backend_id",
        store=True,
        readonly=True,
        help="The warehouse system this transfer is released or announced to "
        "(the warehouse's WMS, for deliveries and receipts).",
    )
    wms_state = fields.Selection(WMS_STATES, "WMS state", readonly=True, copy=False)
    wms_order_ref = fields.Char(
        "WMS order",
        readonly=True,
        copy=False,
        index=True,
        help="The reference of the order at the WMS; a backorder of a split "
        "shipment keeps its original's.",
    )
    wms_revision = fields.Integer("WMS revision", readonly=True, copy=False)
    wms_sent_digest = fields.Char(readonly=True, copy=False)
    wms_remote_status = fields.Char("Status at the WMS", readonly=True, copy=False)
    wms_status_at = fields.Datetime("WMS status time", readonly=True, copy=False)
    wms_released_at = fields.Datetime("Released at", readonly=True, copy=False)
    wms_shipment_ids = fields.One2many(
        "wms.shipment", "picking_id", "WMS confirmations", readonly=True
    )
    wms_cancel_with_order = fields.Boolean(
        "Cancel asked by its sale order",
        readonly=True,
        copy=False,
        help="The sale order's cancel asked the WMS to cancel this delivery: "
        "the order is cancelled once the WMS confirms.",
    )

    @api.depends("picking_type_id.warehouse_id.wms_backend_id", "picking_type_code")
    def _compute_wms_backend_id(self):
        for picking in self:
            if picking.wms_backend_id:
                # a released picking keeps its WMS
                picking.wms_backend_id = picking.wms_backend_id
                continue
            backend = picking.picking_type_id.warehouse_id.wms_backend_id
            picking.wms_backend_id = (
                backend
                if backend.active
                and picking.picking_type_code in ("outgoing", "incoming")
                and picking.state not in ("done", "cancel")
                else False
            )

    # -- what changed, for the outbox ------------------------------------------------
    def _wms_record_change(self):
        """Record in the core's outbox that these transfers changed for their
        WMS (deliveries: ``dispatch``; receipts: ``receipt_confirmation``).
        The export decides what to send from the state at that moment."""
        Outbox = self.env["integration.outbox"]
        for picking in self:
            backend = picking.wms_backend_id
            if not backend or picking.state in ("done", "cancel"):
                continue
            if picking.wms_state in ("shipped", "received", "cancelled"):
                continue
            if picking.picking_type_code == "outgoing" and picking.wms_state in (
                False,
                "waiting",
                "to_release",
                "held",
            ):
                ready = picking._wms_ready(backend)
                if ready and picking.wms_state != "to_release":
                    picking.wms_state = "to_release"
                elif not ready and picking.wms_state in (False, "waiting"):
                    picking.wms_state = "waiting"
                    continue  # nothing to send yet
            flow = (
                "dispatch"
                if picking.picking_type_code == "outgoing"
                else "receipt_confirmation"
            )
            Outbox._record(flow, picking, backends=backend)

    def _wms_ready(self, backend):
        """Is the delivery reserved enough to release, by the policy?"""
        self.ensure_one()
        moves = self.move_ids.filtered(lambda m: m.state not in ("done", "cancel"))
        if not moves or self.state in ("draft", "done", "cancel"):
            return False
        if backend.wms_release_policy == "partial":
            return any(m.quantity > 0 for m in moves)
        return all(
            m.state == "assigned"
            and float_compare(
                m.quantity, m.product_uom_qty, precision_rounding=m.product_uom.rounding
            )
            >= 0
            for m in moves
        )

    def write(self, vals):
        result = super().write(vals)
        if any(name in vals for name in CHANGE_FIELDS):
            self.filtered("wms_state")._wms_record_change()
        return result

    # -- Odoo's own buttons ---------------------------------------------------------
    def _wms_confirmed_by_wms(self):
        return self.env.context.get("wms_confirmation")

    def button_validate(self):
        if not self._wms_confirmed_by_wms():
            released = self.filtered(lambda p: p.wms_state in AT_THE_WMS)
            if released:
                raise UserError(
                    _(
                        "%(pickings)s: released to the warehouse system %(wms)s. "
                        "It is validated when the WMS confirms it; quantities, lots "
                        "and packages come from that confirmation.",
                        pickings=", ".join(released.mapped("name")),
                        wms=released[0].wms_backend_id.name,
                    )
                )
        return super().button_validate()

    def action_cancel(self):
        """Two phases for released deliveries: ask the WMS first; Odoo
        cancels what the WMS confirms it cancelled (``wms.cancel``)."""
        if self.env.context.get("wms_cancel_confirmed"):
            return super().action_cancel()
        at_wms = self.filtered(
            lambda p: (
                p.picking_type_code == "outgoing"
                and p.wms_state in ("released", "acknowledged")
            )
        )
        for picking in at_wms:
            picking._wms_request_cancel()
        others = (
            self - at_wms - self.filtered(lambda p: p.wms_state == "cancel_requested")
        )
        if others:
            super(StockPicking, others).action_cancel()
        return True

    def _wms_request_cancel(self, reason=None):
        self.ensure_one()
        backend = self.wms_backend_id
        previous = self.wms_state
        self.wms_state = "cancel_requested"
        self.env["integration.message"].sudo()._intake(
            backend,
            "wms.cancel",
            f"cancel:{self.id}:{self.wms_revision}",
            self.env["integration.backend"]._wms_json(
                {
                    "picking_id": self.id,
                    "order_ref": self.wms_order_ref or self.name,
                    "reason": reason or _("Cancelled in Odoo"),
                    "previous_state": previous,
                }
            ),
            direction="out",
            external_id=self.name,
            correlation_id=self.integration_correlation_id or None,
        )
        self.message_post(
            body=_(
                "Cancel asked of the WMS %(wms)s: the delivery is cancelled once "
                "the WMS confirms it.",
                wms=backend.name,
            )
        )

    def _wms_cancel_confirmed(self):
        """The WMS cancelled it: cancel it in Odoo, and the sale orders whose
        cancel asked for it once none of their deliveries waits for the WMS."""
        self.wms_state = "cancelled"
        self.with_context(wms_cancel_confirmed=True).action_cancel()
        asked = self.filtered("wms_cancel_with_order")
        asked.wms_cancel_with_order = False
        for order in asked.sale_id:
            order._wms_finish_cancel()

    def _wms_cancel_refused(self, reason):
        """The WMS refused (already picked): nothing is cancelled. Returns the
        business exception, which names the sale order whose cancel it
        refuses."""
        self.ensure_one()
        label = self._wms_label()
        order = self.sale_id if self.wms_cancel_with_order else False
        self.wms_cancel_with_order = False
        if not order:
            return _(
                "%(label)s: the WMS refused to cancel it (%(reason)s). Nothing was "
                "cancelled; the WMS will ship it.",
                label=label,
                reason=reason,
            )
        problem = _(
            "%(label)s: the WMS refused to cancel it (%(reason)s), so sale order "
            "%(order)s was not cancelled: it stays confirmed and the WMS will ship "
            "it. Agree a return with the customer, or cancel what is left after "
            "the shipment.",
            label=label,
            reason=reason,
            order=order.name,
        )
        order.message_post(body=problem)
        return problem

    def _wms_label(self):
        self.ensure_one()
        if self.picking_type_code == "incoming":
            return _("Receipt %s", self.name)
        return _("Delivery %s", self.name)

    def action_wms_view_messages(self):
        return self.action_view_integration_messages()

    # -- the order trace (integration_core/tools/trace.py) ----------------------------
    def _integration_trace_steps(self):
        steps = super()._integration_trace_steps()
        backend = self.wms_backend_id
        if not backend or self.picking_type_code != "outgoing":
            return steps
        if self.state == "cancel" and self.wms_state != "refused":
            return steps
        ref = dict(self._integration_trace_ref(), system=backend.name)
        # the rest of a split shipment is at the WMS under its original's order
        original = not self.wms_order_ref or self.wms_order_ref == self.name
        if original:
            steps += self._wms_trace_release_steps(ref)
        shipments = self.wms_shipment_ids.filtered(lambda s: s.kind == "shipment")
        slot = f"shipped:stock.picking,{self.id}"
        for shipment in shipments.sorted("sequence"):
            detail = _(
                "Shipment %(seq)s%(of)s: %(lines)s",
                seq=shipment.sequence,
                of=_(" of %s", shipment.shipment_count)
                if shipment.shipment_count
                else "",
                lines=self._wms_trace_lines() or _("nothing"),
            )
            if shipment.package_ids:
                detail += _(
                    "; packages %s",
                    ", ".join(
                        f"{p.name} ({p.tracking_number})"
                        if p.tracking_number
                        else p.name
                        for p in shipment.package_ids
                    ),
                )
            steps.append(
                trace.step(
                    "wms.shipped",
                    _("Shipped by the WMS"),
                    shipment.shipped_at or shipment.create_date,
                    detail=detail,
                    message_id=shipment.message_id.id or False,
                    slot=slot,
                    **ref,
                )
            )
        if not shipments and self.wms_state in AT_THE_WMS:
            steps.append(
                trace.pending_step(
                    "wms.shipped",
                    _("Shipped by the WMS"),
                    expect=_("not shipped yet"),
                    slot=slot,
                    **ref,
                )
            )
        if self.wms_state == "refused":
            status = self._integration_trace_messages(
                [
                    ("message_type", "=", "wms.order_status"),
                    ("res_model", "=", self._name),
                    ("res_id", "=", self.id),
                ],
                order="id desc",
            )[:1]
            steps.append(
                trace.step(
                    "wms.refused",
                    _("Refused by the WMS"),
                    self.wms_status_at or status.received_at or self.write_date,
                    sequence=trace.SEQUENCE["acknowledged"],
                    detail=self.wms_remote_status or "",
                    message_id=status.id or False,
                    **ref,
                )
            )
        return steps

    def _wms_trace_lines(self):
        return trace.quantities_text(
            [
                (
                    line.quantity,
                    line.product_id.default_code or line.product_id.display_name,
                    line.lot_id.name or line.lot_name or None,
                )
                for line in self.move_line_ids.filtered(
                    lambda ml: ml.move_id.state == "done" and ml.quantity
                )
            ]
        )

    def _wms_trace_release_steps(self, ref):
        """Reserved, released, acknowledged: done or expected."""
        steps = []
        released = self.wms_state not in (False, "waiting", "to_release", "held")
        reserved = released or self.state in ("assigned", "done")
        if reserved:
            times = [t for t in self.move_line_ids.mapped("create_date") if t]
            if self.wms_released_at:
                times.append(self.wms_released_at)
            steps.append(
                trace.step(
                    "wms.reserved",
                    _("Reserved"),
                    min(times) if times else self.create_date,
                    system="Odoo",
                    detail=_("%s: stock reserved", self.name),
                    **{k: v for k, v in ref.items() if k != "system"},
                )
            )
        else:
            steps.append(
                trace.pending_step(
                    "wms.reserved",
                    _("Reserved"),
                    expect=_("%s not reserved yet (waiting for stock)", self.name)
                    if self.wms_state != "held"
                    else _("%s lost its reservation: not released", self.name),
                    system="Odoo",
                    **{k: v for k, v in ref.items() if k != "system"},
                )
            )
        release = self._integration_trace_messages(
            [
                ("direction", "=", "out"),
                ("message_type", "=", "wms.release"),
                ("res_model", "=", self._name),
                ("res_id", "=", self.id),
            ],
            order="id",
        )
        if self.wms_released_at:
            sent = release.filtered(lambda m: m.state == "done")[:1] or release[:1]
            steps.append(
                trace.step(
                    "wms.released",
                    _("Released to the WMS"),
                    self.wms_released_at,
                    detail=_("Revision %s", self.wms_revision or 1),
                    message_id=sent.id or False,
                    **ref,
                )
            )
        elif self.state != "done":
            steps.append(
                trace.pending_step(
                    "wms.released",
                    _("Released to the WMS"),
                    expect=_("not released to the WMS yet"),
                    message_id=release[-1:].id or False,
                    **ref,
                )
            )
        acknowledged = self._wms_trace_acknowledged()
        if acknowledged:
            at, message = acknowledged
            steps.append(
                trace.step(
                    "wms.acknowledged",
                    _("Acknowledged by the WMS"),
                    at,
                    message_id=message.id or False,
                    **ref,
                )
            )
        return steps

    def _wms_trace_acknowledged(self):
        """``(time at the WMS, message)`` of the first acknowledgement."""
        statuses = self._integration_trace_messages(
            [
                ("message_type", "=", "wms.order_status"),
                ("state", "=", "done"),
                ("res_model", "=", self._name),
                ("res_id", "=", self.id),
            ],
            order="id",
        )
        for message in statuses:
            try:
                status = parse_order_status(json.loads(message.payload), validate=False)
            except (TypeError, ValueError, KeyError, ContractError):
                continue  # purged or unreadable: the picking's fields below
            if status.status in ("acknowledged", "received"):
                at = status.occurred_at
                if at.tzinfo:
                    at = at.astimezone(timezone.utc).replace(tzinfo=None)
                return at, message
        acknowledged = self.wms_remote_status in ("acknowledged", "received")
        if acknowledged and self.wms_status_at:
            return self.wms_status_at, statuses[-1:]
        return None
