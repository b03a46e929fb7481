import logging

from odoo import Command, _, api, models

from odoo.addons.base.models.res_bank import sanitize_account_number
from odoo.addons.integration_core.exceptions import (
    BusinessRuleError,
    MappingError,
    ValidationFailed,
)

from ..parsers import statement_import_keys

_logger = logging.getLogger(__name__)


class BankStatementImporter(models.AbstractModel):
    """Parsed statements -> journal by IBAN -> new lines only -> matching.

    Called by the message handlers, inside the message's savepoint: any
    error leaves nothing of the file or page behind.
    """

    _name = "bank.statement.importer"
    _description = "Bank statement import"

    # ------------------------------------------------------------------
    # Journal by IBAN
    # ------------------------------------------------------------------
    @api.model
    def _bank_journals_by_account(self, backend):
        """{sanitized account number: bank journal} of the backend's company."""
        journals = self.env["account.journal"].search(
            [
                ("type", "=", "bank"),
                ("company_id", "=", backend.company_id.id),
                ("bank_account_id", "!=", False),
            ]
        )
        result = {}
        for journal in journals:
            number = journal.bank_account_id.sanitized_acc_number
            result.setdefault(number, journal)
        return result

    @api.model
    def _journal_for(self, backend, statement, journals):
        number = statement.account_iban or statement.account_number
        key = sanitize_account_number(number or "")
        if not key:
            raise ValidationFailed(
                _("%s: the statement does not name its bank account.", backend.name)
            )
        journal = journals.get(key)
        if not journal:
            journal = self.env["integration.value.map"]._lookup(
                backend, "bank_account", key, default=False
            )
            if journal and (
                journal.type != "bank" or journal.company_id != backend.company_id
            ):
                raise BusinessRuleError(
                    _(
                        "%(backend)s: bank account %(iban)s is mapped to "
                        "%(journal)s, which is not a bank journal of %(company)s.",
                        backend=backend.name,
                        iban=key,
                        journal=journal.display_name,
                        company=backend.company_id.name,
                    )
                )
        if not journal:
            raise MappingError(
                backend.name,
                "bank_account",
                key,
                kind_label=_("Bank account"),
                message=_(
                    "%(backend)s: bank account %(iban)s is not the account of any "
                    "bank journal of %(company)s. Set it as the journal's bank "
                    "account (or map it here), then retry.",
                    backend=backend.name,
                    iban=key,
                    company=backend.company_id.name,
                ),
            )
        return journal

    @api.model
    def _check_currency(self, backend, journal, statement, source_name):
        journal_currency = journal.currency_id or journal.company_id.currency_id
        if statement.currency and statement.currency != journal_currency.name:
            raise BusinessRuleError(
                _(
                    "%(origin)s: the statement of %(iban)s is in %(currency)s but "
                    "journal %(journal)s keeps %(journal_currency)s.",
                    origin=source_name or backend.name,
                    iban=statement.account_iban or statement.account_number,
                    currency=statement.currency,
                    journal=journal.display_name,
                    journal_currency=journal_currency.name,
                )
            )
        for line in statement.lines:
            if line.currency and line.currency != journal_currency.name:
                raise ValidationFailed(
                    _(
                        "%(origin)s: the %(date)s entry of %(amount)s is in "
                        "%(currency)s, not in the account's %(journal_currency)s.",
                        origin=source_name or backend.name,
                        date=line.date,
                        amount=line.amount,
                        currency=line.currency,
                        journal_currency=journal_currency.name,
                    )
                )
        return journal_currency

    # ------------------------------------------------------------------
    # Import
    # ------------------------------------------------------------------
    @api.model
    def _import(self, backend, statements, message, source_name=None, **options):
        """Import the new lines of ``statements``; match them; open desk items.

        Returns what the message handler returns: the statements (or lines)
        created, for the message to link to.
        """
        create_statements = options.get("create_statements", True)
        backend = backend.with_company(backend.company_id)
        return self.with_company(backend.company_id)._import_for_company(
            backend, statements, message, source_name, create_statements
        )

    @api.model
    def _import_for_company(
        self, backend, statements, message, source_name, create_statements
    ):
        Line = self.env["account.bank.statement.line"]
        journals = self._bank_journals_by_account(backend)
        planned = []
        for statement in statements:
            journal = self._journal_for(backend, statement, journals)
            journal_currency = self._check_currency(
                backend, journal, statement, source_name
            )
            keys = [f"{journal.id}:{key}" for key in statement_import_keys(statement)]
            planned.append((statement, journal, journal_currency, keys))
        all_keys = [key for _s, _j, _c, keys in planned for key in keys]
        existing = set(
            Line.sudo()
            .search([("unique_import_id", "in", all_keys)])
            .mapped("unique_import_id")
        )
        partners = self._partners_by_account(
            [line.partner_iban for statement in statements for line in statement.lines],
            backend.company_id,
        )
        currencies = self._currencies(statements)
        created_statements = self.env["account.bank.statement"]
        created_lines = Line
        skipped = 0
        for statement, journal, journal_currency, keys in planned:
            new = [
                (line, key)
                for line, key in zip(statement.lines, keys)
                if key not in existing
            ]
            skipped += len(statement.lines) - len(new)
            existing.update(key for _line, key in new)
            if not new:
                continue
            values = [
                self._line_values(backend, journal, line, key, message, partners)
                for line, key in new
            ]
            for vals in values:
                self._set_foreign_currency(vals, journal_currency, currencies)
            # An overlapping import by another worker at the same moment fails
            # the lines' unique import id: the core retries the message once,
            # when those lines are visible and skipped.
            if create_statements:
                stmt = self._create_statement(
                    statement, journal, values, source_name, len(new)
                )
                created_statements |= stmt
                created_lines |= stmt.line_ids
            else:
                created_lines |= Line.create(values)
        summary = {
            "new": len(created_lines),
            "skipped": skipped,
            "statements": created_statements,
        }
        results = {}
        if created_lines:
            results = self.env["bank.line.matcher"]._match(
                created_lines, reconcile=backend.bank_auto_reconcile
            )
            created_lines._bank_update_desk_items(results)
        message.message_post(body=self._summary_text(summary, created_lines))
        records = created_statements or created_lines
        return {"records": records} if records else None

    @api.model
    def _summary_text(self, summary, lines):
        states = lines.mapped("bank_match_state")
        return _(
            "%(new)s new line(s) imported, %(skipped)s already imported. "
            "Reconciled: %(matched)s; to confirm: %(ambiguous)s; "
            "unmatched: %(unmatched)s.",
            new=summary["new"],
            skipped=summary["skipped"],
            matched=states.count("matched"),
            ambiguous=states.count("ambiguous"),
            unmatched=states.count("unmatched"),
        )

    @api.model
    def _create_statement(self, statement, journal, values, source_name, new_count):
        all_new = new_count == len(statement.lines)
        vals = {
            "name": statement.statement_id
            or _("%(journal)s %(date)s", journal=journal.code, date=statement.date),
            "reference": source_name,
            "line_ids": [Command.create(line_vals) for line_vals in values],
        }
        if not all_new and statement.statement_id:
            vals["name"] = _("%s (new lines)", statement.statement_id)
        if (
            all_new
            and statement.opening_balance is not None
            and statement.closing_balance is not None
        ):
            vals["balance_start"] = float(statement.opening_balance)
            vals["balance_end_real"] = float(statement.closing_balance)
        return self.env["account.bank.statement"].create(vals)

    @api.model
    def _line_values(self, backend, journal, line, key, message, partners):
        raw = dict(line.raw or {})
        texts = [
            text
            for text in (
                raw.get("unstructured"),
                raw.get("additional_info"),
                line.entry_reference,
            )
            if text and text != line.payment_ref
        ]
        partner = partners.get(sanitize_account_number(line.partner_iban or ""))
        return {
            "journal_id": journal.id,
            "date": line.date,
            "amount": float(line.amount),
            "payment_ref": line.payment_ref or line.partner_name or "/",
            "partner_name": line.partner_name,
            "partner_id": partner.id if partner else False,
            "account_number": line.partner_iban,
            "transaction_type": line.transaction_code,
            "unique_import_id": key,
            "bank_backend_id": backend.id,
            "bank_end_to_end_id": line.end_to_end_id,
            "bank_structured_ref": line.structured_ref,
            "bank_reference": line.bank_reference,
            "bank_texts": "\n".join(texts) or False,
            "integration_correlation_id": message.correlation_id,
            "transaction_details": {
                "bank_reference": line.bank_reference,
                "entry_reference": line.entry_reference,
                "end_to_end_id": line.end_to_end_id,
                "value_date": line.value_date.isoformat() if line.value_date else None,
                "partner_bic": line.partner_bic,
                "is_reversal": line.is_reversal,
                **{k: v for k, v in raw.items() if isinstance(v, str | int | bool)},
            },
            "original_amount": raw.get("original_amount"),
            "original_currency": raw.get("original_currency"),
        }

    @api.model
    def _set_foreign_currency(self, vals, journal_currency, currencies):
        amount = vals.pop("original_amount", None)
        code = vals.pop("original_currency", None)
        currency = currencies.get(code)
        if amount and currency and currency != journal_currency:
            vals["foreign_currency_id"] = currency.id
            vals["amount_currency"] = float(amount)

    @api.model
    def _currencies(self, statements):
        codes = {
            line.raw.get("original_currency")
            for statement in statements
            for line in statement.lines
            if line.raw and line.raw.get("original_currency")
        }
        if not codes:
            return {}
        found = (
            self.env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "in", list(codes))])
        )
        return {currency.name: currency for currency in found}

    @api.model
    def _partners_by_account(self, numbers, company):
        """{sanitized account number: commercial partner} in one query."""
        keys = {sanitize_account_number(n) for n in numbers if n}
        if not keys:
            return {}
        banks = (
            self.env["res.partner.bank"]
            .sudo()
            .search([("sanitized_acc_number", "in", list(keys))])
        )
        result = {}
        for bank in banks:
            partner = bank.partner_id.commercial_partner_id
            if partner.company_id and partner.company_id != company:
                continue
            result.setdefault(bank.sanitized_acc_number, partner)
        return result
