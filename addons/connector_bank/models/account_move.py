from odoo import _, models

from odoo.addons.integration_core.tools import trace


class AccountMove(models.Model):
    """Invoices: the bank lines that pay them are steps of their trace."""

    _name = "account.move"
    _inherit = ["account.move", "integration.document.mixin"]

    def _bank_trace_lines(self):
        """The bank statement lines reconciled with this invoice, and those
        proposed for it that wait for a person."""
        self.ensure_one()
        receivable = self.line_ids.filtered(
            lambda item: item.account_type in ("asset_receivable", "liability_payable")
        )
        counterparts = (
            receivable.matched_debit_ids.debit_move_id
            | receivable.matched_credit_ids.credit_move_id
        )
        reconciled = counterparts.move_id.statement_line_id
        candidates = (
            self.env["bank.match.candidate"]
            .search([("move_id", "=", self.id)])
            .statement_line_id.filtered(lambda line: not line.is_reconciled)
        )
        return reconciled | candidates

    def _integration_trace_documents(self):
        return super()._integration_trace_documents() + [self._bank_trace_lines()]

    def _integration_trace_steps(self):
        steps = super()._integration_trace_steps()
        if self.move_type != "out_invoice" or self.state != "posted":
            return steps
        if self.payment_state in ("paid", "in_payment", "reversed"):
            return steps
        if self._bank_trace_lines().filtered("is_reconciled"):
            return steps
        steps.append(
            trace.pending_step(
                "bank.payment",
                _("Payment received and matched"),
                expect=_("%s not paid yet", self.name),
                system=_("Bank"),
                **self._integration_trace_ref(),
            )
        )
        return steps
