from odoo import _, fields, models

from odoo.addons.integration_core.tools import trace


class StockPicking(models.Model):
    _name = "stock.picking"
    _inherit = ["stock.picking", "integration.document.mixin"]

    shopify_fulfillment_id = fields.Char(
        "Shopify fulfillment", readonly=True, copy=False
    )

    def _integration_reference(self):
        # "#1042 / WH/OUT/00007": the Shopify order people know, then the picking
        order = self.sale_id.shopify_backend_id and self.sale_id.client_order_ref
        if order:
            return f"{order} / {self.name}"
        return super()._integration_reference()

    def _create_backorder(self):
        # a backorder is the rest of the same order: the same correlation id
        backorders = super()._create_backorder()
        for backorder in backorders:
            original = backorder.backorder_id
            if original.integration_correlation_id:
                backorder.integration_correlation_id = (
                    original.integration_correlation_id
                )
        return backorders

    def _action_done(self):
        result = super()._action_done()
        self.env["shopify.fulfillment.exporter"]._queue_pickings(
            self.filtered(lambda p: p.state == "done")
        )
        return result

    # -- the order trace (integration_core/tools/trace.py) ----------------------------
    def _integration_trace_root(self):
        self.ensure_one()
        if self.sale_id and hasattr(self.sale_id, "_integration_trace_steps"):
            return self.sale_id._integration_trace_root()
        return super()._integration_trace_root()

    def _integration_trace_shipped_lines(self):
        """``"2 x MUG-WHITE (lot L1), ..."``: what the delivery carried."""
        self.ensure_one()
        lines = [
            (
                line.quantity,
                line.product_id.default_code or line.product_id.display_name,
                line.lot_id.name or line.lot_name or None,
            )
            for line in self.move_line_ids.filtered(
                lambda ml: ml.move_id.state == "done" and ml.quantity
            )
        ]
        return trace.quantities_text(lines)

    def _integration_trace_steps(self):
        steps = super()._integration_trace_steps()
        if self.picking_type_code != "outgoing" or self.state == "cancel":
            return steps
        ref = self._integration_trace_ref()
        slot = f"shipped:stock.picking,{self.id}"
        # Odoo's own view of the shipment: a warehouse connector's, when it
        # has one on the trace, fills the same slot and replaces it
        if self.state == "done":
            steps.append(
                trace.step(
                    "stock.shipped",
                    _("Shipped"),
                    self.date_done,
                    system="Odoo",
                    detail=self._integration_trace_shipped_lines(),
                    slot=slot,
                    fallback=True,
                    **ref,
                )
            )
        else:
            steps.append(
                trace.pending_step(
                    "stock.shipped",
                    _("Shipped"),
                    expect=_("%s not shipped yet", self.name),
                    system="Odoo",
                    slot=slot,
                    fallback=True,
                    **ref,
                )
            )
        backend = self.sale_id.shopify_backend_id
        if not backend or self.location_dest_id.usage != "customer":
            return steps
        sent = self._integration_trace_messages(
            [("direction", "=", "out"), ("message_type", "=", "fulfillment.create")],
            order="id desc",
        )[:1]
        if self.shopify_fulfillment_id:
            steps.append(
                trace.step(
                    "shopify.fulfillment",
                    _("Fulfillment sent to Shopify"),
                    sent.done_at or self.write_date,
                    system=backend.name,
                    detail=_("Tracking %s", self.carrier_tracking_ref or _("none")),
                    message_id=sent.id or False,
                    **ref,
                )
            )
        else:
            steps.append(
                trace.pending_step(
                    "shopify.fulfillment",
                    _("Fulfillment sent to Shopify"),
                    expect=_("fulfillment of %s not sent to Shopify yet", self.name),
                    system=backend.name,
                    message_id=sent.id or False,
                    **ref,
                )
            )
        return steps
