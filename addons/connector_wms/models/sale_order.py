from odoo import _, models

from .stock_picking import AT_THE_WMS


class SaleOrder(models.Model):
    _inherit = "sale.order"

    def _wms_deliveries_at_the_wms(self):
        """Open deliveries of these orders that the WMS holds (released, not
        shipped): they cancel in two phases."""
        return self.picking_ids.filtered(
            lambda p: (
                p.picking_type_code == "outgoing"
                and p.state not in ("done", "cancel")
                and p.wms_state in AT_THE_WMS
            )
        )

    def _action_cancel(self):
        """Two phases when a delivery is at the WMS, like the delivery's own
        cancel: the cancel is asked of the WMS, and the order stays
        confirmed until the WMS confirms (then it is cancelled, deliveries
        and all) or refuses (already picked: it stays confirmed, the goods
        leave, and the refusal is on the desk naming delivery and order)."""
        if self.env.context.get("wms_cancel_confirmed"):
            return super()._action_cancel()
        at_wms = self._wms_deliveries_at_the_wms()
        waiting = at_wms.sale_id & self
        for order in waiting:
            pickings = at_wms.filtered(lambda p, o=order: p.sale_id == o)
            for picking in pickings.filtered(
                lambda p: p.wms_state != "cancel_requested"
            ):
                picking._wms_request_cancel(
                    reason=_("Sale order %s cancelled in Odoo", order.name)
                )
            pickings.wms_cancel_with_order = True
            order.message_post(
                body=_(
                    "Cancel asked of the warehouse system for %(pickings)s: the "
                    "order is cancelled when the WMS confirms, and stays "
                    "confirmed if the WMS refuses (already picked).",
                    pickings=", ".join(pickings.mapped("name")),
                )
            )
        others = self - waiting
        if others:
            return super(SaleOrder, others)._action_cancel()
        return True

    def _wms_finish_cancel(self):
        """The WMS confirmed the cancel of a delivery this order's cancel
        asked for: cancel the order once no delivery of it is at the WMS any
        more (one still waits for its answer, or was refused and will ship:
        the order stays confirmed)."""
        for order in self.filtered(lambda o: o.state != "cancel"):
            if order._wms_deliveries_at_the_wms():
                continue
            order.with_context(wms_cancel_confirmed=True)._action_cancel()
            order.message_post(
                body=_("Cancelled: the warehouse system confirmed the cancel.")
            )
