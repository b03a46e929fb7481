"""The order trace in the core: a message of no document gets the trace of
its correlation id's messages; the trace screen for desk users only, its
form and the message form's button."""

from unittest.mock import patch

from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged
from odoo.tools import mute_logger

from .common import IntegrationCase


@tagged("post_install", "-at_install")
class TestTraceScreen(IntegrationCase):
    def _pair(self):
        Message = self.env["integration.message"]
        first, _c = Message._intake(
            self.backend, "partner.upsert", "trace-1", b'{"id": 1}', enqueue=False
        )
        second, _c = Message._intake(
            self.backend,
            "partner.upsert",
            "trace-2",
            b'{"id": 2}',
            correlation_id=first.correlation_id,
            enqueue=False,
        )
        second.sudo().write(
            {
                "state": "failed",
                "error_category": "business",
                "error_message": "Customer 2 is blocked",
            }
        )
        return first, second

    def test_a_message_of_no_document_traces_its_correlation(self):
        first, second = self._pair()
        summary = first.with_user(self.user)._integration_trace_summary()
        self.assertEqual(
            [s["message_id"] for s in summary["steps"]], [first.id, second.id]
        )
        self.assertEqual(summary["state"], "stuck")
        stuck = summary["steps"][summary["stuck"]]
        self.assertEqual(stuck["message_id"], second.id)
        self.assertEqual(stuck["exception_ids"], [second.id])
        self.assertIn("Customer 2 is blocked", summary["headline"])

    def test_the_trace_screen_is_for_desk_users(self):
        first, second = self._pair()
        action = first.with_user(self.user).action_open_integration_trace()
        trace = (
            self.env["integration.trace"].with_user(self.user).browse(action["res_id"])
        )
        form = Form(trace)
        self.assertEqual(form.state, "stuck")
        self.assertEqual(len(trace.step_ids), 2)
        self.assertTrue(trace.step_ids[0].is_origin)
        stuck = trace.step_ids.filtered("stuck")
        self.assertEqual(stuck.exception_id, second)
        self.assertEqual(stuck.action_open_exception()["res_id"], second.id)
        outsider = new_test_user(
            self.env, login="trace_outsider", groups="base.group_user"
        )
        with self.assertRaises(AccessError):
            first.with_user(outsider).action_open_integration_trace()
        arch = self.env["integration.message"].get_views([(False, "form")])
        self.assertIn("action_open_integration_trace", arch["views"]["form"]["arch"])

    def test_a_failing_contribution_hides_only_its_own_steps(self):
        partner = self.env["res.partner"].create({"name": "Trace partner"})

        def broken(record):
            raise ValueError("no")

        with (
            patch.object(type(partner), "_integration_trace_steps", broken),
            mute_logger(
                "odoo.addons.integration_core.models.integration_document_mixin"
            ),
        ):
            steps = partner._integration_trace()
        self.assertEqual(len(steps), 1)
        self.assertIn("could not be read", steps[0]["label"])
        self.assertEqual(steps[0]["res_id"], partner.id)
