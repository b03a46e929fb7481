import logging

from odoo import api, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.base.models.res_bank import sanitize_account_number

from ..matching import scoring

_logger = logging.getLogger(__name__)

OPEN_INVOICE_TYPES = ("out_invoice", "in_invoice", "out_refund", "in_refund")


class BankLineMatcher(models.AbstractModel):
    """Feeds the pure scoring in bulk and applies its verdicts.

    A run reads the lines, their liquidity amounts, the partners of the
    counterparty accounts and every open invoice of the companies involved
    in a handful of queries, scores in memory, then writes the candidates in
    one create and reconciles the certain matches.
    """

    _name = "bank.line.matcher"
    _description = "Bank statement line matching"

    @api.model
    def _match(self, lines, reconcile=True):
        """Match ``lines``; returns ``{line id: result}`` (see scoring)."""
        lines = lines.filtered(lambda line: not line.is_reconciled)
        if not lines:
            return {}
        results = self._score(lines)
        self._store(lines, results)
        if reconcile:
            self._reconcile_certain(lines, results)
        return results

    @api.model
    def _score(self, lines):
        line_data = self._line_data(lines)
        invoice_data = self._open_invoice_data(lines.company_id)
        return {
            result["line_id"]: result
            for result in scoring.match_lines(line_data, invoice_data)
        }

    # ------------------------------------------------------------------
    # Reading, in bulk
    # ------------------------------------------------------------------
    @api.model
    def _line_data(self, lines):
        liquidity = {}
        accounts = lines.journal_id.default_account_id
        for row in self.env["account.move.line"].search_read(
            [("move_id", "in", lines.move_id.ids), ("account_id", "in", accounts.ids)],
            ["move_id", "balance"],
        ):
            liquidity[row["move_id"][0]] = row["balance"]
        numbers = {
            sanitize_account_number(number)
            for number in lines.mapped("account_number")
            if number
        }
        partners_by_number = {}
        if numbers:
            for bank in (
                self.env["res.partner.bank"]
                .sudo()
                .search([("sanitized_acc_number", "in", list(numbers))])
            ):
                partners_by_number.setdefault(bank.sanitized_acc_number, set()).add(
                    bank.partner_id.commercial_partner_id.id
                )
        data = []
        for line in lines:
            partner_ids = set(
                partners_by_number.get(sanitize_account_number(line.account_number))
                or ()
            )
            if line.partner_id:
                partner_ids.add(line.partner_id.commercial_partner_id.id)
            company_currency = line.company_id.currency_id
            data.append(
                {
                    "id": line.id,
                    "company_id": line.company_id.id,
                    "amount": line.amount,
                    "currency": (line.currency_id or company_currency).id,
                    "foreign_amount": line.amount_currency
                    if line.foreign_currency_id
                    else None,
                    "foreign_currency": line.foreign_currency_id.id or None,
                    "company_amount": liquidity.get(line.move_id.id, line.amount),
                    "company_currency": company_currency.id,
                    "structured_ref": line.bank_structured_ref,
                    "texts": [
                        text
                        for text in (
                            line.payment_ref,
                            line.bank_end_to_end_id,
                            *(line.bank_texts or "").splitlines(),
                        )
                        if text
                    ],
                    "partner_ids": partner_ids,
                    "partner_name": line.partner_name or line.partner_id.name,
                }
            )
        return data

    @api.model
    def _open_invoice_domain(self, companies):
        return [
            ("company_id", "in", companies.ids),
            ("state", "=", "posted"),
            ("move_type", "in", OPEN_INVOICE_TYPES),
            ("payment_state", "in", ("not_paid", "partial")),
        ]

    @api.model
    def _open_invoice_data(self, companies):
        rows = self.env["account.move"].search_read(
            self._open_invoice_domain(companies),
            [
                "name",
                "payment_reference",
                "ref",
                "commercial_partner_id",
                "move_type",
                "currency_id",
                "amount_residual",
                "amount_residual_signed",
                "invoice_date_due",
                "company_id",
            ],
        )
        return [
            {
                "id": row["id"],
                "company_id": row["company_id"][0],
                "name": row["name"],
                "payment_reference": row["payment_reference"],
                "ref": row["ref"],
                "partner_id": row["commercial_partner_id"]
                and row["commercial_partner_id"][0],
                "partner_name": row["commercial_partner_id"]
                and row["commercial_partner_id"][1],
                "move_type": row["move_type"],
                "currency": row["currency_id"][0],
                "residual": abs(row["amount_residual"]),
                "company_residual": abs(row["amount_residual_signed"]),
                "date_due": row["invoice_date_due"],
            }
            for row in rows
        ]

    # ------------------------------------------------------------------
    # Writing
    # ------------------------------------------------------------------
    @api.model
    def _store(self, lines, results):
        Candidate = self.env["bank.match.candidate"].sudo()
        Candidate.search([("statement_line_id", "in", lines.ids)]).unlink()
        values = []
        for line in lines:
            result = results[line.id]
            for rank, candidate in enumerate(result["candidates"], start=1):
                values.append(
                    {
                        "statement_line_id": line.id,
                        "move_id": candidate["invoice_id"],
                        "score": candidate["score"],
                        "rank": rank,
                        "reasons": "; ".join(candidate["reasons"]),
                    }
                )
        Candidate.create(values)
        by_state = {}
        for line in lines:
            by_state.setdefault(results[line.id]["state"], []).append(line.id)
        for state, ids in by_state.items():
            # "matched" is written once the reconciliation succeeded.
            lines.browse(ids).write(
                {
                    "bank_match_state": "ambiguous" if state == "matched" else state,
                    "bank_match_error": False,
                }
            )

    @api.model
    def _reconcile_certain(self, lines, results):
        Move = self.env["account.move"]
        for line in lines:
            result = results[line.id]
            if result["state"] != "matched":
                continue
            invoices = Move.browse(result["invoice_ids"])
            try:
                with self.env.cr.savepoint():
                    line._bank_reconcile_invoices(invoices)
            except (UserError, ValidationError) as exc:
                # Accounting refused (lock date, archived account...): the
                # match stays proposed, with the reason, for a person.
                _logger.info("Line %s not reconciled: %s", line.id, exc)
                line.write(
                    {"bank_match_state": "ambiguous", "bank_match_error": str(exc)}
                )
                result["state"] = "ambiguous"
            else:
                line.bank_match_state = "matched"
                line.bank_match_candidate_ids.filtered(
                    lambda c, ids=invoices.ids: c.move_id.id in ids
                ).sudo().selected = True
