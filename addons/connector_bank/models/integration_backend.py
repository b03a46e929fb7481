import json
import logging
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from odoo import _, api, fields, models
from odoo.exceptions import UserError

from odoo.addons.base.models.res_bank import sanitize_account_number
from odoo.addons.integration_core.exceptions import (
    AuthenticationFailed,
    IntegrationError,
    PermanentError,
    ValidationFailed,
)
from odoo.addons.integration_core.models.integration_backend import (
    archive_backends_of_removed_connector,
)
from odoo.addons.integration_core.tools.correlation import (
    correlation_context,
    current_correlation_id,
    new_correlation_id,
)

from ..parsers import (
    Statement,
    StatementLine,
    StatementParseError,
    file_hash,
    parse_statement_file,
)

_logger = logging.getLogger(__name__)

STATEMENT_FILE_TYPE = "bank.statement.file"
TRANSACTIONS_TYPE = "bank.transactions"
LINE_REVIEW_TYPE = "bank.line.unmatched"


class IntegrationBackend(models.Model):
    """The bank connector: statement files, a bank's JSON API, line reviews."""

    _inherit = "integration.backend"

    connector_type = fields.Selection(
        selection_add=[("bank", "Bank")],
        ondelete={"bank": archive_backends_of_removed_connector},
    )
    bank_auto_reconcile = fields.Boolean(
        "Reconcile certain matches",
        default=True,
        help="Reconcile a statement line with its invoice when the match is "
        "certain (reference and amount agree, no close second). Otherwise "
        "every match is only proposed for a person to confirm.",
    )
    bank_signal_overdue_days = fields.Integer(
        "Overdue after (days)",
        default=0,
        help="The Overview counts customer invoices due more than this many "
        "days ago with no payment matched (0: due before today).",
    )
    bank_page_size = fields.Integer(
        "Transactions per page", default=100, help="'limit' of each API call."
    )
    bank_max_pages = fields.Integer(
        "Pages per account and run",
        default=50,
        help="A pull stops after this many pages of one account; the next "
        "run resumes from the saved cursor.",
    )

    # ------------------------------------------------------------------
    # Configuration hooks
    # ------------------------------------------------------------------
    def _bank_default_sync_rules(self):
        return [
            {
                "business_object": "bank_statement",
                "system_of_record": "external",
                "direction": "import",
                "mode": "scheduled",
                "interval_minutes": 60,
            }
        ]

    def _bank_business_signals(self):
        """For finance: the statement lines of this connection that matched
        nothing certain (no match, or a match to confirm), and the company's
        customer invoices overdue by more than the backend's days with no
        payment matched to what is due (not paid, or paid in part; an
        invoice whose payment waits for its bank line, *In payment*, has
        one). The invoices count on the partial index
        ``account_move_overdue_open_idx``."""
        days = max(0, self.bank_signal_overdue_days)
        due_before = fields.Date.context_today(self) - timedelta(days=days)
        return [
            {
                "key": "unmatched_lines",
                "label": _("bank lines not matched"),
                "model": "account.bank.statement.line",
                "domain": [
                    ("bank_backend_id", "=", self.id),
                    ("is_reconciled", "=", False),
                    ("bank_match_state", "in", ("unmatched", "ambiguous")),
                ],
                "help": _("Confirm a proposed invoice or find the payer."),
                "views": {
                    "list": "connector_bank.bank_statement_line_view_tree",
                    "form": "connector_bank.bank_statement_line_view_form",
                    "search": "connector_bank.bank_statement_line_view_search",
                },
            },
            {
                "key": "overdue_unpaid",
                "label": _(
                    "invoices overdue over %(days)s d, no payment matched", days=days
                )
                if days
                else _("invoices overdue, no payment matched"),
                "model": "account.move",
                "domain": [
                    ("move_type", "=", "out_invoice"),
                    ("state", "=", "posted"),
                    ("payment_state", "in", ("not_paid", "partial")),
                    ("invoice_date_due", "<", due_before),
                ],
                "help": _("Remind the customer, or look for their payment."),
                "views": {
                    "list": "account.view_out_invoice_tree",
                    "form": "account.view_move_form",
                    "search": "account.view_account_invoice_filter",
                },
                "context": {"default_move_type": "out_invoice"},
            },
        ]

    @api.model
    def _business_signal_indexes(self):
        return super()._business_signal_indexes() + [
            (
                "account_move_overdue_open_idx",
                "account_move",
                ["company_id", "invoice_date_due"],
                "move_type = 'out_invoice' AND state = 'posted' "
                "AND payment_state IN ('not_paid', 'partial')",
            )
        ]

    def _bank_test_connection(self):
        if not self.base_url:
            return _(
                "No bank API is configured: this backend takes uploaded "
                "statement files only."
            )
        accounts = self._bank_get_accounts(self._bank_client())
        journals = self.env["bank.statement.importer"]._bank_journals_by_account(self)
        parts = []
        for account in accounts:
            number = sanitize_account_number(account.get("iban") or "")
            journal = journals.get(number)
            parts.append(
                _("%(iban)s -> %(journal)s", iban=number, journal=journal.name)
                if journal
                else _("%(iban)s (no bank journal has this account)", iban=number)
            )
        return _(
            "%(count)s account(s): %(accounts)s",
            count=len(accounts),
            accounts="; ".join(parts) or "-",
        )

    # ------------------------------------------------------------------
    # The bank's JSON API (contract in readme/DEVELOP.md)
    # ------------------------------------------------------------------
    def _bank_client(self):
        token = self._get_secret("api_key")
        return self._http_client(
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )

    def _bank_get_accounts(self, client):
        response = self._call("GET", "accounts", client=client, call_type="bank.api")
        try:
            accounts = response.json()["accounts"]
        except (ValueError, KeyError, TypeError) as exc:
            raise PermanentError(
                _("%s: the account list is not in the expected format.", self.name),
                response.text[:2000],
            ) from exc
        return [a for a in accounts if isinstance(a, dict) and a.get("iban")]

    @api.model
    def _bank_load_cursors(self, value):
        try:
            cursors = json.loads(value or "{}")
        except ValueError:
            return {}
        return cursors if isinstance(cursors, dict) else {}

    def _bank_poll_bank_statement(self, rule):
        """Pull new booked transactions of every account, page by page.

        Each page becomes one inbound message (key: account + SHA-256 of the
        body, so a page fetched twice is a duplicate) processed by its job;
        the run's calls and pages share one correlation id.
        The cursor of each account is saved after each page; a failing call
        stops the run, and the next run resumes where this one stopped.
        """
        self.ensure_one()
        if not self.base_url:
            return 0  # a backend of uploaded files only
        with correlation_context(new_correlation_id()):
            return self._bank_pull(rule)

    def _bank_pull(self, rule):
        # One correlation id per run: its calls, its pages and their lines.
        correlation_id = current_correlation_id()
        client = self._bank_client()
        cursors = self._bank_load_cursors(rule.cursor)
        Message = self.env["integration.message"]

        def store_page(iban, cursor, body):
            return Message._intake(
                self,
                TRANSACTIONS_TYPE,
                f"{iban}:{file_hash(body)}",
                body,
                external_id=f"{iban} after {cursor or 'start'}",
                correlation_id=correlation_id,
            )

        queued = 0
        try:
            for account in self._bank_get_accounts(client):
                iban = sanitize_account_number(account["iban"])
                cursor = cursors.get(iban)
                for _page in range(max(self.bank_max_pages, 1)):
                    params = {"limit": max(self.bank_page_size, 1)}
                    if cursor:
                        params["cursor"] = cursor
                    response = self._call(
                        "GET",
                        f"accounts/{iban}/transactions",
                        client=client,
                        call_type="bank.api",
                        params=params,
                    )
                    body = response.content
                    try:
                        page = json.loads(body)
                        transactions = page["transactions"]
                    except (ValueError, KeyError, TypeError):
                        # Stored anyway: the desk shows what the bank sent.
                        store_page(iban, cursor, body)
                        break
                    if transactions:
                        _message, created = store_page(iban, cursor, body)
                        queued += int(created)
                    cursor = page.get("next_cursor") or cursor
                    if cursor:
                        cursors[iban] = cursor
                        rule.cursor = json.dumps(cursors, sort_keys=True)
                    if not page.get("has_more"):
                        break
        except AuthenticationFailed:
            _logger.warning("%s: the bank refused the credentials", self.name)
        except IntegrationError as exc:
            # Health is recorded by _call; the next run resumes from the cursor.
            _logger.warning("%s: pull stopped: %s", self.name, exc.message)
        return queued

    # ------------------------------------------------------------------
    # Message handlers
    # ------------------------------------------------------------------
    def _bank_handle_statement_file(self, message, data):
        """A camt.053 / MT940 file: every statement of it, or nothing."""
        self.ensure_one()
        filename = message.external_id or message.name
        try:
            statements = parse_statement_file(data, filename)
        except StatementParseError as exc:
            raise ValidationFailed(
                _(
                    "%(backend)s: %(file)s cannot be read: %(error)s",
                    backend=self.name,
                    file=filename,
                    error=exc,
                ),
                [str(exc)],
            ) from exc
        return self.env["bank.statement.importer"]._import(
            self, statements, message, source_name=filename, create_statements=True
        )

    def _bank_handle_transactions(self, message, data):
        """One page of the bank API: its booked transactions as lines."""
        self.ensure_one()
        statement = self._bank_statement_from_page(data)
        return self.env["bank.statement.importer"]._import(
            self,
            [statement],
            message,
            source_name=message.external_id,
            create_statements=False,
        )

    def _bank_recheck_line_review(self, message, line):
        """Re-check hook of a line on the desk: match it again (the matcher
        updates the desk item itself); what remains for a person, or False."""
        self.ensure_one()
        if not line.exists() or line.is_reconciled:
            return False
        line.sudo().action_bank_match()
        return line._bank_exception_text() if line._bank_needs_person() else False

    # ------------------------------------------------------------------
    # API page -> statement
    # ------------------------------------------------------------------
    @api.model
    def _bank_decimal(self, value, where):
        try:
            return Decimal(str(value))
        except (InvalidOperation, ValueError) as exc:
            raise ValidationFailed(
                _("Invalid amount %(value)r at %(where)s", value=value, where=where)
            ) from exc

    @api.model
    def _bank_statement_from_page(self, data):
        account = data["account"]
        iban = sanitize_account_number(account["iban"])
        currency = (account.get("currency") or "").upper() or None
        lines = []
        for index, tx in enumerate(data["transactions"]):
            if (tx.get("status") or "booked") != "booked":
                continue
            where = f"$.transactions[{index}]"
            counterparty = tx.get("counterparty") or {}
            amount = self._bank_decimal(tx["amount"], f"{where}.amount")
            raw = {}
            if tx.get("original_amount") not in (None, "") and tx.get(
                "original_currency"
            ):
                raw["original_amount"] = str(
                    self._bank_decimal(
                        tx["original_amount"], f"{where}.original_amount"
                    )
                )
                raw["original_currency"] = tx["original_currency"].upper()
            try:
                booking_date = date.fromisoformat(tx["booking_date"])
                value_date = (
                    date.fromisoformat(tx["value_date"])
                    if tx.get("value_date")
                    else None
                )
            except ValueError as exc:
                raise ValidationFailed(
                    _("Invalid date at %(where)s: %(error)s", where=where, error=exc)
                ) from exc
            structured = tx.get("remittance_structured") or None
            unstructured = tx.get("remittance_unstructured") or None
            if structured and unstructured:
                raw["unstructured"] = unstructured
            lines.append(
                StatementLine(
                    date=booking_date,
                    value_date=value_date,
                    amount=amount,
                    currency=(tx.get("currency") or currency or "").upper() or None,
                    payment_ref=structured or unstructured,
                    structured_ref=structured,
                    bank_reference=tx["id"],
                    end_to_end_id=tx.get("end_to_end_id") or None,
                    partner_name=counterparty.get("name") or None,
                    partner_iban=counterparty.get("iban") or None,
                    partner_bic=counterparty.get("bic") or None,
                    transaction_code=tx.get("bank_transaction_code") or None,
                    raw=raw,
                )
            )
        return Statement(
            account_iban=iban,
            account_number=iban,
            currency=currency,
            date=max((line.date for line in lines), default=None),
            lines=lines,
        )

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------
    def action_bank_pull_now(self):
        """Pull the bank API now, in this request, and say what came."""
        self.ensure_one()
        rule = self._sync_rule("bank_statement")
        if not rule:
            raise UserError(_("This backend has no bank statement sync rule."))
        if not self.base_url:
            raise UserError(_("Set the bank API's base URL first."))
        queued = self.sudo()._bank_poll_bank_statement(rule.sudo())
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Bank pull"),
                "message": _(
                    "%(count)s new page(s) of transactions queued for import.",
                    count=queued,
                ),
                "type": "success" if not self.consecutive_failures else "warning",
                "sticky": False,
            },
        }
