"""Scheduled pulls from the bank JSON API (contract in readme/DEVELOP.md)
against a local server: cursor pagination, 429/5xx, token, idempotency."""

import json
from unittest.mock import patch

from odoo.tests import tagged

from .common import ACME_IBAN, EUR_IBAN, TOKEN, BankCase, FakeBank, trapped_jobs


def transaction(number, amount, **values):
    return {
        "id": f"TX-{number}",
        "booking_date": "2024-03-0%d" % (1 + number % 9),
        "value_date": None,
        "amount": f"{amount:.2f}",
        "currency": "EUR",
        "status": "booked",
        "end_to_end_id": f"E2E-{number}",
        "remittance_unstructured": f"Transfer {number}",
        "counterparty": {"name": "Somebody", "iban": None},
        **values,
    }


@tagged("post_install", "-at_install")
class TestBankApiPull(BankCase):
    def setUp(self):
        super().setUp()
        self.rule = self.backend._sync_rule("bank_statement")
        self.transactions = [transaction(n, 10.0 + n) for n in range(5)]

    def serve(self, transactions=None):
        bank = FakeBank(
            {EUR_IBAN: "EUR"}, {EUR_IBAN: transactions or self.transactions}
        )
        return bank

    def pull(self, bank):
        self.backend.write({"base_url": bank.url, "bank_page_size": 2})
        with trapped_jobs() as trap:
            result = self.rule._poll_job()
            messages = self.env["integration.message"].search(
                [
                    ("backend_id", "=", self.backend.id),
                    ("message_type", "=", "bank.transactions"),
                ]
            )
            self.perform_jobs(trap)
        return result, messages

    def api_lines(self):
        return self.env["account.bank.statement.line"].search(
            [("journal_id", "=", self.journal.id)], order="id"
        )

    def test_pull_pages_with_cursor_and_a_429_retry(self):
        with self.serve() as bank:
            bank.faults.append(("/transactions", 429, {"Retry-After": "0"}))
            result, messages = self.pull(bank)
        self.assertEqual(result, "3 message(s) queued")
        self.assertEqual(len(messages), 3, "5 transactions, 2 per page")
        self.assertEqual(set(messages.mapped("state")), {"done"})
        lines = self.api_lines()
        self.assertEqual(len(lines), 5)
        self.assertEqual(
            sorted(lines.mapped("unique_import_id")),
            sorted(f"{self.journal.id}:{EUR_IBAN}:ref:TX-{n}" for n in range(5)),
        )
        self.assertFalse(lines.statement_id, "API lines need no statement")
        self.assertEqual(json.loads(self.rule.cursor), {EUR_IBAN: "5"})
        calls = [r for r in bank.requests if r["path"].endswith("/transactions")]
        # the 429 was retried with the same cursor, then pages 0, 2, 4
        self.assertEqual(
            [c["args"].get("cursor") for c in calls], [None, None, "2", "4"]
        )
        self.assertEqual([c["args"]["limit"] for c in calls], ["2"] * 4)
        self.assertEqual(
            bank.requests[0]["headers"]["Authorization"], f"Bearer {TOKEN}"
        )
        # one correlation id for the run: its calls, pages and lines
        correlation = {r["headers"].get("X-Correlation-Id") for r in bank.requests}
        self.assertEqual(len(correlation), 1)
        self.assertEqual(set(messages.mapped("correlation_id")), correlation)
        self.assertEqual(set(lines.mapped("integration_correlation_id")), correlation)
        self.assertEqual(self.backend.consecutive_failures, 0)
        self.assertTrue(self.backend.last_success_at)

    def test_pull_is_idempotent(self):
        with self.serve() as bank:
            self.pull(bank)
            # the next run resumes from the cursor: nothing new, nothing made
            result, messages = self.pull(bank)
            self.assertEqual(result, "0 message(s) queued")
            self.assertEqual(len(messages), 3)
            # the cursor is lost: the same pages again are duplicates
            self.rule.cursor = False
            result, messages = self.pull(bank)
            self.assertEqual(result, "0 message(s) queued")
            self.assertEqual(sum(messages.mapped("duplicate_count")), 3)
            self.assertEqual(len(self.api_lines()), 5)
            # a new transaction arrives: only it comes in
            self.transactions.append(transaction(5, 99.0))
            result, messages = self.pull(bank)
        self.assertEqual(result, "1 message(s) queued")
        self.assertEqual(len(self.api_lines()), 6)
        self.assertEqual(json.loads(self.rule.cursor), {EUR_IBAN: "6"})

    def test_overlapping_pages_add_only_new_lines(self):
        with self.serve() as bank:
            self.pull(bank)
            # the bank re-sends the last two with a new one (another page body)
            self.rule.cursor = json.dumps({EUR_IBAN: "3"})
            self.transactions.append(transaction(5, 70.0))
            self.pull(bank)
        self.assertEqual(len(self.api_lines()), 6)

    def test_server_errors_stop_the_run_and_it_resumes(self):
        with self.serve() as bank:
            self.backend.max_attempts = 3
            bank.faults += [("/transactions", 503, {})] * 4  # > client retries
            self.backend.write({"base_url": bank.url, "bank_page_size": 2})
            client_sleeps = []
            original = type(self.backend)._bank_client

            def fast_client(backend):
                client = original(backend)
                client.sleep = client_sleeps.append
                return client

            with patch.object(type(self.backend), "_bank_client", fast_client):
                result, _messages = self.pull(bank)
                self.assertEqual(result, "0 message(s) queued")
                self.assertEqual(client_sleeps, [1.0, 2.0, 4.0])
                self.assertEqual(self.backend.consecutive_failures, 1)
                self.assertIn("HTTP 503", self.backend.last_error)
                self.assertFalse(self.rule.cursor)
                result, _messages = self.pull(bank)
        self.assertEqual(result, "3 message(s) queued")
        self.assertEqual(len(self.api_lines()), 5)
        self.assertEqual(self.backend.consecutive_failures, 0)

    def test_refused_token_records_the_failure(self):
        with self.serve() as bank:
            bank.token = "another-token"
            result, _messages = self.pull(bank)
        self.assertEqual(result, "0 message(s) queued")
        self.assertEqual(self.backend.auth_failures, 1)
        self.assertNotIn(TOKEN, self.backend.last_error or "")

    def test_pulled_payment_is_matched(self):
        invoice = self.invoice(self.acme, 321.0, payment_reference="RF21PULL")
        self.transactions = [
            transaction(
                1,
                321.0,
                remittance_structured="RF21PULL",
                counterparty={"name": "Acme GmbH", "iban": ACME_IBAN},
            ),
            transaction(2, 5.0, status="pending"),
        ]
        with self.serve(self.transactions) as bank:
            self.pull(bank)
        (line,) = self.api_lines()
        self.assertTrue(line.is_reconciled)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertEqual(line.partner_id, self.acme)

    def test_invalid_page_is_kept_and_fails_validation(self):
        self.transactions = [{**transaction(1, 10.0), "amount": "ten euros"}]
        with self.serve(self.transactions) as bank:
            _result, messages = self.pull(bank)
        self.assertEqual(messages.state, "failed")
        self.assertEqual(messages.error_category, "validation")
        self.assertIn("amount", messages.error_detail)
        self.assertFalse(self.api_lines())

    def test_connection_lists_accounts_and_journals(self):
        with FakeBank({EUR_IBAN: "EUR", "NL91ABNA0417164300": "EUR"}, {}) as bank:
            self.backend.base_url = bank.url
            text = self.backend._test_connection()
        self.assertIn("2 account(s)", text)
        self.assertIn(f"{EUR_IBAN} -> {self.journal.name}", text)
        self.assertIn("NL91ABNA0417164300 (no bank journal has this account)", text)
