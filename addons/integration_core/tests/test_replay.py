"""Replay: a manager runs a finished message's handler again, one or a
selection; what is right stays, what was changed by hand is put back."""

from odoo.exceptions import AccessError, UserError
from odoo.tests import tagged

from .common import IntegrationCase, trapped_jobs


@tagged("post_install", "-at_install")
class TestReplay(IntegrationCase):
    def done_message(self, index):
        message, _created = self.intake({"id": f"R{index}", "name": f"Ann {index}"})
        message._process()
        self.assertEqual(message.state, "done", message.error_message)
        return message

    def replay(self, messages, reason="edited by hand, the CRM is right"):
        with trapped_jobs() as trap:
            replayed = messages.with_user(self.manager).action_replay(reason)
            self.perform_jobs(trap)
        return replayed

    def test_replay_repairs_a_hand_edit_and_changes_nothing_else(self):
        repaired, untouched = self.done_message(1), self.done_message(2)
        partner = repaired._related_record()
        partner.name = "Changed in Odoo"
        other = untouched._related_record()
        other_written = other.write_date
        replayed = self.replay(repaired | untouched)
        self.assertEqual(replayed, repaired | untouched)
        self.assertEqual(partner.name, "Ann 1")
        self.assertEqual(other.name, "Ann 2")
        self.assertEqual(other.write_date, other_written)
        self.assertEqual(
            self.env["res.partner"].search_count([("name", "like", "Ann ")]), 2
        )
        for message in replayed:
            self.assertEqual(message.state, "done")
            self.assertEqual(message.attempts, 2)
            self.assertFalse(message.replay_pending)
            bodies = " ".join(message.message_ids.mapped("body"))
            self.assertIn("edited by hand, the CRM is right", bodies)
            self.assertIn("Replay applied.", bodies)

    def test_only_finished_exchanges_are_replayed_and_only_by_managers(self):
        done = self.done_message(3)
        failed, _created = self.intake({"id": "R4", "name": "business"})
        failed._process()
        self.assertEqual(failed.state, "failed")
        with self.assertRaises(AccessError):
            done.with_user(self.user).action_replay("why not")
        with self.assertRaises(UserError):
            done.with_user(self.manager).action_replay("  ")
        self.assertEqual(self.replay(done | failed), done)
        self.assertEqual(failed.state, "failed")

    def test_wizard_replays_a_filtered_selection_and_says_what_it_did(self):
        messages = self.done_message(5) | self.done_message(6)
        failed, _created = self.intake({"id": "R7", "name": "business"})
        failed._process()
        selection = messages | failed
        wizard = (
            self.env["integration.message.replay"]
            .with_user(self.manager)
            .with_context(active_ids=selection.ids)
            .create({"reason": "bulk check"})
        )
        self.assertEqual((wizard.replayable_count, wizard.other_count), (2, 1))
        with trapped_jobs() as trap:
            action = wizard.action_confirm()
            self.perform_jobs(trap)
        self.assertIn("2 message(s) queued", action["params"]["message"])
        self.assertIn("1 left as they are", action["params"]["message"])
        self.assertEqual(set(messages.mapped("attempts")), {2})
