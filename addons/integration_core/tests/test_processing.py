"""Message processing: states, retries, dead letters, idempotency, rescue."""

import logging
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.queue_job.job import Job

from ..exceptions import CONFLICT_RETRY_SECONDS
from ..models import integration_message
from .common import IntegrationCase, trapped_jobs


@tagged("post_install", "-at_install")
class TestProcessing(IntegrationCase):
    def test_happy_path_creates_binds_and_links(self):
        with trapped_jobs() as trap:
            message, created = self.intake({"id": 7, "name": "Ada", "email": "a@x.io"})
            self.assertTrue(created)
            self.assertEqual(message.state, "received")
            trap.assert_jobs_count(1)
            job_call = trap.calls[0]
            self.assertEqual(job_call.properties["channel"], "root.integration.generic")
            self.assertEqual(
                job_call.properties["identity_key"], f"integration.message:{message.id}"
            )
            self.perform_jobs(trap)
        self.assertEqual(message.state, "done")
        partner = message._related_record()
        self.assertEqual(partner.name, "Ada")
        self.assertEqual(partner.integration_correlation_id, message.correlation_id)
        self.assertEqual(partner.integration_message_count, 1)
        binding = self.env["integration.binding"]._binding_of(self.backend, partner)
        self.assertEqual(binding.external_id, "7")
        self.assertEqual(message.attempts, 1)

    def test_rerunning_a_done_message_changes_nothing(self):
        message, _created = self.intake({"id": 8, "name": "Bob"})
        self.process(message)
        partners = self.env["res.partner"].search_count([])
        write_date = message.write_date
        result = self.process(message)
        self.assertIn("Nothing to do", result)
        self.assertEqual(self.env["res.partner"].search_count([]), partners)
        self.assertEqual(message.attempts, 1)
        self.assertEqual(message.write_date, write_date)

    def test_duplicate_delivery_counts_on_first(self):
        with trapped_jobs() as trap:
            first, created = self.intake({"id": 9, "name": "Cy"}, key="dup")
            second, created_again = self.intake({"id": 9, "name": "Cy"}, key="dup")
            trap.assert_jobs_count(1)
        self.assertTrue(created)
        self.assertFalse(created_again)
        self.assertEqual(first, second)
        self.assertEqual(first.duplicate_count, 1)
        self.assertTrue(first.last_seen_at)
        self.assertEqual(
            self.env["integration.message"].search_count(
                [("idempotency_key", "=", "dup")]
            ),
            1,
        )

    def test_invalid_json_is_stored_and_fails_validation(self):
        message, _c = self.intake({"id": "bad"}, raw=b'{"id": 1, "name": ')
        self.assertEqual(message.payload, '{"id": 1, "name": ')
        # shown as received; valid JSON is shown indented, stored unchanged
        self.assertEqual(message.payload_display, '{"id": 1, "name": ')
        good, _c = self.intake({"id": "good", "name": "Ann"})
        self.assertEqual(good.payload_display, '{\n  "id": "good",\n  "name": "Ann"\n}')
        self.assertEqual(good.payload, '{"id": "good", "name": "Ann"}')
        self.process(message)
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_category, "validation")
        self.assertIn("is cut off", message.error_message)
        self.assertIn("not valid JSON", message.error_detail)
        self.assertFalse(message.next_retry_at, "validation errors are not retried")
        self.assertTrue(message.needs_attention)

    def test_schema_violations_are_listed_with_paths(self):
        message, _c = self.intake({"id": 10, "name": "", "email": 5})
        self.process(message)
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_category, "validation")
        self.assertIn("and 1 more problem", message.error_message)
        self.assertIn("$.email: 5 is not of type 'string'", message.error_detail)
        self.assertIn("$.name: '' should be non-empty", message.error_detail)

    def test_binary_payload_is_kept_verbatim(self):
        body = b"\x00\xffnot text"
        message, _c = self.intake({}, key="bin", raw=body)
        self.assertEqual(message.payload_encoding, "base64")
        self.assertEqual(message._payload_bytes(), body)

    def test_transient_errors_back_off_then_die(self):
        with trapped_jobs() as trap:
            message, _c = self.intake({"id": 11, "name": "transient"})
            self.perform_jobs(trap, rounds=1)
            self.assertEqual(message.state, "failed")
            self.assertEqual(message.error_category, "transient")
            self.assertEqual(message.attempts, 1)
            delay = (message.next_retry_at - fields.Datetime.now()).total_seconds()
            self.assertAlmostEqual(delay, 30, delta=5)
            # the retry job is waiting with its eta: message and job agree
            self.assertEqual(len(trap.enqueued_jobs), 1)
            self.assertTrue(trap.enqueued_jobs[0].eta)
            self.perform_jobs(trap, rounds=1)
            delay = (message.next_retry_at - fields.Datetime.now()).total_seconds()
            self.assertAlmostEqual(delay, 60, delta=5)
            self.perform_jobs(trap, rounds=1)
            self.assertEqual(trap.enqueued_jobs, [])
        self.assertEqual(message.state, "dead")
        self.assertEqual(message.attempts, 3)
        self.assertFalse(message.next_retry_at)
        self.assertTrue(message.needs_attention)
        self.assertEqual(self.backend.consecutive_failures, 3)
        notes = message.message_ids.mapped("body")
        self.assertTrue(any("Dead after 3 attempt(s)" in str(n) for n in notes))
        self.assertTrue(any("Attempt 1 of 3 failed" in str(n) for n in notes))

    def test_remote_retry_after_wins(self):
        message, _c = self.intake({"id": 12, "name": "transient", "wait": 120})
        with trapped_jobs():
            self.process(message)
        delay = (message.next_retry_at - fields.Datetime.now()).total_seconds()
        self.assertAlmostEqual(delay, 120, delta=5)

    def test_business_and_unexpected_errors(self):
        business, _c = self.intake({"id": 13, "name": "business"})
        self.process(business)
        self.assertEqual(
            (business.state, business.error_category), ("failed", "business")
        )
        self.assertEqual(business.error_message, "Customer 13 is blocked")
        crash, _c = self.intake({"id": 14, "name": "crash"})
        self.process(crash)
        self.assertEqual((crash.state, crash.error_category), ("dead", "permanent"))
        self.assertIn("RuntimeError: boom", crash.error_detail)

    def test_an_error_about_a_record_links_the_failed_message_to_it(self):
        from ..exceptions import BusinessRuleError

        backend_class = type(self.env["integration.backend"])
        existing = self.env["res.partner"].create({"name": "Blocked customer"})

        def refuse(backend, message, data):
            backend.env["res.partner"].create({"name": "rolled back"})
            raise BusinessRuleError(f"{existing.name}: refused").about(existing)

        message, _c = self.intake({"id": 16, "name": "x"})
        with patch.object(backend_class, "_generic_test_handle_partner", refuse):
            self.process(message)
        self.assertEqual(
            (message.state, message.error_category), ("failed", "business")
        )
        self.assertEqual(message._related_record(), existing)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "rolled back")]))

    def test_failed_work_is_rolled_back(self):
        backend_class = type(self.env["integration.backend"])
        original = backend_class._generic_test_handle_partner

        def half_then_fail(backend, message, data):
            backend.env["res.partner"].create({"name": "half made"})
            return original(backend, message, {**data, "name": "business"})

        message, _c = self.intake({"id": 15, "name": "x"})
        with patch.object(
            backend_class, "_generic_test_handle_partner", half_then_fail
        ):
            self.process(message)
        self.assertEqual(message.state, "failed")
        self.assertFalse(self.env["res.partner"].search([("name", "=", "half made")]))

    def test_a_record_made_concurrently_is_a_transient_error(self):
        """Two jobs binding the same record at once: the loser's unique
        violation is retried (the retry finds the binding), not dead."""
        backend_class = type(self.env["integration.backend"])
        partner = self.env["res.partner"].create({"name": "Bound elsewhere"})
        self.env["integration.binding"].create(
            {
                "backend_id": self.backend.id,
                "res_model": "res.partner",
                "res_id": partner.id,
                "external_id": "taken",
            }
        )

        def bind_the_same(backend, message, data):
            other = backend.env["res.partner"].create({"name": "Made twice"})
            backend.env["integration.binding"].create(
                {
                    "backend_id": backend.id,
                    "res_model": "res.partner",
                    "res_id": other.id,
                    "external_id": "taken",
                }
            )

        message, _c = self.intake({"id": 17, "name": "x"})
        with patch.object(backend_class, "_generic_test_handle_partner", bind_the_same):
            with trapped_jobs():
                self.process(message)
        self.assertEqual(
            (message.state, message.error_category), ("failed", "transient")
        )
        self.assertTrue(message.next_retry_at)
        self.assertIn("same time", message.error_message)
        # retried in seconds, not after the backend's backoff (30 s here)
        delay = (message.next_retry_at - fields.Datetime.now()).total_seconds()
        self.assertLessEqual(delay, CONFLICT_RETRY_SECONDS + 1)
        # our own side's conflict says nothing about the remote's health
        self.assertEqual(self.backend.consecutive_failures, 0)
        self.assertFalse(self.env["res.partner"].search([("name", "=", "Made twice")]))

    def test_retry_ignore_assign_and_open(self):
        message, _c = self.intake({"id": 16, "name": "business"})
        self.process(message)
        desk = message.with_user(self.user)
        desk.action_assign_to_me()
        self.assertEqual(message.assignee_id, self.user)
        with self.assertRaises(UserError):
            desk.action_ignore("  ")
        with trapped_jobs() as trap:
            desk.action_retry()
            self.assertEqual(message.state, "received")
            trap.assert_jobs_count(1)
        other, _c = self.intake({"id": 17, "name": "business"})
        self.process(other)
        wizard = (
            self.env["integration.message.ignore"]
            .with_user(self.user)
            .with_context(active_ids=other.ids)
            .create({"reason": "Test order, handled by phone"})
        )
        wizard.action_confirm()
        self.assertEqual(other.state, "ignored")
        self.assertFalse(other.needs_attention)
        self.assertIn("handled by phone", other.ignore_reason)
        ok, _c = self.intake({"id": 18, "name": "Dee"})
        self.process(ok)
        action = ok.with_user(self.user).action_open_related()
        self.assertEqual(
            (action["res_model"], action["res_id"]), ("res.partner", ok.res_id)
        )

    def test_manual_retry_of_dead_message_starts_afresh(self):
        message, _c = self.intake({"id": 19, "name": "crash"})
        self.process(message)
        self.assertEqual(message.state, "dead")
        # the bug is fixed: the payload now processes
        message.sudo().with_user(self.manager).write(
            {"payload": '{"id": 19, "name": "Fixed"}'}
        )
        with trapped_jobs() as trap:
            message.action_retry()
            self.perform_jobs(trap)
        self.assertEqual(message.state, "done")
        self.assertEqual(message.attempts, 1)
        self.assertEqual(message._related_record().name, "Fixed")

    def test_rescue_stuck_message_exactly_once(self):
        message, _c = self.intake({"id": 20, "name": "Eve"})
        self.env.flush_all()
        # A worker took it and crashed: state processing, its job 'started'.
        self.env["queue.job"].sudo().search([("uuid", "=", message.job_uuid)]).write(
            {
                "state": "started",
                "date_started": fields.Datetime.now() - timedelta(hours=1),
            }
        )
        self.env.cr.execute(
            "UPDATE integration_message SET state = 'processing', "
            "write_date = now() at time zone 'UTC' - interval '1 hour' WHERE id = %s",
            [message.id],
        )
        message.invalidate_recordset()
        Message = self.env["integration.message"]
        job = self.env["queue.job"].sudo().search([("uuid", "=", message.job_uuid)])
        with trapped_jobs() as trap:
            self.assertEqual(Message._cron_rescue_stuck(), 1)
            self.assertEqual(message.state, "received")
            # its own job is requeued: none is left failed or started
            self.assertEqual(job.state, "pending")
            self.assertEqual(message.job_uuid, job.uuid)
            self.assertFalse(trap.enqueued_jobs, "no second job")
            Job.load(self.env, job.uuid).perform()  # the runner runs it
            self.assertEqual(message.state, "done")
            # a second rescue run and a late duplicate job change nothing
            self.assertEqual(Message._cron_rescue_stuck(), 0)
            self.assertIn("Nothing to do", self.process(message))
        self.assertEqual(
            self.env["res.partner"].search_count([("name", "=", "Eve")]), 1
        )
        self.assertEqual(message.attempts, 1)

    def test_retry_due_cron_requeues_lost_retries(self):
        message, _c = self.intake({"id": 21, "name": "transient"})
        with trapped_jobs():
            self.process(message)
        self.env["queue.job"].sudo().search([("uuid", "=", message.job_uuid)]).unlink()
        message.sudo().next_retry_at = fields.Datetime.now() - timedelta(minutes=1)
        with trapped_jobs() as trap:
            self.assertEqual(self.env["integration.message"]._cron_retry_due(), 1)
            trap.assert_jobs_count(1)

    def test_correlation_id_in_log_lines(self):
        message, _c = self.intake({"id": 22, "name": "Fay"})
        logger = logging.getLogger("odoo.addons.integration_core.models")
        records = []
        handler = logging.Handler(logging.INFO)
        handler.emit = records.append
        previous_level = logger.level
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        try:
            self.process(message)
        finally:
            logger.removeHandler(handler)
            logger.setLevel(previous_level)
        lines = [record.getMessage() for record in records]
        self.assertTrue(lines, "processing logs its outcome")
        self.assertTrue(
            all(f"[corr={message.correlation_id}]" in line for line in lines), lines
        )

    def test_micro_batch_closes_the_jobs_it_takes_over(self):
        first, _c = self.intake({"id": 23, "name": "Gil"})
        second, _c = self.intake({"id": 24, "name": "Hana"})
        third, _c = self.intake({"id": 25, "name": "business"})
        Job = self.env["queue.job"]
        jobs = Job.search([("uuid", "in", (first | second | third).mapped("job_uuid"))])
        self.assertEqual(jobs.mapped("state"), ["pending"] * 3)
        result = self.process(first)
        self.assertIn("+2 queued message(s)", result)
        self.assertEqual(
            (first | second | third).mapped("state"), ["done", "done", "failed"]
        )
        jobs.invalidate_recordset()
        by_message = {job.uuid: job for job in jobs}
        for message in second | third:
            self.assertEqual(by_message[message.job_uuid].state, "done")
        # a job the runner still starts finds nothing to do
        self.assertIn("Nothing to do", self.process(second))
        self.backend.batch_size = 1
        fourth, _c = self.intake({"id": 26, "name": "Ivo"})
        fifth, _c = self.intake({"id": 27, "name": "Jo"})
        self.process(fourth)
        self.assertEqual((fourth.state, fifth.state), ("done", "received"))

    def test_micro_batch_stops_taking_messages_past_its_time(self):
        first, _c = self.intake({"id": 30, "name": "Lea"})
        second, _c = self.intake({"id": 31, "name": "Max"})
        job = self.env["queue.job"].search([("uuid", "=", second.job_uuid)])
        # a batch past its time commits what it did: the next message waits
        # for its own job instead of holding back the first one's documents
        with patch.object(integration_message, "BATCH_SECONDS", 0.0):
            result = self.process(first)
        self.assertNotIn("queued message(s)", result)
        self.assertEqual((first.state, second.state), ("done", "received"))
        job.invalidate_recordset()
        self.assertEqual(job.state, "pending")
        self.process(second)
        self.assertEqual(second.state, "done")

    def test_a_batched_message_that_must_retry_keeps_its_job_with_the_eta(self):
        first, _c = self.intake({"id": 28, "name": "Kai"})
        second, _c = self.intake({"id": 29, "name": "transient"})
        job = self.env["queue.job"].search([("uuid", "=", second.job_uuid)])
        self.assertIn("+1 queued message(s)", self.process(first))
        self.assertEqual(second.state, "failed")
        self.assertTrue(second.next_retry_at)
        job.invalidate_recordset()
        # its retry is this very job (same identity key), now waiting
        self.assertEqual(second.job_uuid, job.uuid)
        self.assertEqual((job.state, job.eta), ("pending", second.next_retry_at))
