from odoo import _, fields, models
from odoo.exceptions import UserError


class BankMatchCandidate(models.Model):
    """An open invoice that a statement line may pay, with its score and the
    reasons, ranked; one click on *Confirm* reconciles them."""

    _name = "bank.match.candidate"
    _description = "Bank match candidate"
    _order = "statement_line_id, rank, id"

    statement_line_id = fields.Many2one(
        "account.bank.statement.line",
        required=True,
        ondelete="cascade",
        index=True,
        readonly=True,
    )
    move_id = fields.Many2one(
        "account.move", "Invoice", required=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(
        related="statement_line_id.company_id", store=True, index=True
    )
    rank = fields.Integer(readonly=True)
    score = fields.Integer(readonly=True, help="0 to 100.")
    reasons = fields.Char(readonly=True)
    selected = fields.Boolean(
        "Reconciled with", readonly=True, help="The line was reconciled with it."
    )
    partner_id = fields.Many2one(related="move_id.commercial_partner_id")
    move_type = fields.Selection(related="move_id.move_type")
    invoice_date_due = fields.Date(related="move_id.invoice_date_due")
    amount_residual = fields.Monetary(
        related="move_id.amount_residual", currency_field="currency_id"
    )
    currency_id = fields.Many2one(related="move_id.currency_id")
    payment_state = fields.Selection(related="move_id.payment_state")
    line_reconciled = fields.Boolean(related="statement_line_id.is_reconciled")

    def _describe(self):
        self.ensure_one()
        move = self.move_id
        return _(
            "%(rank)s. %(invoice)s, %(partner)s, %(residual)s %(currency)s open, "
            "due %(due)s (score %(score)s: %(reasons)s)",
            rank=self.rank,
            invoice=move.name,
            partner=move.commercial_partner_id.name or "-",
            residual=f"{move.amount_residual:,.2f}",
            currency=move.currency_id.name,
            due=move.invoice_date_due or "-",
            score=self.score,
            reasons=self.reasons or "-",
        )

    def action_confirm(self):
        """Reconcile the statement line with this invoice, and close the
        line's desk item."""
        self.ensure_one()
        line = self.statement_line_id
        line._bank_check_finance_user()
        if line.is_reconciled:
            raise UserError(_("This bank line is already reconciled."))
        if self.move_id.payment_state not in ("not_paid", "partial"):
            raise UserError(
                _("%s is no longer open: match the line again.", self.move_id.name)
            )
        # Checked above: a finance user of the line's company. The journal
        # entry of a statement line is written with the rights of the
        # accounting engine, as Odoo's own reconciliation does.
        company = line.company_id
        line_sudo = line.sudo().with_company(company)
        line_sudo._bank_reconcile_invoices(self.move_id.sudo())
        self.sudo().selected = True
        line_sudo.write({"bank_match_state": "confirmed", "bank_match_error": False})
        line_sudo._bank_update_desk_items()
        messages = (
            self.env["integration.message"]
            .sudo()
            .search([("res_model", "=", line._name), ("res_id", "=", line.id)])
        )
        for message in messages:
            message.message_post(
                body=_(
                    "%(user)s confirmed %(invoice)s: the line is reconciled.",
                    user=self.env.user.name,
                    invoice=self.move_id.name,
                )
            )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Reconciled"),
                "message": _(
                    "%(line)s is reconciled with %(invoice)s (%(state)s).",
                    line=line._bank_description(),
                    invoice=self.move_id.name,
                    state=dict(
                        self.move_id._fields["payment_state"]._description_selection(
                            self.env
                        )
                    ).get(self.move_id.payment_state),
                ),
                "type": "success",
                "sticky": False,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_open_invoice(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": "account.move",
            "res_id": self.move_id.id,
            "view_mode": "form",
        }
