"""Matching statement lines to open invoices and bills, and reconciling them
in Odoo 17 Community's own accounting objects."""

from datetime import date

from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import ACME_IBAN, SUPPLIER_IBAN, USD_IBAN, BankCase

PAID = ("paid", "in_payment")


@tagged("post_install", "-at_install")
class TestMatching(BankCase):
    def test_structured_reference_reconciles_and_pays_the_invoice(self):
        invoice = self.invoice(self.acme, 250.0, payment_reference="RF18539007547034")
        same_amount = self.invoice(self.acme, 250.0)
        (line,) = self.import_entries(
            [
                {
                    "amount": 250.0,
                    "ref": "B-1",
                    "structured": "RF18 5390 0754 7034",
                    "name": "ACME GMBH",
                }
            ]
        )
        self.assertTrue(line.is_reconciled)
        self.assertEqual(line.bank_match_state, "matched")
        self.assertIn(invoice.payment_state, PAID)
        self.assertEqual(invoice.amount_residual, 0.0)
        self.assertEqual(same_amount.payment_state, "not_paid")
        self.assertEqual(line.partner_id, self.acme)
        chosen = line.bank_match_candidate_ids.filtered("selected")
        self.assertEqual(chosen.move_id, invoice)
        self.assertIn("structured reference", chosen.reasons)
        self.assertFalse(self.review_of(line), "nothing for a person to do")
        # the journal entry: bank account debited, customer's receivable paid
        receivable = line.move_id.line_ids.filtered(
            lambda item: item.account_type == "asset_receivable"
        )
        self.assertEqual(receivable.credit, 250.0)
        self.assertTrue(receivable.reconciled)

    def test_free_text_reference_and_counterparty_account(self):
        invoice = self.invoice(self.acme, 99.9)
        text = f"Payment {invoice.name.replace('/', ' ')} thank you"
        (line,) = self.import_entries(
            [{"amount": 99.9, "ref": "B-2", "text": text, "iban": ACME_IBAN}]
        )
        self.assertTrue(line.is_reconciled)
        self.assertIn(invoice.payment_state, PAID)
        self.assertEqual(line.partner_id, self.acme, "found by the IBAN")

    def test_partial_payment(self):
        invoice = self.invoice(self.acme, 500.0, payment_reference="RF47INV2024X")
        (line,) = self.import_entries(
            [{"amount": 200.0, "ref": "B-3", "structured": "RF47INV2024X"}]
        )
        self.assertTrue(line.is_reconciled)
        self.assertEqual(invoice.payment_state, "partial")
        self.assertEqual(invoice.amount_residual, 300.0)
        # the rest arrives later and closes the invoice
        (rest,) = self.import_entries(
            [{"amount": 300.0, "ref": "B-4", "structured": "RF47INV2024X"}],
            statement_id="STMT-2",
        )
        self.assertTrue(rest.is_reconciled)
        self.assertIn(invoice.payment_state, PAID)

    def test_two_candidates_are_ranked_and_confirmed_with_one_click(self):
        older = self.invoice(
            self.acme,
            300.0,
            invoice_date=date(2024, 1, 10),
            invoice_date_due=date(2024, 1, 10),
        )
        newer = self.invoice(
            self.acme,
            300.0,
            invoice_date=date(2024, 2, 10),
            invoice_date_due=date(2024, 2, 10),
        )
        (line,) = self.import_entries(
            [
                {
                    "amount": 300.0,
                    "ref": "B-5",
                    "text": "March payment",
                    "iban": ACME_IBAN,
                    "name": "Acme GmbH",
                }
            ]
        )
        self.assertFalse(line.is_reconciled)
        self.assertEqual(line.bank_match_state, "ambiguous")
        candidates = line.bank_match_candidate_ids.sorted("rank")
        self.assertEqual(candidates.move_id, older | newer)
        self.assertEqual(candidates[0].move_id, older, "oldest due first on a tie")
        self.assertEqual(candidates[0].score, candidates[1].score)
        self.assertIn(
            "counterparty account belongs to Acme GmbH", candidates[0].reasons
        )
        # a desk item for the finance clerk, listing the candidates
        review = self.review_of(line)
        self.assertEqual(review.state, "done")
        self.assertTrue(review.needs_attention)
        self.assertEqual(review.error_category, "business")
        self.assertIn("could be the one", review.error_message)
        self.assertIn(older.name, review.business_exception)
        self.assertIn(newer.name, review.business_exception)
        self.assertEqual(review._related_record(), line)
        self.assertEqual(review.bank_candidate_ids, candidates)
        self.assertEqual(review.correlation_id, line.integration_correlation_id)
        # one click
        result = candidates[1].with_user(self.accountant).action_confirm()
        self.assertEqual(result["params"]["type"], "success")
        self.assertTrue(line.is_reconciled)
        self.assertEqual(line.bank_match_state, "confirmed")
        self.assertIn(newer.payment_state, PAID)
        self.assertEqual(older.payment_state, "not_paid")
        self.assertTrue(candidates[1].selected)
        self.assertFalse(review.needs_attention)
        self.assertFalse(review.business_exception)
        self.assertEqual(review.state, "done")

    def test_confirm_needs_an_invoicing_user(self):
        self.invoice(self.acme, 40.0)
        self.invoice(self.acme, 40.0)
        (line,) = self.import_entries(
            [{"amount": 40.0, "ref": "B-6", "iban": ACME_IBAN, "name": "Acme"}]
        )
        desk_only = new_test_user(
            self.env,
            login="desk_only",
            groups="integration_core.group_integration_user",
            company_id=self.company.id,
        )
        candidate = line.bank_match_candidate_ids[0]
        with self.assertRaises(AccessError):
            candidate.with_user(desk_only).action_confirm()
        self.assertFalse(line.is_reconciled)

    def test_no_match_is_a_finance_exception_with_the_best_candidates(self):
        open_invoice = self.invoice(self.acme, 250.0)
        (line,) = self.import_entries(
            [{"amount": 77.0, "ref": "B-7", "text": "Mystery", "name": "ACME"}]
        )
        self.assertFalse(line.is_reconciled)
        self.assertEqual(line.bank_match_state, "unmatched")
        review = self.review_of(line)
        self.assertTrue(review.needs_attention)
        self.assertIn("no open invoice matches this payment", review.error_message)
        self.assertIn("Closest open invoices", review.business_exception)
        self.assertIn(open_invoice.name, review.business_exception)
        self.assertIn("+77.00 EUR", review.name)
        # the statement line's own form says the same
        self.assertIn(open_invoice.name, line.bank_match_note)

    def test_match_again_after_the_missing_invoice_is_posted(self):
        (line,) = self.import_entries(
            [{"amount": 640.0, "ref": "B-8", "structured": "RF55ORDER42"}]
        )
        review = self.review_of(line)
        self.assertEqual(line.bank_match_state, "unmatched")
        self.assertTrue(review.needs_attention)
        invoice = self.invoice(self.beta, 640.0, payment_reference="RF55ORDER42")
        review.with_user(self.accountant).action_retry()
        self.assertTrue(line.is_reconciled)
        self.assertIn(invoice.payment_state, PAID)
        self.assertFalse(review.needs_attention)
        self.assertFalse(review.business_exception)

    def test_cron_matches_waiting_lines_again(self):
        (line,) = self.import_entries(
            [{"amount": 55.0, "ref": "B-9", "structured": "RF66LATE"}]
        )
        invoice = self.invoice(self.beta, 55.0, payment_reference="RF66LATE")
        self.assertEqual(
            self.env["account.bank.statement.line"]._cron_bank_rematch_open_lines(), 1
        )
        self.assertTrue(line.is_reconciled)
        self.assertIn(invoice.payment_state, PAID)
        self.assertFalse(self.review_of(line).needs_attention)

    def test_foreign_currency_journal(self):
        invoice = self.invoice(
            self.acme, 110.0, currency=self.usd, payment_reference="RF12USD0001"
        )
        (line,) = self.import_entries(
            [{"amount": 110.0, "ref": "U-1", "structured": "RF12USD0001"}],
            iban=USD_IBAN,
            currency="USD",
        )
        self.assertEqual(line.journal_id, self.usd_journal)
        self.assertTrue(line.is_reconciled)
        self.assertIn(invoice.payment_state, PAID)

    def test_foreign_currency_line_in_a_euro_account(self):
        # The customer paid USD 110.00; the bank credited EUR 99.00.
        invoice = self.invoice(self.acme, 110.0, currency=self.usd)
        (line,) = self.import_entries(
            [
                {
                    "amount": 99.0,
                    "ref": "F-1",
                    "text": f"Invoice {invoice.name}",
                    "instructed": (110.0, "USD"),
                    "iban": ACME_IBAN,
                }
            ]
        )
        self.assertEqual(line.foreign_currency_id, self.usd)
        self.assertEqual(line.amount_currency, 110.0)
        self.assertTrue(line.is_reconciled)
        self.assertIn(invoice.payment_state, PAID)
        self.assertEqual(invoice.amount_residual, 0.0)

    def test_vendor_bill_paid_by_a_debit_line(self):
        bill = self.invoice(self.supplier, 74.5, move_type="in_invoice", ref="SUP-8812")
        customer_invoice = self.invoice(self.acme, 74.5, ref="SUP-8812")
        (line,) = self.import_entries(
            [
                {
                    "amount": -74.5,
                    "ref": "D-1",
                    "text": "Invoice SUP-8812",
                    "iban": SUPPLIER_IBAN,
                    "name": "Office Supplies Ltd",
                }
            ]
        )
        self.assertTrue(line.is_reconciled)
        self.assertIn(bill.payment_state, PAID)
        self.assertEqual(customer_invoice.payment_state, "not_paid", "wrong way")
        payable = line.move_id.line_ids.filtered(
            lambda item: item.account_type == "liability_payable"
        )
        self.assertEqual(payable.debit, 74.5)

    def test_one_payment_for_two_invoices(self):
        first = self.invoice(self.acme, 100.0)
        second = self.invoice(self.acme, 150.0)
        (line,) = self.import_entries(
            [{"amount": 250.0, "ref": "G-1", "text": f"{first.name} + {second.name}"}]
        )
        self.assertTrue(line.is_reconciled)
        self.assertIn(first.payment_state, PAID)
        self.assertIn(second.payment_state, PAID)
        self.assertEqual(len(line.bank_match_candidate_ids.filtered("selected")), 2)

    def test_overpayment_leaves_a_customer_credit(self):
        invoice = self.invoice(self.acme, 100.0, payment_reference="RF77OVER")
        (line,) = self.import_entries(
            [
                {
                    "amount": 120.0,
                    "ref": "O-1",
                    "structured": "RF77OVER",
                    "iban": ACME_IBAN,
                }
            ]
        )
        self.assertTrue(line.is_reconciled)
        self.assertIn(invoice.payment_state, PAID)
        excess = line.move_id.line_ids.filtered(
            lambda item: item.account_type == "asset_receivable" and not item.reconciled
        )
        self.assertEqual(excess.amount_residual, -20.0)
        self.assertEqual(excess.partner_id, self.acme)

    def test_undo_puts_the_line_back_on_the_desk(self):
        invoice = self.invoice(self.acme, 42.0, payment_reference="RF88UNDO")
        (line,) = self.import_entries(
            [{"amount": 42.0, "ref": "U-9", "structured": "RF88UNDO"}]
        )
        self.assertTrue(line.is_reconciled)
        line.with_user(self.accountant).action_bank_undo_reconciliation()
        self.assertFalse(line.is_reconciled)
        self.assertEqual(invoice.payment_state, "not_paid")
        review = self.review_of(line)
        self.assertTrue(review.needs_attention)
        line.bank_match_candidate_ids[:1].with_user(self.accountant).action_confirm()
        self.assertIn(invoice.payment_state, PAID)
        self.assertFalse(review.needs_attention)

    def test_no_auto_reconcile_proposes_everything(self):
        self.backend.bank_auto_reconcile = False
        invoice = self.invoice(self.acme, 61.0, payment_reference="RF99MANUAL")
        (line,) = self.import_entries(
            [{"amount": 61.0, "ref": "M-1", "structured": "RF99MANUAL"}]
        )
        self.assertFalse(line.is_reconciled)
        self.assertEqual(line.bank_match_state, "ambiguous")
        self.assertEqual(line.bank_match_candidate_ids.move_id, invoice)
        self.assertTrue(self.review_of(line).needs_attention)
