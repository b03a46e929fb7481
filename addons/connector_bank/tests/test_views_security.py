"""Views load for each role; candidates follow their company."""

from lxml import etree

from odoo import Command
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from .common import ACME_IBAN, BankCase


@tagged("post_install", "-at_install")
class TestViewsAndSecurity(BankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.desk_user = new_test_user(
            cls.env,
            login="bank_desk_only",
            groups="integration_core.group_integration_user",
            company_id=cls.company.id,
            company_ids=[Command.set(cls.company.ids)],
        )

    def _review(self):
        self.invoice(self.acme, 30.0)
        self.invoice(self.acme, 30.0)
        (line,) = self.import_entries(
            [{"amount": 30.0, "ref": "V-1", "iban": ACME_IBAN, "name": "Acme GmbH"}]
        )
        return line, self.review_of(line)

    def test_forms_load_for_each_role(self):
        line, review = self._review()
        Message = self.env["integration.message"]
        for user, sees_candidates in ((self.accountant, True), (self.desk_user, False)):
            arch = Message.with_user(user).get_views([(False, "form")])["views"][
                "form"
            ]["arch"]
            page = etree.fromstring(arch).xpath("//page[@name='bank_candidates']")
            self.assertEqual(bool(page), sees_candidates, user.login)
            values = review.with_user(user).read(
                ["business_exception", "error_message"]
            )
            self.assertIn("could be the one", values[0]["business_exception"])
        values = review.with_user(self.accountant).read(["bank_candidate_ids"])
        self.assertEqual(len(values[0]["bank_candidate_ids"]), 2)
        Line = self.env["account.bank.statement.line"].with_user(self.accountant)
        views = Line.get_views(
            [
                (
                    self.env.ref("connector_bank.bank_statement_line_view_form").id,
                    "form",
                ),
                (
                    self.env.ref("connector_bank.bank_statement_line_view_tree").id,
                    "tree",
                ),
            ]
        )
        self.assertIn("bank_match_candidate_ids", views["views"]["form"]["arch"])
        Line.browse(line.id).read(["bank_match_note", "integration_message_count"])
        self.env["bank.statement.upload"].with_user(self.accountant).get_views(
            [(False, "form")]
        )
        self.env["account.bank.statement"].with_user(self.accountant).get_views(
            [(False, "form")]
        )

    def test_candidates_follow_the_company(self):
        line, _review = self._review()
        other_company = self.env["res.company"].create({"name": "Other company"})
        outsider = new_test_user(
            self.env,
            login="other_company_accountant",
            groups="account.group_account_manager",
            company_id=other_company.id,
            company_ids=[Command.set(other_company.ids)],
        )
        Candidate = self.env["bank.match.candidate"]
        self.assertEqual(Candidate.with_user(self.accountant).search_count([]), 2)
        elsewhere = {"allowed_company_ids": other_company.ids}
        self.assertEqual(
            Candidate.with_user(outsider).with_context(**elsewhere).search_count([]), 0
        )
        with self.assertRaises(AccessError):
            line.bank_match_candidate_ids[0].with_user(outsider).with_context(
                **elsewhere
            ).action_confirm()

    def test_desk_user_cannot_upload_or_reconcile(self):
        line, _review = self._review()
        with self.assertRaises(AccessError):
            self.env["bank.statement.upload"].with_user(self.desk_user).create({})
        with self.assertRaises(AccessError):
            line.with_user(self.desk_user).action_bank_match()

    def test_desk_user_sees_the_overview_and_the_review_item(self):
        """The Overview's card counts bank lines a desk user cannot read, and
        the review item names its line (opening it follows their rights)."""
        _line, review = self._review()
        card = (
            self.env["integration.backend"]
            .with_user(self.desk_user)
            .web_search_read(
                [("id", "=", self.backend.id)],
                {"business_signals": {}, "health": {}, "count_exceptions": {}},
            )["records"][0]
        )
        self.assertIn("bank lines not matched", card["business_signals"])
        item = review.with_user(self.desk_user)
        self.assertTrue(item.res_name)
        self.assertFalse(item.res_readable)
        self.assertTrue(item.next_step)
