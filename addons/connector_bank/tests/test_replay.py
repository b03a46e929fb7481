"""Replay of a statement file: the bank is the system of record for its
lines; a replay brings back a line deleted by hand and adds nothing else."""

from odoo.tests import new_test_user, tagged

from .common import BankCase, camt, trapped_jobs

ENTRIES = [
    {"amount": 120.0, "ref": "REPLAY-1", "text": "Donation", "name": "Somebody"},
    {"amount": -35.5, "ref": "REPLAY-2", "text": "Bank fees"},
]


@tagged("post_install", "-at_install")
class TestStatementReplay(BankCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.integration_manager = new_test_user(
            cls.env,
            login="bank_replay_manager",
            groups="integration_core.group_integration_manager",
        )

    def replay(self, message):
        with trapped_jobs() as trap:
            message.with_user(self.integration_manager).action_replay(
                "statement checked against the bank"
            )
            self.perform_jobs(trap)
        message.invalidate_recordset()

    def test_replay_restores_a_deleted_line_and_duplicates_nothing(self):
        message = self.message_of(self.upload(camt(ENTRIES, opening=1000.0)))
        self.assertEqual(message.state, "done", message.error_message)
        Line = self.env["account.bank.statement.line"]
        keys = set(self.lines_of(message).mapped("unique_import_id"))
        fees = self.lines_of(message).filtered(lambda line: line.amount < 0)
        fees.unlink()  # by hand, in Odoo
        self.replay(message)
        self.assertEqual(message.state, "done", message.error_message)
        lines = Line.search([("unique_import_id", "in", list(keys))])
        self.assertEqual(set(lines.mapped("unique_import_id")), keys)
        self.assertEqual(len(lines), 2)
        # and a second replay finds everything right
        self.replay(message)
        self.assertEqual(Line.search_count([("unique_import_id", "in", list(keys))]), 2)
        self.assertIn("already imported", message.message_ids[1].body)
