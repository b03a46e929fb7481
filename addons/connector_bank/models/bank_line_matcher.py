import logging

from odoo import api, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

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
        self.env.flush_all()
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
    # Reading, in bulk: one query for the lines, one for the counterparty
    # accounts, one for the open invoices (the ORM would read the fields
    # the statement lines inherit from their journal entries record by
    # record batch, several times slower on large imports).
    # ------------------------------------------------------------------
    @api.model
    def _line_data(self, lines):
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT l.id, m.company_id, l.amount,
                   COALESCE(j.currency_id, c.currency_id), l.amount_currency,
                   l.foreign_currency_id, c.currency_id, l.bank_structured_ref,
                   l.payment_ref, l.bank_end_to_end_id, l.bank_texts,
                   l.partner_name, l.account_number, p.commercial_partner_id,
                   p.name, liquidity.balance
              FROM account_bank_statement_line l
              JOIN account_move m ON m.id = l.move_id
              JOIN account_journal j ON j.id = m.journal_id
              JOIN res_company c ON c.id = m.company_id
         LEFT JOIN res_partner p ON p.id = l.partner_id
         LEFT JOIN LATERAL (
                   SELECT sum(item.balance) AS balance
                     FROM account_move_line item
                    WHERE item.move_id = m.id
                      AND item.account_id = j.default_account_id) liquidity
                ON TRUE
             WHERE l.id = ANY(%s)
          ORDER BY l.id
            """,
            [lines.ids],
        )
        rows = self.env.cr.fetchall()
        partners_by_number = self._partners_by_number(
            {row[12] for row in rows if row[12]}
        )
        data = []
        for (
            line_id,
            company_id,
            amount,
            currency_id,
            amount_currency,
            foreign_currency_id,
            company_currency_id,
            structured_ref,
            payment_ref,
            end_to_end_id,
            texts,
            partner_name,
            account_number,
            commercial_partner_id,
            own_partner_name,
            liquidity_balance,
        ) in rows:
            partner_ids = set(
                partners_by_number.get(sanitize_account_number(account_number)) or ()
            )
            if commercial_partner_id:
                partner_ids.add(commercial_partner_id)
            data.append(
                {
                    "id": line_id,
                    "company_id": company_id,
                    "amount": amount,
                    "currency": currency_id,
                    "foreign_amount": amount_currency if foreign_currency_id else None,
                    "foreign_currency": foreign_currency_id or None,
                    "company_amount": amount
                    if liquidity_balance is None
                    else liquidity_balance,
                    "company_currency": company_currency_id,
                    "structured_ref": structured_ref,
                    "texts": [
                        text
                        for text in (
                            payment_ref,
                            end_to_end_id,
                            *(texts or "").splitlines(),
                        )
                        if text
                    ],
                    "partner_ids": partner_ids,
                    "partner_name": partner_name or own_partner_name,
                }
            )
        return data

    @api.model
    def _partners_by_number(self, numbers):
        """{sanitized account number: {commercial partner ids}}."""
        keys = list({sanitize_account_number(n) for n in numbers if n})
        if not keys:
            return {}
        self.env.cr.execute(
            """
            SELECT b.sanitized_acc_number, p.commercial_partner_id
              FROM res_partner_bank b
              JOIN res_partner p ON p.id = b.partner_id
             WHERE b.sanitized_acc_number = ANY(%s) AND b.active
            """,
            [keys],
        )
        result = {}
        for number, partner_id in self.env.cr.fetchall():
            result.setdefault(number, set()).add(partner_id)
        return result

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
        query = self.env["account.move"]._search(self._open_invoice_domain(companies))
        self.env.cr.execute(
            SQL(
                """
                SELECT m.id, m.company_id, m.name, m.payment_reference, m.ref,
                       m.commercial_partner_id, p.name, m.move_type, m.currency_id,
                       m.amount_residual, m.amount_residual_signed,
                       m.invoice_date_due
                  FROM account_move m
             LEFT JOIN res_partner p ON p.id = m.commercial_partner_id
                 WHERE m.id IN %s
                """,
                query.subselect(),
            )
        )
        return [
            {
                "id": move_id,
                "company_id": company_id,
                "name": name,
                "payment_reference": payment_reference,
                "ref": ref,
                "partner_id": partner_id,
                "partner_name": partner_name,
                "move_type": move_type,
                "currency": currency_id,
                "residual": abs(residual or 0.0),
                "company_residual": abs(residual_signed or 0.0),
                "date_due": date_due,
            }
            for (
                move_id,
                company_id,
                name,
                payment_reference,
                ref,
                partner_id,
                partner_name,
                move_type,
                currency_id,
                residual,
                residual_signed,
                date_due,
            ) in self.env.cr.fetchall()
        ]

    # ------------------------------------------------------------------
    # Writing, in bulk
    # ------------------------------------------------------------------
    @api.model
    def _store(self, lines, results):
        """Replace the lines' candidates and set their matching state.

        Plain SQL: tens of thousands of candidate rows in a few statements.
        The written fields feed no stored computation; the cache is
        invalidated below.
        """
        cr = self.env.cr
        self.env.flush_all()
        cr.execute(
            "DELETE FROM bank_match_candidate WHERE statement_line_id = ANY(%s)",
            [lines.ids],
        )
        rows = [
            SQL(
                "(%s, %s, %s, %s, %s, false, %s, %s, %s, %s)",
                line_id,
                candidate["invoice_id"],
                rank,
                candidate["score"],
                "; ".join(candidate["reasons"]),
                self.env.uid,
                self.env.uid,
                SQL("now() at time zone 'UTC'"),
                SQL("now() at time zone 'UTC'"),
            )
            for line_id in lines.ids
            for rank, candidate in enumerate(results[line_id]["candidates"], start=1)
        ]
        for start in range(0, len(rows), 1000):
            cr.execute(
                SQL(
                    """
                    INSERT INTO bank_match_candidate
                        (statement_line_id, move_id, rank, score, reasons,
                         selected, create_uid, write_uid, create_date,
                         write_date)
                    VALUES %s
                    """,
                    SQL(", ").join(rows[start : start + 1000]),
                )
            )
        cr.execute(
            """
            UPDATE bank_match_candidate c
               SET company_id = m.company_id
              FROM account_bank_statement_line l
              JOIN account_move m ON m.id = l.move_id
             WHERE l.id = c.statement_line_id AND c.statement_line_id = ANY(%s)
            """,
            [lines.ids],
        )
        by_state = {}
        for line_id in lines.ids:
            state = results[line_id]["state"]
            # "matched" is written once the reconciliation succeeded.
            by_state.setdefault(
                "ambiguous" if state == "matched" else state, []
            ).append(line_id)
        for state, ids in by_state.items():
            cr.execute(
                """
                UPDATE account_bank_statement_line
                   SET bank_match_state = %s, bank_match_error = NULL,
                       write_uid = %s, write_date = now() at time zone 'UTC'
                 WHERE id = ANY(%s)
                """,
                [state, self.env.uid, ids],
            )
        self.env["bank.match.candidate"].invalidate_model()
        lines.invalidate_recordset(
            ["bank_match_state", "bank_match_error", "bank_match_candidate_ids"]
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
