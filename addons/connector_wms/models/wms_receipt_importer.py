from odoo import _, models

from odoo.addons.integration_core.exceptions import (
    BusinessRuleError,
)

from ..contract import parse_receipt
from .wms_shipment_importer import _naive, qty_text


class WmsReceiptImporter(models.AbstractModel):
    """Applies receipt confirmations to incoming transfers: received
    quantities and lots, rejected quantities to the backend's location for
    them, backorders for the rest."""

    _name = "wms.receipt.importer"
    _inherit = "wms.confirmation.mixin"
    _description = "WMS: apply receipt confirmations"

    def _apply(self, backend, message, event):
        receipt = self._parse(parse_receipt, event)
        ref = receipt.receipt_ref
        self._claim(backend, "receipt", receipt.receipt_id, ref, _("Receipt"))
        Shipment = self.env["wms.shipment"]
        picking = self._find_picking(backend, ref)
        if not picking:
            raise BusinessRuleError(
                _(
                    "%(wms)s: the WMS confirmed receipt %(id)s of '%(ref)s', but "
                    "no open "
                    "receipt has that reference.",
                    wms=backend.name,
                    id=receipt.receipt_id,
                    ref=ref,
                )
            )
        if picking.picking_type_code != "incoming":
            raise self._refuse(picking, _("the WMS sent a receipt for a delivery."))
        reject_location = backend.wms_reject_location_id
        for line in receipt.lines:
            if line.quantity_rejected and not reject_location:
                raise self._refuse(
                    picking,
                    _(
                        "the WMS rejected %(qty)s of SKU '%(sku)s' (%(reason)s), and "
                        "the "
                        "backend has no location for rejected goods: set one, then "
                        "Retry.",
                        qty=qty_text(line.quantity_rejected),
                        sku=line.sku,
                        reason=line.reject_reason or _("no reason given"),
                    ),
                )
        plan = self._plan(picking, receipt.lines, _("received"), with_rejected=True)
        complete = self._complete(
            backend,
            "receipt",
            ref,
            {"shipment_count": receipt.sequence if receipt.final else 0},
        )
        if plan:
            values = []
            for move, chunks in plan.items():
                move.move_line_ids.unlink()
                for quantity, lot_name, expiry, rejected in chunks:
                    lot = (
                        self._lot(move.product_id, picking.company_id, lot_name, expiry)
                        if lot_name
                        else self.env["stock.lot"]
                    )
                    values.append(
                        {
                            "move_id": move.id,
                            "picking_id": picking.id,
                            "product_id": move.product_id.id,
                            "product_uom_id": move.product_uom.id,
                            "location_id": move.location_id.id,
                            "location_dest_id": (
                                reject_location if rejected else move.location_dest_id
                            ).id,
                            "lot_id": lot.id or False,
                            "quantity": float(quantity),
                            "picked": True,
                        }
                    )
                move.picked = True
            self.env["stock.move.line"].create(values)
            (picking.move_ids - self.env["stock.move"].concat(*plan)).filtered(
                lambda m: m.state not in ("done", "cancel")
            ).write({"picked": False})
            cancel_rest = complete and backend.wms_remainder_policy == "cancel"
            picking.with_context(
                wms_confirmation=True, cancel_backorder=cancel_rest
            )._action_done()
            picking.wms_state = "received"
        if not complete:
            picking.backorder_ids.filtered(
                lambda p: p.state not in ("done", "cancel")
            ).write({"wms_state": "announced", "wms_order_ref": ref})
        Shipment.create(
            {
                "name": _("Receipt %(seq)s of %(ref)s", seq=receipt.sequence, ref=ref),
                "kind": "receipt",
                "backend_id": backend.id,
                "external_id": receipt.receipt_id,
                "event_id": receipt.event_id,
                "order_ref": ref,
                "sequence": receipt.sequence,
                "final": receipt.final,
                "shipment_count": receipt.sequence if receipt.final else 0,
                "shipped_at": _naive(receipt.occurred_at),
                "picking_id": picking.id,
                "message_id": message.id,
            }
        )
        return picking
