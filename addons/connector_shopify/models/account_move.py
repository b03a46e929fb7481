from odoo import _, models

from odoo.addons.integration_core.tools import trace


class AccountMove(models.Model):
    """Credit notes of Shopify refunds show their integration messages;
    invoices of an order are steps of its trace."""

    _name = "account.move"
    _inherit = ["account.move", "integration.document.mixin"]

    def _integration_trace_orders(self):
        self.ensure_one()
        return self.line_ids.sale_line_ids.order_id

    def _integration_trace_root(self):
        self.ensure_one()
        orders = self._integration_trace_orders()
        if orders:
            return orders[:1]._integration_trace_root()
        return super()._integration_trace_root()

    def _integration_trace_steps(self):
        steps = super()._integration_trace_steps()
        customer = self.move_type in ("out_invoice", "out_refund")
        if not customer or self.state == "cancel":
            return steps
        ref = self._integration_trace_ref()
        detail = _(
            "%(name)s, %(amount)s %(currency)s",
            name=self.name or _("draft"),
            amount=f"{self.amount_total:,.2f}",
            currency=self.currency_id.name,
        )
        refund = self.move_type == "out_refund"
        label = _("Credit note") if refund else _("Invoiced")
        values = dict(
            ref,
            system="Odoo",
            detail=detail,
            sequence=trace.SEQUENCE["invoiced"] + (5 if refund else 0),
        )
        orders = self._integration_trace_orders()
        if orders and not refund:
            values["slot"] = f"invoiced:sale.order,{orders[:1].id}"
        if self.state == "posted":
            at = self._integration_trace_tracked_at("state", "posted")
            steps.append(
                trace.step("account.invoiced", label, at or self.create_date, **values)
            )
        else:
            steps.append(
                trace.pending_step(
                    "account.invoiced",
                    label,
                    expect=_("invoice %s not posted yet", self.name or _("draft")),
                    **values,
                )
            )
        return steps
