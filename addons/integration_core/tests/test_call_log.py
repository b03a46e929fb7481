"""Outbound calls are logged in integration.call.log, never as messages: with
status, duration, masked credentials, correlation id and the message whose
processing made them; with their own retention and company rules."""

import importlib.util
import socket
import time
from datetime import timedelta
from pathlib import Path
from unittest.mock import patch

from werkzeug.wrappers import Response

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import new_test_user, tagged

from ..exceptions import TransientError
from ..tools.correlation import correlation_context
from .common import IntegrationCase, ScriptedPeer, make_backend, make_message_type

SECRET = "tok-SECRET-999"


def handle_call(backend, message, data):
    """A handler that calls the remote: ``data["path"]`` on the backend."""
    client = backend._http_client(sleep=lambda _s: None, max_retries=1)
    backend._call("GET", data["path"], client=client, call_type="test.call")
    return backend.env["res.partner"].create({"name": data["name"]})


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tagged("post_install", "-at_install")
class TestCallLog(IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.backend.api_key = SECRET
        cls.startClassPatcher(
            patch.object(
                type(cls.env["integration.backend"]),
                "_generic_test_handle_call",
                handle_call,
                create=True,
            )
        )
        make_message_type(
            cls.env, code="call.partner", handler="_generic_test_handle_call"
        )

    def logs(self, backend=None):
        return self.env["integration.call.log"].search(
            [("backend_id", "=", (backend or self.backend).id)]
        )

    def message_count(self):
        return self.env["integration.message"].search_count(
            [("backend_id", "=", self.backend.id)]
        )

    def call(self, *args, **kwargs):
        """``backend._call`` returning the error instead of raising it (not
        assertRaises: its savepoint would roll back the log under test)."""
        try:
            return self.backend._call(*args, **kwargs)
        except TransientError as exc:
            return exc

    def test_call_is_logged_once_masked_and_not_as_a_message(self):
        def slow_answer(request):
            time.sleep(0.05)
            return Response(
                f'{{"access_token": "{SECRET}", "echo": "{SECRET}", "ok": true}}',
                content_type="application/json",
            )

        messages_before = self.message_count()
        with ScriptedPeer([slow_answer]) as peer:
            self.backend.base_url = peer.url
            with correlation_context("corr-call-1"):
                response = self.backend._call(
                    "GET",
                    f"/status?key={SECRET}",
                    headers={"Authorization": f"Bearer {SECRET}"},
                )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(peer.requests[0]["headers"]["X-Correlation-Id"], "corr-call-1")
        log = self.logs()
        self.assertEqual(len(log), 1)
        self.assertEqual(log.state, "ok")
        self.assertEqual(log.call_type, "http.call")
        self.assertEqual(log.method, "GET")
        self.assertEqual(log.http_status, 200)
        self.assertGreaterEqual(log.duration_ms, 50)
        self.assertEqual(log.correlation_id, "corr-call-1")
        self.assertEqual(log.company_id, self.backend.company_id)
        self.assertFalse(log.message_id)
        self.assertTrue(log.create_date)
        self.assertIn("/status", log.url)
        self.assertIn("GET ", log.request_summary)
        for text in (log.url, log.request_summary, log.response_summary):
            self.assertNotIn(SECRET, text)
        self.assertIn('"access_token": "***"', log.response_summary)
        self.assertIn('"ok": true', log.response_summary)
        self.assertEqual(self.message_count(), messages_before)
        self.assertEqual(self.backend.call_log_count, 1)
        action = self.backend.action_view_call_logs()
        self.assertEqual(self.env[action["res_model"]].search(action["domain"]), log)

    def test_call_made_while_processing_links_its_message(self):
        with ScriptedPeer([(200, '{"ok": true}')]) as peer:
            self.backend.base_url = peer.url
            message, _c = self.intake(
                {"id": 1, "name": "Caller", "path": "/customers"},
                message_type="call.partner",
            )
            self.process(message)
        self.assertEqual(message.state, "done", message.error_message)
        log = self.logs()
        self.assertEqual(len(log), 1)
        self.assertEqual(log.message_id, message)
        self.assertEqual(log.call_type, "test.call")
        self.assertEqual(log.correlation_id, message.correlation_id)
        self.assertEqual(message.call_log_ids, log)
        self.assertEqual(message.call_log_count, 1)
        action = message.action_view_call_logs()
        self.assertEqual(self.env[action["res_model"]].search(action["domain"]), log)
        # the one message, and no message for the call
        self.assertEqual(self.message_count(), 1)

    def test_failed_calls_are_error_logs_not_failed_messages(self):
        with ScriptedPeer([(503, '{"errors": "down"}')]) as peer:
            self.backend.base_url = peer.url
            client = self.backend._http_client(sleep=lambda _s: None)
            error = self.call("POST", "/orders", client=client, call_type="t.5xx")
        self.assertIsInstance(error, TransientError)
        self.backend.base_url = f"http://127.0.0.1:{closed_port()}"
        client = self.backend._http_client(sleep=lambda _s: None, max_retries=0)
        refused = self.call("GET", "/orders", client=client, call_type="t.conn")
        self.assertIsInstance(refused, TransientError)
        by_type = {log.call_type: log for log in self.logs()}
        self.assertEqual(set(by_type), {"t.5xx", "t.conn"})
        server_error = by_type["t.5xx"]
        self.assertEqual(server_error.state, "error")
        self.assertEqual(server_error.http_status, 503)
        self.assertEqual(server_error.error_category, "transient")
        self.assertIn("503", server_error.error_message)
        self.assertIn("down", server_error.response_summary)
        unreachable = by_type["t.conn"]
        self.assertEqual(unreachable.state, "error")
        self.assertFalse(unreachable.http_status)
        self.assertIn("could not be reached", unreachable.error_message)
        # nothing on the overview, the desk or the message lists
        backend = self.backend
        backend.invalidate_recordset()
        self.assertEqual(self.message_count(), 0)
        self.assertEqual(backend.count_failed, 0)
        self.assertEqual(backend.count_dead, 0)
        self.assertEqual(backend.count_exceptions, 0)
        self.assertEqual(backend.message_ids_count, 0)
        self.assertEqual(backend.health, "degraded")  # health still speaks of it

    def test_calls_of_a_failed_handler_stay_logged(self):
        with ScriptedPeer([(503, '{"errors": "busy"}')]) as peer:
            self.backend.base_url = peer.url
            message, _c = self.intake(
                {"id": 2, "name": "Caller", "path": "/busy"},
                message_type="call.partner",
            )
            self.process(message)
        self.assertEqual(message.state, "failed")
        self.assertTrue(message.next_retry_at)
        log = self.logs()
        self.assertEqual(len(log), 1, "the handler's savepoint took no log along")
        self.assertEqual(log.message_id, message)
        self.assertEqual(log.state, "error")
        self.assertEqual(log.http_status, 503)
        self.backend.invalidate_recordset()
        self.assertEqual(self.backend.count_failed, 1)  # the message, not its call
        self.assertEqual(
            self.env["integration.message"].search(
                [("backend_id", "=", self.backend.id), ("needs_attention", "=", True)]
            ),
            message,
        )
        message.action_retry()  # a message retries as a message
        self.assertEqual(message.state, "received")

    def test_retention_deletes_old_logs_only(self):
        CallLog = self.env["integration.call.log"]
        forever = make_backend(self.env, name="Keeps calls", call_log_retention_days=0)
        self.assertEqual(self.backend.call_log_retention_days, 7)
        old = CallLog._log_call(self.backend, "t", "GET", "http://remote/old")
        recent = CallLog._log_call(self.backend, "t", "GET", "http://remote/new")
        kept = CallLog._log_call(forever, "t", "GET", "http://remote/kept")
        CallLog.flush_model()
        self.env.cr.execute(
            "UPDATE integration_call_log SET create_date = %s WHERE id IN %s",
            [fields.Datetime.now() - timedelta(days=8), (old.id, kept.id)],
        )
        self.env.cr.execute(
            "UPDATE integration_call_log SET create_date = %s WHERE id = %s",
            [fields.Datetime.now() - timedelta(days=6), recent.id],
        )
        CallLog.invalidate_model()
        self.assertEqual(CallLog._cron_purge(batch=1), 1)
        self.assertFalse(old.exists())
        self.assertTrue(recent.exists())
        self.assertTrue(kept.exists())
        cron = self.env.ref("integration_core.cron_purge_call_logs")
        self.assertEqual(cron.model_id.model, "integration.call.log")

    def test_desk_users_read_their_company_logs_only(self):
        CallLog = self.env["integration.call.log"]
        company_b = self.env["res.company"].create({"name": "Company B"})
        backend_b = make_backend(self.env, name="B backend", company_id=company_b.id)
        user_b = new_test_user(
            self.env,
            login="desk_user_b",
            groups="integration_core.group_integration_user",
            company_id=company_b.id,
            company_ids=[(6, 0, company_b.ids)],
        )
        log_a = CallLog._log_call(self.backend, "t", "GET", "http://remote/a")
        log_b = CallLog._log_call(backend_b, "t", "GET", "http://remote/b")
        self.assertEqual(log_b.company_id, company_b)
        as_a = CallLog.with_user(self.user)
        self.assertEqual(as_a.search([("id", "in", (log_a + log_b).ids)]), log_a)
        as_b = CallLog.with_user(user_b)
        self.assertEqual(as_b.search([("id", "in", (log_a + log_b).ids)]), log_b)
        with self.assertRaises(AccessError):
            log_b.with_user(self.user).read(["url"])
        with self.assertRaises(AccessError):
            log_a.with_user(self.user).write({"url": "changed"})
        with self.assertRaises(AccessError):
            log_a.with_user(self.user).unlink()
        with self.assertRaises(AccessError):
            as_a.create(
                {
                    "backend_id": self.backend.id,
                    "company_id": self.backend.company_id.id,
                    "state": "ok",
                }
            )
        with self.assertRaises(AccessError):
            log_a.with_user(self.manager).write({"url": "changed"})
        log_a.with_user(self.manager).unlink()
        self.assertFalse(log_a.exists())

    def test_migration_deletes_old_call_log_messages(self):
        path = Path(__file__).parents[1] / "migrations/17.0.1.1.0/post-migrate.py"
        spec = importlib.util.spec_from_file_location("call_log_migration", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        exchange, _c = self.intake({"id": 3, "name": "Kept"})
        old_log, _c = self.intake({"id": 4, "name": "Old call log"})
        self.env.flush_all()
        # nothing to do on a database that never had the column
        migration.migrate(self.env.cr, "17.0.1.0.0")
        self.assertTrue(old_log.exists())
        self.env.cr.execute(
            "ALTER TABLE integration_message ADD COLUMN is_call_log boolean"
        )
        self.env.cr.execute(
            "UPDATE integration_message SET is_call_log = (id = %s)", [old_log.id]
        )
        migration.migrate(self.env.cr, "17.0.1.0.0")
        self.env.invalidate_all()
        self.assertFalse(old_log.exists())
        self.assertTrue(exchange.exists())
