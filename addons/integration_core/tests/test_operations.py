"""Crons, the overview, outbound calls and the circuit breaker."""

from datetime import timedelta

from odoo import fields
from odoo.tests import tagged
from odoo.tools.safe_eval import safe_eval

from ..exceptions import AuthenticationFailed, CircuitOpen
from .common import IntegrationCase, ScriptedPeer, trapped_jobs


@tagged("post_install", "-at_install")
class TestOperations(IntegrationCase):
    def test_purge_keeps_metadata(self):
        old, _c = self.intake({"id": 70, "name": "Old"})
        recent, _c = self.intake({"id": 71, "name": "Recent"})
        failed, _c = self.intake({"id": 72, "name": "business"})
        for message in old | recent | failed:
            self.process(message)
        old.sudo().done_at = fields.Datetime.now() - timedelta(days=40)
        failed.sudo().write({"done_at": fields.Datetime.now() - timedelta(days=40)})
        self.assertEqual(self.env["integration.message"]._cron_purge_payloads(), 1)
        self.assertTrue(old.payload_purged)
        self.assertFalse(old.payload)
        self.assertEqual(old.state, "done")
        self.assertEqual(old.external_id or old.idempotency_key, "key-70")
        self.assertTrue(recent.payload)
        self.assertTrue(failed.payload, "open exceptions keep their payload")

    def test_purge_walks_in_batches_oldest_first(self):
        messages = self.env["integration.message"]
        for n in range(5):
            message, _c = self.intake({"id": 80 + n, "name": f"Old {n}"})
            self.process(message)
            messages |= message
        # two share a done time: a batch may end between them
        days = [45, 44, 44, 43, 42]
        for message, age in zip(messages, days):
            message.sudo().done_at = fields.Datetime.now() - timedelta(days=age)
        recent, _c = self.intake({"id": 86, "name": "Recent"})
        self.process(recent)
        self.assertEqual(
            self.env["integration.message"]._cron_purge_payloads(batch=2), 5
        )
        self.assertTrue(all(messages.mapped("payload_purged")))
        self.assertFalse(any(messages.mapped("payload")))
        self.assertTrue(recent.payload)
        self.assertEqual(self.env["integration.message"]._cron_purge_payloads(), 0)

    def test_vacuum_done_jobs(self):
        with trapped_jobs():
            pass
        message, _c = self.intake({"id": 73, "name": "Job"})
        job = self.env["queue.job"].search([("uuid", "=", message.job_uuid)])
        channel = self.env["queue.job.channel"].search(
            [("complete_name", "=", job.channel)]
        )
        self.assertEqual(channel.removal_interval, 7)
        job.write(
            {"state": "done", "date_done": fields.Datetime.now() - timedelta(days=8)}
        )
        # queue_job's own autovacuum, by the channel's removal interval
        self.env["queue.job"].autovacuum()
        self.assertFalse(job.exists())

    def test_overview_figures(self):
        with trapped_jobs() as trap:
            for index, name in enumerate(["A", "B", "business", "crash"]):
                self.intake({"id": 80 + index, "name": name})
            self.intake({"id": 90, "name": "queued"}, key="queued")
            trap.enqueued_jobs = trap.enqueued_jobs[:4]
            self.perform_jobs(trap)
        backend = self.backend
        backend.invalidate_recordset()
        self.assertEqual(backend.queue_depth, 1)
        self.assertEqual(backend.count_failed, 1)
        self.assertEqual(backend.count_dead, 1)
        self.assertEqual(backend.count_done, 2)
        self.assertEqual(backend.count_exceptions, 2)
        self.assertTrue(backend.oldest_exception_at)
        self.assertIn("5 messages in 24h", backend.throughput_chart)
        self.assertEqual(backend.health, "degraded")  # the crash is technical
        exceptions = self.env["integration.message"].search(
            [("backend_id", "=", backend.id), ("needs_attention", "=", True)]
        )
        self.assertEqual(len(exceptions), 2)
        action = backend.action_view_exceptions()
        self.assertEqual(
            self.env["integration.message"].search(
                safe_eval(action["domain"]) + [("backend_id", "=", backend.id)]
            ),
            exceptions,
        )
        self.assertEqual(action["context"]["search_default_backend_id"], backend.id)

    def test_business_signals_hook(self):
        self.assertFalse(self.backend.business_signals)
        backend_class = type(self.env["integration.backend"])

        def signals(backend):
            return [{"label": "orders <not> released", "count": 3}]

        backend_class._business_signals = signals
        try:
            self.backend.invalidate_recordset(["business_signals"])
            self.assertIn("<strong>3</strong>", self.backend.business_signals)
            self.assertIn("&lt;not&gt;", self.backend.business_signals)
        finally:
            del backend_class._business_signals

    def test_older_than_sla_filter(self):
        message, _c = self.intake({"id": 91, "name": "business"})
        self.process(message)
        Message = self.env["integration.message"]
        self.assertFalse(
            Message.search([("over_sla", "=", True), ("id", "=", message.id)])
        )
        self.env.cr.execute(
            "UPDATE integration_message SET create_date = create_date - interval "
            "'30 hours' WHERE id = %s",
            [message.id],
        )
        message.invalidate_recordset()
        self.assertEqual(Message.search([("over_sla", "=", True)]), message)
        self.assertTrue(message.over_sla)

    def test_outbound_call_logged_and_circuit_breaker(self):
        self.backend.circuit_threshold = 2
        with ScriptedPeer([(200, '{"shop": "ok"}')]) as peer:
            self.backend.base_url = peer.url
            self.backend.sudo().api_key = "tok-SECRET-999"
            response = self.backend._call(
                "GET", "/status", headers={"Authorization": "Bearer tok-SECRET-999"}
            )
            self.assertEqual(response.json(), {"shop": "ok"})
        log = self.env["integration.call.log"].search(
            [("backend_id", "=", self.backend.id)]
        )
        self.assertEqual(log.state, "ok")
        self.assertEqual(log.http_status, 200)
        self.assertIn("/status", log.request_summary)
        self.assertTrue(self.backend.last_success_at)
        self.assertEqual(self.backend.health, "ok")
        with ScriptedPeer(
            [(401, '{"errors": "Invalid token tok-SECRET-999"}')]
        ) as peer:
            self.backend.base_url = peer.url
            self.backend.sudo().write({"api_key": "tok-SECRET-999"})
            # (not assertRaises: Odoo's rolls back a savepoint, and with it
            # the failure counts this test is about)
            raised = []
            for _i in range(2):
                try:
                    self.backend._call("GET", "/status")
                except AuthenticationFailed as exc:
                    raised.append(exc)
            self.assertEqual(len(raised), 2, "401 raises AuthenticationFailed")
            self.assertTrue(self.backend.circuit_open)
            self.assertEqual(self.backend.health, "stopped")
            with self.assertRaises(CircuitOpen):
                self.backend._call("GET", "/status")
            self.assertEqual(len(peer.requests), 2, "no call while the circuit is open")
        self.assertNotIn("tok-SECRET-999", self.backend.last_error or "")
        # new credentials close the circuit
        self.backend.sudo().api_key = "tok-NEW"
        self.assertFalse(self.backend.circuit_open)

    def test_test_connection_button(self):
        with ScriptedPeer([(200, "{}")]) as peer:
            self.backend.base_url = peer.url
            action = self.backend.action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.backend.base_url = "http://127.0.0.1:9"
        action = self.backend.action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")
        self.assertIn("could not be reached", action["params"]["message"])
        self.assertEqual(self.backend.health, "degraded")
        self.assertTrue(self.backend.last_error)

    def test_document_smart_button(self):
        message, _c = self.intake({"id": 92, "name": "Ola"})
        self.process(message)
        partner = message._related_record()
        action = partner.action_view_integration_messages()
        self.assertEqual(
            self.env["integration.message"].search(action["domain"]), message
        )
