"""The bank's business signals on the Overview: statement lines of the
connection not matched (no match, or one to confirm) and the company's
customer invoices overdue past the backend's days with no payment matched;
per company (a second company with its own chart and bank backend); each
figure opens the records it counts, for an accountant; a desk-only user
sees the figures."""

from datetime import date, timedelta

from odoo import Command, fields
from odoo.exceptions import UserError
from odoo.tests import new_test_user, tagged

from odoo.addons.integration_core.tests.common import make_backend
from odoo.addons.integration_core.tests.signals import BusinessSignalAssertions

from .common import ACME_IBAN, BankCase


@tagged("post_install", "-at_install")
class TestBankBusinessSignals(BusinessSignalAssertions, BankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        today = fields.Date.context_today(cls.env.user)
        cls.today = today
        # two of 30.00 (a line of 30.00 is ambiguous), one paid by its line
        long_due = {"invoice_date_due": date(2024, 3, 1)}
        cls.acme_1 = cls.invoice(cls, cls.acme, 30.0, **long_due)
        cls.acme_2 = cls.invoice(cls, cls.acme, 30.0, **long_due)
        cls.beta_paid = cls.invoice(
            cls, cls.beta, 55.0, payment_reference="RF18BETA55", **long_due
        )
        cls.lately_due = cls.invoice(
            cls,
            cls.beta,
            12.0,
            invoice_date=today - timedelta(days=5),
            invoice_date_due=today - timedelta(days=5),
        )
        cls.not_due = cls.invoice(
            cls,
            cls.beta,
            13.0,
            invoice_date=today,
            invoice_date_due=today + timedelta(days=30),
        )
        cls.bill = cls.invoice(cls, cls.supplier, 40.0, move_type="in_invoice")
        cls.draft = cls.env["account.move"].create(
            {
                "move_type": "out_invoice",
                "partner_id": cls.beta.id,
                "invoice_date": today - timedelta(days=60),
                "invoice_line_ids": [
                    Command.create({"name": "Draft", "quantity": 1, "price_unit": 9})
                ],
            }
        )
        cls.desk_only = new_test_user(
            cls.env,
            login="bank_signals_desk",
            groups="integration_core.group_integration_user",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )
        # a second company, its own chart, bank backend and overdue invoice
        company_b = cls.env["res.company"].create(
            {"name": "Bank Signals B", "currency_id": cls.eur.id}
        )
        cls.env.user.company_ids |= company_b
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=company_b, install_demo=False
        )
        cls.company_b = company_b
        cls.backend_b = make_backend(
            cls.env, name="Bank B", connector_type="bank", company_id=company_b.id
        )
        cls.overdue_b = cls.invoice(
            cls.with_company_env(company_b), cls.acme, 70.0, **long_due
        )

    @classmethod
    def with_company_env(cls, company):
        """An object whose ``env`` is ``company``'s, for :meth:`invoice`."""

        class InCompany:
            env = cls.env(
                context=dict(cls.env.context, allowed_company_ids=company.ids)
            )
            eur = cls.eur

        return InCompany()

    def statement(self):
        """A statement of three lines: certain (reconciled), ambiguous (two
        invoices of 30.00), unknown."""
        lines = self.import_entries(
            [
                {"amount": 55.0, "ref": "S-1", "structured": "RF18BETA55"},
                {"amount": 30.0, "ref": "S-2", "iban": ACME_IBAN, "name": "Acme"},
                {"amount": 77.0, "ref": "S-3", "text": "Mystery", "name": "Nobody"},
            ]
        )
        self.assertEqual(
            lines.mapped("bank_match_state"), ["matched", "ambiguous", "unmatched"]
        )
        return lines

    def test_unmatched_lines_of_this_connection(self):
        _certain, ambiguous, unknown = self.statement()
        self.assertEqual(
            self.open_signal(self.backend, "unmatched_lines", user=self.accountant),
            ambiguous | unknown,
        )
        self.assertFalse(self.open_signal(self.backend_b, "unmatched_lines"))
        # a person confirms the proposed invoice: one line left
        ambiguous.bank_match_candidate_ids[:1].with_user(
            self.accountant
        ).action_confirm()
        self.assertEqual(self.open_signal(self.backend, "unmatched_lines"), unknown)

    def test_overdue_invoices_without_a_matched_payment(self):
        self.assertEqual(self.lately_due.invoice_date_due, self.today - timedelta(5))
        self.assertEqual(self.not_due.invoice_date_due, self.today + timedelta(30))
        overdue = self.acme_1 | self.acme_2 | self.beta_paid | self.lately_due
        self.assertEqual(
            self.open_signal(self.backend, "overdue_unpaid", user=self.accountant),
            overdue,
        )
        self.statement()  # pays beta's 55.00; the 30.00 line is only proposed
        self.assertIn(self.beta_paid.payment_state, ("paid", "in_payment"))
        overdue -= self.beta_paid
        self.assertEqual(self.open_signal(self.backend, "overdue_unpaid"), overdue)
        # past the backend's days only
        self.backend.bank_signal_overdue_days = 10
        self.assertEqual(
            self.open_signal(self.backend, "overdue_unpaid"),
            self.acme_1 | self.acme_2,
        )
        self.assertIn(
            "overdue over 10 d",
            self.signal_rows(self.backend)["overdue_unpaid"]["label"],
        )
        # the other company counts its own
        self.assertEqual(
            self.open_signal(self.backend_b, "overdue_unpaid"), self.overdue_b
        )

    def test_the_desk_user_sees_the_figures(self):
        self.statement()
        rows = self.signal_rows(self.backend, user=self.desk_only)
        self.assertEqual(rows["unmatched_lines"]["count"], 2)
        self.assertEqual(rows["overdue_unpaid"]["count"], 3)
        self.assertFalse(rows["unmatched_lines"]["can_open"])
        self.assertFalse(rows["overdue_unpaid"]["can_open"])
        with self.assertRaisesRegex(UserError, "not allowed to open"):
            self.backend.with_user(self.desk_only).action_open_business_signal(
                "overdue_unpaid"
            )
        # the accountant's list is the invoices' own list
        action = self.backend.with_user(self.accountant).action_open_business_signal(
            "overdue_unpaid"
        )
        self.assertEqual(
            action["views"][0][0], self.env.ref("account.view_out_invoice_tree").id
        )
