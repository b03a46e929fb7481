"""Sync rules are enforced: a flow that is off does not run, and data whose
system of record is the other side is not overwritten."""

from odoo.tests import tagged

from .common import IntegrationCase, trapped_jobs


@tagged("post_install", "-at_install")
class TestSyncRules(IntegrationCase):
    def _rule(self, **values):
        return self.env["integration.sync.rule"].create(
            {"backend_id": self.backend.id, "business_object": "partner", **values}
        )

    def test_flow_off_stops_processing(self):
        self._rule(direction="off")
        message, _c = self.intake({"id": 40, "name": "Ivy"})
        self.process(message)
        self.assertEqual(message.state, "ignored")
        self.assertEqual(message.outcome, "skipped")
        self.assertIn("is off", message.ignore_reason)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Ivy")]))
        self.assertFalse(message.needs_attention)

    def test_export_only_rule_refuses_imports(self):
        self._rule(direction="export")
        self.assertFalse(self.backend._flow_allowed("partner", "import"))
        self.assertTrue(self.backend._flow_allowed("partner", "export"))
        self.assertTrue(self.backend._flow_allowed("product", "import"), "no rule")

    def test_odoo_is_system_of_record_update_is_skipped(self):
        self._rule(system_of_record="external", direction="import")
        message, _c = self.intake({"id": 41, "name": "Jon"})
        self.process(message)
        partner = message._related_record()
        rule = self.backend._sync_rule("partner")
        rule.system_of_record = "odoo"
        update, _c = self.intake({"id": 41, "name": "Jon Changed"}, key="upd")
        self.process(update)
        self.assertEqual(update.state, "ignored")
        self.assertEqual(update.outcome, "skipped")
        self.assertIn("Odoo is the system of record", update.ignore_reason)
        self.assertEqual(partner.name, "Jon")

    def test_conflict_policy_puts_it_before_a_person(self):
        self._rule(system_of_record="odoo", conflict_policy="conflict")
        message, _c = self.intake({"id": 42, "name": "Kim"})
        self.process(message)
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.outcome, "conflict")
        self.assertTrue(message.needs_attention)

    def test_shared_fields_may_still_be_written(self):
        self._rule(system_of_record="odoo", shared_fields="email")
        values = self.backend._check_writable(
            "partner", "external", {"name": "X", "email": "x@example.com"}
        )
        self.assertEqual(values, {"email": "x@example.com"})
        self.assertEqual(
            self.backend._check_writable("partner", "odoo", {"name": "X"}),
            {"name": "X"},
        )

    def test_polling_runs_only_when_the_flow_is_on(self):
        rule = self._rule(direction="import", mode="scheduled", interval_minutes=5)
        backend_class = type(self.env["integration.backend"])
        polled = []

        def poll_partner(backend, rule):
            polled.append(rule.id)
            rule.cursor = "page-2"
            return 3

        backend_class._generic_poll_partner = poll_partner
        try:
            with trapped_jobs() as trap:
                self.assertEqual(
                    self.env["integration.sync.rule"]._cron_poll_due_rules(), 1
                )
                self.assertTrue(rule.next_run_at)
                self.perform_jobs(trap, rounds=1)
            self.assertEqual(polled, [rule.id])
            self.assertEqual(rule.cursor, "page-2", "cursor persisted")
            # not due again before its interval
            with trapped_jobs() as trap:
                self.env["integration.sync.rule"]._cron_poll_due_rules()
                trap.assert_jobs_count(0)
            rule.write({"direction": "off", "next_run_at": False})
            with trapped_jobs() as trap:
                self.env["integration.sync.rule"]._cron_poll_due_rules()
                trap.assert_jobs_count(0)
            self.assertEqual(rule._poll_job(), "Not polled: the flow is off.")
            self.assertEqual(polled, [rule.id])
        finally:
            del backend_class._generic_poll_partner
