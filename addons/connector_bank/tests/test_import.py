"""Statement files in: idempotency, overlaps, errors, one transaction."""

from pathlib import Path
from unittest.mock import patch

from odoo.tests import tagged

from .common import EUR_IBAN, UNKNOWN_IBAN, BankCase, camt, trapped_jobs

FIXTURES = Path(__file__).parent / "fixtures"

ENTRIES = [
    {"amount": 120.0, "ref": "BANK-1", "text": "Donation", "name": "Somebody"},
    {"amount": -35.5, "ref": "BANK-2", "text": "Bank fees"},
]


@tagged("post_install", "-at_install")
class TestStatementImport(BankCase):
    def test_same_file_twice_imports_nothing_the_second_time(self):
        data = camt(ENTRIES, opening=1000.0)
        first = self.upload(data, "march.xml")
        self.assertEqual(first.result_kind, "success", first.result)
        message = self.message_of(first)
        self.assertEqual(message.state, "done")
        self.assertEqual(message.message_type, "bank.statement.file")
        self.assertEqual(message.external_id, "march.xml")
        lines = self.lines_of(message)
        self.assertEqual(len(lines), 2)
        self.assertEqual(sorted(lines.mapped("amount")), [-35.5, 120.0])
        statement = lines.statement_id
        self.assertEqual(len(statement), 1)
        self.assertEqual(statement.name, "STMT-1")
        self.assertEqual(statement.journal_id, self.journal)
        self.assertEqual(statement.balance_start, 1000.0)
        self.assertEqual(statement.balance_end_real, 1084.5)
        self.assertTrue(statement.is_complete)
        self.assertEqual(message._related_record(), statement)

        count = self.env["account.bank.statement.line"].search_count([])
        second = self.upload(data, "march-again.xml")
        self.assertEqual(second.result_kind, "warning")
        self.assertIn("already imported", second.result)
        self.assertEqual(second.message_id, first.message_id)
        self.assertEqual(message.duplicate_count, 1)
        self.assertEqual(
            self.env["account.bank.statement.line"].search_count([]), count
        )

    def test_overlapping_statement_adds_only_new_lines(self):
        first = self.import_entries(ENTRIES, statement_id="STMT-A")
        overlap = [
            ENTRIES[1],
            {"amount": 80.0, "ref": "BANK-3", "text": "Refund of deposit"},
        ]
        wizard = self.upload(camt(overlap, statement_id="STMT-B"), "b.xml")
        message = self.message_of(wizard)
        self.assertEqual(message.state, "done")
        new = self.lines_of(message)
        self.assertEqual(new.mapped("amount"), [80.0])
        self.assertEqual(new.statement_id.name, "STMT-B (new lines)")
        self.assertEqual(
            new.unique_import_id, f"{self.journal.id}:{EUR_IBAN}:ref:BANK-3"
        )
        all_lines = self.env["account.bank.statement.line"].search(
            [("journal_id", "=", self.journal.id)]
        )
        self.assertEqual(len(all_lines), 3)
        self.assertEqual(len(set(all_lines.mapped("unique_import_id"))), 3)
        self.assertIn("1 already imported", message.message_ids[0].body)
        # a file whose every line is known imports nothing and says so
        again = self.upload(camt(ENTRIES, statement_id="STMT-C"), "c.xml")
        self.assertEqual(again.result_kind, "warning")
        self.assertIn("already imported", again.result)
        self.assertEqual(len(first), 2)

    def test_lines_without_reference_get_a_content_hash_key(self):
        data = camt(ENTRIES).replace(b"<AcctSvcrRef>BANK-1</AcctSvcrRef>", b"")
        wizard = self.upload(data)
        lines = self.lines_of(self.message_of(wizard))
        keys = sorted(lines.mapped("unique_import_id"))
        self.assertTrue(keys[0].startswith(f"{self.journal.id}:{EUR_IBAN}:hash:"))
        self.assertEqual(keys[1], f"{self.journal.id}:{EUR_IBAN}:ref:BANK-2")

    def test_malformed_file_fails_naming_the_place_and_imports_nothing(self):
        count = self.env["account.bank.statement.line"].search_count([])
        data = (FIXTURES / "camt053_malformed_missing_amount.xml").read_bytes()
        wizard = self.upload(data, "broken.xml")
        self.assertEqual(wizard.result_kind, "danger")
        message = self.message_of(wizard)
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_category, "validation")
        self.assertIn("broken.xml", message.error_message)
        self.assertIn("missing <Amt>", message.error_message)
        self.assertIn("/Document/BkToCstmrStmt/Stmt/Ntry[2]", message.error_message)
        self.assertIn("missing <Amt>", wizard.result)
        self.assertTrue(message.needs_attention)
        self.assertFalse(message.next_retry_at)
        self.assertEqual(
            self.env["account.bank.statement.line"].search_count([]), count
        )
        self.assertEqual(message._payload_bytes(), data, "kept verbatim")

    def test_unknown_format_is_a_validation_error(self):
        wizard = self.upload(b"%PDF-1.4 not a statement", "scan.pdf")
        message = self.message_of(wizard)
        self.assertEqual(message.error_category, "validation")
        self.assertIn("unrecognised bank statement format", message.error_message)
        self.assertIn("scan.pdf", message.error_message)

    def test_unknown_iban_is_a_mapping_exception_then_mapped_and_retried(self):
        data = camt(ENTRIES, iban=UNKNOWN_IBAN, statement_id="STMT-X")
        wizard = self.upload(data, "other-bank.xml")
        message = self.message_of(wizard)
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_category, "mapping")
        self.assertEqual(message.mapping_kind, "bank_account")
        self.assertEqual(message.mapping_code, UNKNOWN_IBAN)
        self.assertIn(UNKNOWN_IBAN, message.error_message)
        self.assertIn("is not the account of any bank journal", message.error_message)
        self.assertFalse(self.lines_of(message))
        # The manager maps the IBAN to the journal from the desk, and retries.
        with trapped_jobs() as trap:
            mapping = self.env["integration.value.map.create"].create(
                {
                    "message_id": message.id,
                    "record_ref": f"account.journal,{self.journal.id}",
                }
            )
            mapping.action_confirm()
            self.perform_jobs(trap)
        self.assertEqual(message.state, "done")
        self.assertEqual(len(self.lines_of(message)), 2)

    def test_one_file_is_one_transaction(self):
        good = camt(ENTRIES, statement_id="GOOD")
        bad = camt([ENTRIES[0]], iban=UNKNOWN_IBAN, statement_id="BAD")
        # two statements in one document: the known account first
        data = good.replace(
            b"  </BkToCstmrStmt>",
            bad[bad.index(b"<Stmt>") : bad.index(b"</Stmt>") + 7]
            + b"\n  </BkToCstmrStmt>",
        )
        count = self.env["account.bank.statement.line"].search_count([])
        statements = self.env["account.bank.statement"].search_count([])
        wizard = self.upload(data, "two-accounts.xml")
        message = self.message_of(wizard)
        self.assertEqual(message.error_category, "mapping")
        self.assertEqual(
            self.env["account.bank.statement.line"].search_count([]), count
        )
        self.assertEqual(
            self.env["account.bank.statement"].search_count([]), statements
        )

    def test_statement_in_another_currency_than_its_journal(self):
        wizard = self.upload(camt(ENTRIES, currency="USD"), "usd.xml")
        message = self.message_of(wizard)
        self.assertEqual(message.error_category, "business", message.error_detail)
        self.assertIn("is in USD but journal", message.error_message)

    def test_mt940_file(self):
        data = (FIXTURES / "mt940_freetext.sta").read_bytes()
        from ..parsers import parse_statement_file

        (statement,) = parse_statement_file(data)
        self.journal.bank_account_id.acc_number = statement.account_number
        wizard = self.upload(data, "statement.sta")
        message = self.message_of(wizard)
        self.assertEqual(message.state, "done", message.error_message)
        self.assertEqual(len(self.lines_of(message)), len(statement.lines))

    def test_file_processed_by_its_job(self):
        data = camt(ENTRIES, statement_id="JOB")
        with trapped_jobs() as trap:
            message, created = self.env["integration.message"]._intake(
                self.backend,
                "bank.statement.file",
                "sha-of-file",
                data,
                external_id="j.xml",
            )
            self.assertTrue(created)
            trap.assert_jobs_count(1)
            self.assertEqual(
                trap.calls[0].properties["channel"], "root.integration.bank"
            )
            self.perform_jobs(trap)
        self.assertEqual(message.state, "done")
        lines = self.lines_of(message)
        self.assertEqual(len(lines), 2)
        # every line shows the message that brought it
        line = lines[0]
        self.assertEqual(line.integration_correlation_id, message.correlation_id)
        self.assertGreaterEqual(line.integration_message_count, 1)
        action = line.action_view_integration_messages()
        self.assertIn(message, self.env["integration.message"].search(action["domain"]))

    def test_concurrent_overlapping_import_is_retried(self):
        self.import_entries(ENTRIES, statement_id="FIRST")
        Line = type(self.env["account.bank.statement.line"])
        original_search = Line.search

        def blind_search(records, domain, *args, **kwargs):
            # as if another worker's lines were not visible yet
            if domain and domain[0][0] == "unique_import_id":
                return records.browse()
            return original_search(records, domain, *args, **kwargs)

        with patch.object(Line, "search", blind_search), trapped_jobs():
            wizard = self.upload(camt(ENTRIES, statement_id="SECOND"), "second.xml")
        message = self.message_of(wizard)
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_category, "transient")
        self.assertTrue(message.next_retry_at)

    def test_default_sync_rule_and_channel(self):
        rule = self.backend._sync_rule("bank_statement")
        self.assertEqual(
            (rule.system_of_record, rule.direction, rule.mode, rule.interval_minutes),
            ("external", "import", "scheduled", 60),
        )
        self.assertEqual(self.backend.channel, "root.integration.bank")
        self.assertEqual(
            self.env.ref("connector_bank.channel_integration_bank").complete_name,
            "root.integration.bank",
        )
