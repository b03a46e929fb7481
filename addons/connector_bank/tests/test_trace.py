"""The bank's steps of an order's trace: the payment received and matched
to the invoice, the line waiting for a person as the stuck step, an unpaid
invoice waiting for its payment."""

from datetime import date

from odoo.tests import tagged

from .common import ACME_IBAN, BankCase

BANK_KEYS = {"bank.payment", "bank.matched"}


def bank_steps(steps):
    return [s for s in steps if s["key"] in BANK_KEYS]


@tagged("post_install", "-at_install")
class TestBankTrace(BankCase):
    def test_payment_received_and_matched(self):
        invoice = self.invoice(self.acme, 250.0, payment_reference="RF18539007547034")
        (line,) = self.import_entries(
            [{"amount": 250.0, "ref": "B-T1", "structured": "RF18539007547034"}]
        )
        self.assertTrue(line.is_reconciled)
        steps = bank_steps(invoice._integration_trace())
        self.assertEqual([s["key"] for s in steps], ["bank.payment", "bank.matched"])
        received, matched = steps
        imported = self.env["integration.message"].search(
            [("correlation_id", "=", line.integration_correlation_id)], limit=1
        )
        self.assertEqual(received["message_id"], imported.id)
        self.assertEqual(received["res_id"], line.id)
        self.assertIn("+250.00 EUR", received["detail"])
        self.assertIn(invoice.name, matched["detail"])
        self.assertIn("Reconciled automatically", matched["detail"])
        self.assertGreaterEqual(matched["at"], received["at"])
        self.assertFalse(any(s["status"] in ("next", "pending") for s in steps))
        # from the bank line: the same trace, the invoice's
        self.assertEqual(
            [s["key"] for s in line._integration_trace()],
            [s["key"] for s in invoice._integration_trace()],
        )

    def test_a_line_to_confirm_is_the_stuck_step(self):
        older = self.invoice(
            self.acme,
            300.0,
            invoice_date=date(2024, 1, 10),
            invoice_date_due=date(2024, 1, 10),
        )
        self.invoice(
            self.acme,
            300.0,
            invoice_date=date(2024, 2, 10),
            invoice_date_due=date(2024, 2, 10),
        )
        (line,) = self.import_entries(
            [{"amount": 300.0, "ref": "B-T2", "iban": ACME_IBAN, "name": "Acme GmbH"}]
        )
        self.assertEqual(line.bank_match_state, "ambiguous")
        review = self.review_of(line)
        summary = older._integration_trace_summary()
        stuck = summary["steps"][summary["stuck"]]
        self.assertEqual(stuck["key"], "bank.payment")
        self.assertEqual(stuck["exception_ids"], review.ids)
        self.assertEqual(summary["state"], "stuck")

    def test_an_unpaid_invoice_waits_for_its_payment(self):
        invoice = self.invoice(self.acme, 99.0)
        summary = invoice._integration_trace_summary()
        expected = summary["steps"][summary["next"]]
        self.assertEqual(expected["key"], "bank.payment")
        self.assertFalse(expected["at"])
        self.assertIn(f"{invoice.name} not paid yet", summary["headline"])
