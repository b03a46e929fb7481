import hashlib
import json

from odoo import _, fields, models
from odoo.tools import float_compare

from odoo.addons.integration_core.exceptions import BusinessRuleError

from ..contract import ContractError, cancel_body, receipt_body, release_body

FINISHED = ("shipped", "received", "cancelled", "cancel_requested", "refused")


def _iso(value):
    return (
        fields.Datetime.to_datetime(value).strftime("%Y-%m-%dT%H:%M:%SZ")
        if value
        else None
    )


class WmsReleaseExporter(models.AbstractModel):
    """Releases deliveries and announces receipts (the outbox's exports of
    ``dispatch`` and ``receipt_confirmation``), and asks for cancels.

    What is sent is decided from the transfer's state when the export runs,
    not when the change was recorded: a delivery that lost its reservation
    meanwhile is held, one that changed after release gets a new revision."""

    _name = "wms.release.exporter"
    _description = "WMS: release deliveries and announce receipts"

    def _export(self, backend, message, data):
        pickings = self.env[data["model"]].browse(data["ids"]).exists()
        problems = []
        for picking in pickings:
            backend._advisory_lock(
                "wms.order",
                picking.wms_order_ref or picking.name,
                busy_message=_("%s is being changed by another job.", picking.name),
            )
            problem = self._send(backend, picking)
            if problem:
                problems.append(problem)
        return {"records": pickings, "business_exception": "\n".join(problems) or False}

    # -- what the WMS gets ----------------------------------------------------------
    def _line_quantity(self, backend, move, released):
        if move.picking_type_id.code == "incoming":
            return move.product_uom_qty
        if backend.wms_release_policy == "partial":
            reserved = (
                move.quantity
                if not released
                else max(move.wms_released_qty, move.quantity)
            )
            return min(reserved, move.product_uom_qty)
        return move.product_uom_qty

    def _lines(self, backend, picking, released):
        lines, missing = [], []
        for move in picking.move_ids.filtered(
            lambda m: m.state not in ("done", "cancel")
        ):
            quantity = self._line_quantity(backend, move, released)
            if (
                float_compare(quantity, 0, precision_rounding=move.product_uom.rounding)
                <= 0
            ):
                continue
            if not move.product_id.default_code:
                missing.append(move.product_id.display_name)
                continue
            lines.append(
                (
                    move,
                    {
                        "line_id": move.wms_line_id or str(move.id),
                        "sku": move.product_id.default_code,
                        "name": move.product_id.name,
                        "quantity": quantity,
                        "uom": move.product_uom.name,
                        "tracking": move.product_id.tracking or "none",
                    },
                )
            )
        return lines, missing

    @staticmethod
    def _address(partner):
        return {
            "name": partner.name or partner.display_name or "-",
            "street": partner.street,
            "street2": partner.street2,
            "zip": partner.zip,
            "city": partner.city,
            "state": partner.state_id.name,
            "country": partner.country_id.code,
            "phone": partner.phone,
            "email": partner.email,
        }

    def _body(self, backend, picking, revision, lines):
        warehouse = picking.picking_type_id.warehouse_id.code
        if picking.picking_type_code == "incoming":
            return receipt_body(
                picking.wms_order_ref or picking.name,
                revision,
                picking.name,
                [line for _move, line in lines],
                supplier=self._address(picking.partner_id),
                origin=picking.origin,
                warehouse=warehouse,
                expected_date=_iso(picking.scheduled_date),
            )
        carrier = (
            picking["carrier_id"].name if "carrier_id" in picking._fields else None
        )
        return release_body(
            picking.wms_order_ref or picking.name,
            revision,
            picking.name,
            self._address(picking.partner_id),
            [line for _move, line in lines],
            origin=picking.origin,
            warehouse=warehouse,
            carrier=carrier,
            scheduled_date=_iso(picking.scheduled_date),
        )

    @staticmethod
    def _digest(body):
        content = {k: v for k, v in body.items() if k != "revision"}
        return hashlib.sha256(
            json.dumps(content, sort_keys=True, default=str).encode()
        ).hexdigest()

    # -- sending ----------------------------------------------------------------------
    def _send(self, backend, picking):
        """Release (or announce) ``picking`` or send its new revision; returns
        the problem for a person, or False."""
        label = picking._wms_label()
        if picking.state in ("done", "cancel") or picking.wms_state in FINISHED:
            return False
        if picking.wms_order_ref and picking.wms_order_ref != picking.name:
            return False  # the rest of a split shipment: the WMS has it already
        incoming = picking.picking_type_code == "incoming"
        at_wms = picking.wms_state in ("released", "acknowledged", "announced")
        if not at_wms:
            ready = (
                picking.state == "assigned" if incoming else picking._wms_ready(backend)
            )
            if not ready:
                if not incoming:
                    # reserved when recorded, no longer now: held, not sent
                    held = picking.wms_state in ("to_release", "held")
                    picking.wms_state = "held" if held else "waiting"
                    if held:
                        picking.message_post(
                            body=_("Not released to the WMS: the reservation was lost.")
                        )
                return False
        lines, missing = self._lines(backend, picking, at_wms)
        if missing:
            return _(
                "%(label)s: cannot be sent to the WMS: product(s) %(products)s "
                "have no internal reference (SKU).",
                label=label,
                products=", ".join(f"'{name}'" for name in missing),
            )
        if not lines:
            return False
        revision = (
            (picking.wms_revision or 0) + 1 if at_wms else max(picking.wms_revision, 1)
        )
        try:
            body = self._body(backend, picking, revision, lines)
        except ContractError as exc:
            return f"{label}: {exc.message}"
        digest = self._digest(body)
        if at_wms and digest == picking.wms_sent_digest:
            return False  # nothing the WMS knows has changed
        if at_wms and not backend.wms_accepts_changes:
            return _(
                "%(label)s changed after it was released to the WMS (revision "
                "%(revision)s), and the WMS takes no changes: change it in the WMS "
                "too, or cancel it.",
                label=label,
                revision=picking.wms_revision,
            )
        adapter = backend._wms_adapter_instance()
        for _attempt in range(2):
            request = adapter.receipt(body) if incoming else adapter.release(body)
            status, answer = backend._wms_request(request)
            outcome = (
                adapter.receipt_outcome(status, answer)
                if incoming
                else adapter.release_outcome(status, answer)
            )
            if outcome["status"] != "stale":
                break
            # the WMS holds a newer revision than we know: go above it
            body = dict(body, revision=int(outcome.get("revision") or revision) + 1)
        if outcome["status"] == "received":
            self._mark_sent(picking, body, digest, lines, at_wms)
            return False
        if outcome["status"] == "locked":
            return _(
                "%(label)s: the WMS refuses the change (revision %(revision)s): "
                "%(reason)s. It keeps revision %(kept)s; change it there by hand "
                "or leave it.",
                label=label,
                revision=body["revision"],
                reason=outcome.get("message") or _("too late"),
                kept=picking.wms_revision,
            )
        raise BusinessRuleError(
            _(
                "%(label)s: the WMS refused it: %(reason)s",
                label=label,
                reason="; ".join(outcome.get("problems") or [])
                or outcome.get("message")
                or _("no reason given"),
            ),
            json.dumps(answer)[:2000],
        ).about(picking)

    def _mark_sent(self, picking, body, digest, lines, at_wms):
        incoming = picking.picking_type_code == "incoming"
        values = {
            "wms_order_ref": picking.wms_order_ref or picking.name,
            "wms_revision": body["revision"],
            "wms_sent_digest": digest,
        }
        if not at_wms:
            values.update(
                wms_state="announced" if incoming else "released",
                wms_released_at=fields.Datetime.now(),
            )
        picking.write(values)
        for move, line in lines:
            move.write(
                {"wms_line_id": line["line_id"], "wms_released_qty": line["quantity"]}
            )
        picking.message_post(
            body=_(
                "%(what)s to the WMS %(wms)s (revision %(revision)s).",
                what=_("Announced") if incoming else _("Released"),
                wms=picking.wms_backend_id.name,
                revision=body["revision"],
            )
        )

    # -- cancel in two phases ----------------------------------------------------------
    def _cancel(self, backend, message, data):
        """Ask the WMS to cancel; cancel in Odoo what it confirms."""
        picking = self.env["stock.picking"].browse(data["picking_id"]).exists()
        if not picking:
            return False
        backend._advisory_lock(
            "wms.order",
            picking.wms_order_ref or picking.name,
            busy_message=_("%s is being changed by another job.", picking.name),
        )
        label = picking._wms_label()
        if picking.state == "cancel" or picking.wms_state != "cancel_requested":
            return picking
        if picking.state == "done":
            problem = _(
                "%s was shipped before the cancel reached the WMS; nothing was "
                "cancelled.",
                label,
            )
            if picking.wms_cancel_with_order:
                problem += " " + _(
                    "Sale order %s stays confirmed.", picking.sale_id.name
                )
                picking.wms_cancel_with_order = False
            return {"records": picking, "business_exception": problem}
        adapter = backend._wms_adapter_instance()
        status, answer = backend._wms_request(
            adapter.cancel(cancel_body(data["order_ref"], data.get("reason")))
        )
        outcome = adapter.cancel_outcome(status, answer)
        if outcome["status"] == "pending":
            return picking  # the WMS answers with an order.status event
        if outcome["status"] == "cancelled":
            picking._wms_cancel_confirmed()
            picking.message_post(body=_("Cancelled: the WMS confirmed the cancel."))
            return picking
        picking.wms_state = data.get("previous_state") or "acknowledged"
        problem = picking._wms_cancel_refused(
            outcome.get("message") or outcome.get("wms_status") or _("too late")
        )
        picking.message_post(body=problem)
        return {"records": picking, "business_exception": problem}
