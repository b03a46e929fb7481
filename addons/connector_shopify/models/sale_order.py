from odoo import _, fields, models

from odoo.addons.integration_core.tools import trace

# the messages that bring an order's whole state
ORDER_TYPES = ("orders/create", "orders/updated", "orders/cancelled")


class SaleOrder(models.Model):
    _name = "sale.order"
    _inherit = ["sale.order", "integration.document.mixin"]

    shopify_backend_id = fields.Many2one(
        "integration.backend", "Shopify backend", readonly=True, copy=False, index=True
    )
    shopify_order_id = fields.Char(
        "Shopify order id", readonly=True, copy=False, index=True
    )
    shopify_financial_status = fields.Char(readonly=True, copy=False)
    shopify_digest = fields.Char(
        "Shopify state applied",
        readonly=True,
        copy=False,
        help="Fingerprint of the order version last applied (same-second "
        "versions with other content are applied too).",
    )
    shopify_taxes_included = fields.Boolean(
        readonly=True, copy=False, help="Shopify prices of this order include taxes."
    )
    shopify_refund_ids = fields.One2many(
        "shopify.refund", "sale_order_id", "Shopify refunds", readonly=True
    )

    def _prepare_confirmation_values(self):
        """A Shopify order keeps the date the customer ordered in Shopify
        (Odoo would set the confirmation time)."""
        values = super()._prepare_confirmation_values()
        if self and all(self.mapped("shopify_order_id")):
            values.pop("date_order", None)
        return values

    # -- the order trace (integration_core/tools/trace.py) ----------------------------
    _integration_trace_rank = 10

    def _integration_trace_documents(self):
        """Its deliveries and invoices are steps of the order's trace."""
        return super()._integration_trace_documents() + [
            self.picking_ids,
            self.invoice_ids,
        ]

    def _integration_trace_steps(self):
        steps = super()._integration_trace_steps()
        ref = self._integration_trace_ref()
        received = self.env["integration.message"]
        if self.shopify_backend_id:
            orders = self._integration_trace_messages(
                [("direction", "=", "in"), ("message_type", "in", ORDER_TYPES)],
                order="received_at, id",
            )
            received = orders[:1]
            steps.append(
                trace.step(
                    "shopify.received",
                    _("Received from Shopify"),
                    received.received_at or self.create_date,
                    system=self.shopify_backend_id.name,
                    detail=_(
                        "Shopify order %(name)s, payment %(status)s",
                        name=self.client_order_ref or self.shopify_order_id,
                        status=self.shopify_financial_status or "-",
                    ),
                    message_id=received.id or False,
                    **ref,
                )
            )
        if self.state == "sale":
            # a person's confirmation is tracked in the chatter; the
            # importer's is quiet, but its deliveries are made by it
            at = self._integration_trace_tracked_at("state", "sale") or min(
                self.picking_ids.mapped("create_date"), default=None
            )
            # the order message whose processing confirmed it
            confirming = received
            if at and self.shopify_backend_id:
                confirming = (
                    orders.filtered(lambda m: m.done_at and m.done_at >= at)[:1]
                    or received
                )
            steps.append(
                trace.step(
                    "sale.confirmed",
                    _("Confirmed"),
                    at or received.done_at or self.date_order,
                    system="Odoo",
                    detail=_(
                        "%(name)s, %(amount)s %(currency)s",
                        name=self.name,
                        amount=f"{self.amount_total:,.2f}",
                        currency=self.currency_id.name,
                    ),
                    message_id=confirming.id or False,
                    **ref,
                )
            )
            posted = self.invoice_ids.filtered(
                lambda m: m.move_type == "out_invoice" and m.state == "posted"
            )
            if not posted:
                steps.append(
                    trace.pending_step(
                        "sale.invoiced",
                        _("Invoiced"),
                        expect=_("not invoiced yet"),
                        system="Odoo",
                        slot=f"invoiced:sale.order,{self.id}",
                        fallback=True,
                        **ref,
                    )
                )
        elif self.state in ("draft", "sent"):
            steps.append(
                trace.pending_step(
                    "sale.confirmed",
                    _("Confirmed"),
                    expect=_(
                        "not confirmed yet (payment %s)",
                        self.shopify_financial_status or "-",
                    ),
                    system="Odoo",
                    **ref,
                )
            )
        elif self.state == "cancel":
            steps.append(
                trace.step(
                    "sale.cancelled",
                    _("Cancelled"),
                    self._integration_trace_tracked_at("state", "cancel")
                    or self.write_date,
                    sequence=trace.SEQUENCE["confirmed"] + 1,
                    system="Odoo",
                    **ref,
                )
            )
        return steps
