import json

from odoo import Command, _, api, fields, models
from odoo.exceptions import AccessError, UserError

from odoo.addons.integration_core.tools import trace

from .integration_backend import LINE_REVIEW_TYPE

FINANCE_GROUP = "account.group_account_invoice"
STATEMENT_TYPES = ("bank.statement.file", "bank.transactions")
RECONCILABLE_TYPES = ("asset_receivable", "liability_payable")
MATCH_STATES = [
    ("matched", "Reconciled automatically"),
    ("confirmed", "Confirmed by a person"),
    ("ambiguous", "To confirm"),
    ("unmatched", "No match"),
]


class AccountBankStatementLine(models.Model):
    """Imported bank transactions: import id, bank references, matching
    verdict with ranked candidates, and the integration messages."""

    _name = "account.bank.statement.line"
    _inherit = ["account.bank.statement.line", "integration.document.mixin"]

    unique_import_id = fields.Char(
        "Import id",
        readonly=True,
        copy=False,
        help="Journal + the bank's reference (else the end-to-end id, else a "
        "hash of date, amount, account and reference): the same transaction "
        "is never imported twice.",
    )
    bank_backend_id = fields.Many2one(
        "integration.backend",
        "Bank connection",
        readonly=True,
        copy=False,
        index="btree_not_null",
        ondelete="set null",
    )
    bank_reference = fields.Char("Bank reference", readonly=True, copy=False)
    bank_end_to_end_id = fields.Char("End-to-end id", readonly=True, copy=False)
    bank_structured_ref = fields.Char("Structured reference", readonly=True, copy=False)
    bank_texts = fields.Text("Other remittance texts", readonly=True, copy=False)
    bank_match_state = fields.Selection(
        MATCH_STATES, "Matching", readonly=True, copy=False, index=True
    )
    bank_match_error = fields.Char("Not reconciled because", readonly=True, copy=False)
    bank_match_candidate_ids = fields.One2many(
        "bank.match.candidate", "statement_line_id", "Candidate invoices"
    )
    bank_match_note = fields.Text(
        "Matching summary", compute="_compute_bank_match_note"
    )

    _sql_constraints = [
        (
            "unique_import_id",
            "unique (unique_import_id)",
            "A bank transaction can only be imported once.",
        )
    ]

    @api.depends(
        "bank_match_state",
        "bank_match_candidate_ids.score",
        "bank_match_error",
        "is_reconciled",
    )
    def _compute_bank_match_note(self):
        for line in self:
            line.bank_match_note = (
                line._bank_exception_text() if line.bank_match_state else False
            )

    # ------------------------------------------------------------------
    # Texts for people
    # ------------------------------------------------------------------
    def _bank_description(self):
        """'2024-02-01 +250.00 EUR Acme GmbH 'INV/2024/0001'' for people."""
        self.ensure_one()
        parts = [str(self.date), f"{self.amount:+,.2f} {self.currency_id.name}"]
        if self.foreign_currency_id:
            parts.append(
                f"({self.amount_currency:+,.2f} {self.foreign_currency_id.name})"
            )
        if self.partner_name or self.partner_id:
            parts.append(self.partner_name or self.partner_id.name)
        if self.payment_ref and self.payment_ref != "/":
            parts.append(f"'{self.payment_ref}'")
        return " ".join(parts)

    def _bank_label(self):
        return _("Bank line %s", self._bank_description())

    def _bank_exception_text(self):
        """What the finance exception says: the problem, then the candidates."""
        self.ensure_one()
        label = self._bank_label()
        candidates = self.bank_match_candidate_ids.sorted("rank")
        if self.is_reconciled:
            chosen = candidates.filtered("selected").move_id
            return _(
                "%(label)s: reconciled with %(invoices)s.",
                label=label,
                invoices=", ".join(chosen.mapped("name")) or _("journal items"),
            )
        if self.bank_match_state == "ambiguous":
            head = _(
                "%(label)s: %(count)s open invoice(s) could be the one this payment "
                "settles; confirm the right one.",
                label=label,
                count=len(candidates),
            )
            if self.bank_match_error:
                head += " " + _(
                    "(Not reconciled automatically: %s)", self.bank_match_error
                )
        else:
            head = _("%s: no open invoice matches this payment.", label)
        lines = [head]
        if candidates:
            lines.append(
                _("Candidates:")
                if self.bank_match_state == "ambiguous"
                else _("Closest open invoices:")
            )
            lines += [candidate._describe() for candidate in candidates]
        lines.append(
            _(
                "Confirm a candidate, or post the missing invoice and press "
                "'Match again', or reconcile the line by hand."
            )
        )
        return "\n".join(lines)

    # ------------------------------------------------------------------
    # Reconciliation, the Community way
    # ------------------------------------------------------------------
    def _bank_reconcile_invoices(self, invoices):
        """Reconcile this line with the open receivable/payable items of
        ``invoices`` (oldest due first), as far as its amount goes.

        The line's suspense item is replaced by one item per invoice on the
        invoice's receivable or payable account, each reconciled with it;
        what the line pays beyond the invoices stays open on the partner's
        account (an outstanding credit). Amounts are converted with the
        line's own rate; Odoo books any exchange difference.
        """
        self.ensure_one()
        if not invoices:
            raise UserError(_("Choose the invoice to reconcile with."))
        liquidity, suspense, other = self.with_context(
            skip_account_move_synchronization=True
        )._seek_for_lines()
        if self.is_reconciled or other or len(suspense) != 1:
            raise UserError(
                _(
                    "%s is already (partly) reconciled: undo its reconciliation first.",
                    self.display_name,
                )
            )
        partner = invoices.commercial_partner_id
        if len(partner) != 1:
            raise UserError(_("The invoices must belong to one partner."))
        targets = invoices.line_ids.filtered(
            lambda item: (
                item.account_type in RECONCILABLE_TYPES
                and not item.reconciled
                and not item.currency_id.is_zero(item.amount_residual_currency)
            )
        ).sorted(lambda item: (item.date_maturity or item.date, item.id))
        if not targets:
            raise UserError(_("%s has nothing left to pay.", invoices[0].name))
        currency = suspense.currency_id
        company_currency = suspense.company_currency_id
        left_currency = suspense.amount_currency
        left_balance = suspense.balance
        parts = []
        for target in targets:
            if currency.is_zero(left_currency):
                break
            counterpart = self._prepare_counterpart_amounts_using_st_line_rate(
                target.currency_id,
                -target.amount_residual,
                -target.amount_residual_currency,
            )
            if currency.compare_amounts(counterpart["amount_currency"], 0) != (
                currency.compare_amounts(left_currency, 0)
            ):
                continue  # the invoice is paid the other way round
            if abs(counterpart["amount_currency"]) >= abs(left_currency):
                amount_currency, balance = left_currency, left_balance
            else:
                amount_currency = counterpart["amount_currency"]
                balance = counterpart["balance"]
            parts.append((target, amount_currency, balance))
            left_currency -= amount_currency
            left_balance = company_currency.round(left_balance - balance)
        if not parts:
            raise UserError(
                _(
                    "%(line)s does not pay %(invoices)s: the money goes the other way.",
                    line=self.display_name,
                    invoices=", ".join(invoices.mapped("name")),
                )
            )
        label = self.payment_ref or "/"
        new_items = [
            {
                "name": label,
                "account_id": target.account_id.id,
                "partner_id": partner.id,
                "currency_id": currency.id,
                "amount_currency": amount_currency,
                "balance": balance,
            }
            for target, amount_currency, balance in parts
        ]
        if not currency.is_zero(left_currency) or not company_currency.is_zero(
            left_balance
        ):
            new_items.append(
                {
                    "name": _("%s (paid in excess)", label),
                    "account_id": parts[0][0].account_id.id,
                    "partner_id": partner.id,
                    "currency_id": currency.id,
                    "amount_currency": left_currency,
                    "balance": left_balance,
                }
            )
        move = self.move_id
        before = move.line_ids
        move.with_context(force_delete=True).write(
            {
                "line_ids": [
                    Command.update(liquidity.id, {"partner_id": partner.id}),
                    Command.delete(suspense.id),
                ]
                + [Command.create(vals) for vals in new_items]
            }
        )
        created = (move.line_ids - before).sorted("id")
        for (target, _amount, _balance), item in zip(parts, created):
            (item + target).reconcile()
        return True

    # ------------------------------------------------------------------
    # Desk items: one per line that needs a person
    # ------------------------------------------------------------------
    def _bank_needs_person(self):
        self.ensure_one()
        return not self.is_reconciled and self.bank_match_state in (
            "ambiguous",
            "unmatched",
        )

    def _bank_review_payload(self):
        self.ensure_one()
        return json.dumps(
            {
                "statement_line_id": self.id,
                "import_id": self.unique_import_id,
                "date": str(self.date),
                "amount": self.amount,
                "currency": self.currency_id.name,
                "label": self.payment_ref,
                "partner_name": self.partner_name or self.partner_id.name or None,
            }
        )

    def _bank_update_desk_items(self, results=None):
        """Put each line that needs a person on the desk (the core's desk
        items, kind ``bank.line.unmatched``), refresh the ones there, and
        close those whose line no longer needs one. ``results`` is the
        matcher's answer; the lines' own fields already hold it."""
        Message = self.env["integration.message"].sudo()
        lines = self.filtered(
            lambda line: line.bank_backend_id and line.unique_import_id
        )
        for backend in lines.bank_backend_id:
            backend_lines = lines.filtered(
                lambda line, b=backend: line.bank_backend_id == b
            )
            waiting = backend_lines.filtered(lambda line: line._bank_needs_person())
            for line in waiting:
                Message._desk_item_raise(
                    backend,
                    LINE_REVIEW_TYPE,
                    line,
                    line._bank_exception_text(),
                    key=line.unique_import_id,
                    payload=line._bank_review_payload(),
                    name=line._bank_description()[:120],
                )
            Message._desk_item_resolve(
                backend,
                LINE_REVIEW_TYPE,
                backend_lines - waiting,
                key_of=lambda line: line.unique_import_id,
                note=_("Reconciled: the line no longer needs a person."),
            )

    # ------------------------------------------------------------------
    # Buttons and cron
    # ------------------------------------------------------------------
    def _bank_check_finance_user(self):
        if not self.env.su and not self.env.user.has_group(FINANCE_GROUP):
            raise AccessError(
                _("Only invoicing users can match and reconcile bank lines.")
            )

    def action_bank_match(self):
        """Match again now (e.g. after the missing invoice was posted)."""
        self._bank_check_finance_user()
        # Statement lines are written with the rights of the accounting
        # engine: Community gives invoicing users read access only.
        lines = self.sudo().filtered(lambda line: not line.is_reconciled)
        if not lines:
            raise UserError(_("These lines are already reconciled."))
        for company in lines.company_id:
            company_lines = lines.filtered(
                lambda line, c=company: line.company_id == c
            ).with_company(company)
            reconcile = all(company_lines.bank_backend_id.mapped("bank_auto_reconcile"))
            results = (
                self.env["bank.line.matcher"]
                .sudo()
                .with_company(company)
                ._match(company_lines, reconcile=reconcile)
            )
            company_lines._bank_update_desk_items(results)
        return True

    def action_bank_undo_reconciliation(self):
        """Undo the reconciliation: the line goes back to the suspense
        account and waits for a person again."""
        self._bank_check_finance_user()
        lines = self.sudo().filtered("is_reconciled")
        for line in lines:
            line.with_company(line.company_id).action_undo_reconciliation()
        lines.write({"bank_match_state": "ambiguous"})
        # Not matched again: a person undid it, a person decides next.
        lines._bank_update_desk_items({line.id: None for line in lines})
        return True

    def action_undo_reconciliation(self):
        result = super().action_undo_reconciliation()
        self.write({"bank_match_state": False, "bank_match_error": False})
        self.bank_match_candidate_ids.sudo().write({"selected": False})
        return result

    def action_open_bank_match_candidates(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [
                (
                    self.env.ref("connector_bank.bank_statement_line_view_form").id,
                    "form",
                )
            ],
        }

    @api.model
    def _cron_bank_rematch_open_lines(self, limit=5000):
        """Lines waiting for a person are matched again, in bulk per company."""
        lines = self.search(
            [
                ("bank_match_state", "in", ("ambiguous", "unmatched")),
                ("is_reconciled", "=", False),
                ("bank_backend_id", "!=", False),
            ],
            limit=limit,
            order="id",
        )
        if lines:
            lines.action_bank_match()
        return len(lines)

    # ------------------------------------------------------------------
    # The order trace (integration_core/tools/trace.py)
    # ------------------------------------------------------------------
    def _bank_trace_invoices(self):
        self.ensure_one()
        if self.is_reconciled:
            items = self.move_id.line_ids
            invoices = (
                items.matched_debit_ids.debit_move_id
                | items.matched_credit_ids.credit_move_id
            ).move_id.filtered(lambda move: move.is_invoice(include_receipts=True))
            if invoices:
                return invoices
        return self.bank_match_candidate_ids.sorted("rank").move_id

    def _integration_trace_root(self):
        self.ensure_one()
        invoices = self._bank_trace_invoices()
        if invoices and hasattr(invoices, "_integration_trace_root"):
            return invoices[:1]._integration_trace_root()
        return super()._integration_trace_root()

    def _integration_trace_steps(self):
        steps = super()._integration_trace_steps()
        ref = dict(
            self._integration_trace_ref(),
            system=self.bank_backend_id.name or self.journal_id.name,
            document=self._bank_description(),
        )
        imported = self._integration_trace_messages(
            [("direction", "=", "in"), ("message_type", "in", STATEMENT_TYPES)],
            order="id",
        )[:1]
        review = []
        if self.bank_backend_id and self.unique_import_id:
            item = (
                self.env["integration.message"]
                ._desk_item_find(
                    self.bank_backend_id,
                    LINE_REVIEW_TYPE,
                    self,
                    lambda line: line.unique_import_id,
                )
                .get(self.unique_import_id)
            )
            if item and item.needs_attention:
                review = [item.id]
        steps.append(
            trace.step(
                "bank.payment",
                _("Payment received"),
                self.create_date,
                detail=_(
                    "%(amount)s %(currency)s booked %(date)s, '%(ref)s'",
                    amount=f"{self.amount:+,.2f}",
                    currency=self.currency_id.name,
                    date=self.date,
                    ref=self.payment_ref or "-",
                ),
                message_id=imported.id or False,
                exception_ids=review,
                **ref,
            )
        )
        if self.is_reconciled:
            partials = (
                self.move_id.line_ids.matched_debit_ids
                | self.move_id.line_ids.matched_credit_ids
            )
            at = max(partials.mapped("create_date"), default=None)
            how = dict(MATCH_STATES).get(self.bank_match_state) or _("by hand")
            steps.append(
                trace.step(
                    "bank.matched",
                    _("Payment matched"),
                    at or self.write_date,
                    detail=_(
                        "%(how)s with %(invoices)s",
                        how=how,
                        invoices=", ".join(self._bank_trace_invoices().mapped("name")),
                    ),
                    **ref,
                )
            )
        return steps
