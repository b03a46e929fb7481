"""Retention at volume: the payload and call-log purges commit bounded
batches, and webhooks keep being answered while 100,000 payloads go.
Real committed transactions and the real HTTP server."""

import threading

import requests

from odoo.tests import tagged
from odoo.tools import config

from ..tools.signing import SIGNATURE_HEADER, compute_signature
from .common import WEBHOOK_SECRET, CommittedCase

OLD_MESSAGES = 100_000
OLD_CALL_LOGS = 20_000


@tagged("post_install", "-at_install")
class TestRetentionAtVolume(CommittedCase):
    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            backend = env["integration.backend"].create(
                {
                    "name": "Retention backend",
                    "webhook_secret": WEBHOOK_SECRET,
                    "retention_days": 30,
                    "call_log_retention_days": 30,
                }
            )
            self.backend_id, company_id = backend.id, backend.company_id.id
            # old finished exchanges with their bodies, as years of traffic
            cr.execute(
                """
                INSERT INTO integration_message
                       (name, backend_id, company_id, direction, message_type,
                        idempotency_key, correlation_id, payload, payload_encoding,
                        state, attempts, duplicate_count, payload_purged,
                        needs_attention, received_at, done_at, create_date,
                        write_date)
                SELECT 'Old ' || n, %s, %s, 'in', 'partner.upsert', 'old-' || n,
                       'corr-' || n, repeat('{"x": 1}', 40), 'utf-8', 'done', 1,
                       0, FALSE, FALSE, now() - interval '90 days',
                       now() - interval '90 days', now() - interval '90 days',
                       now() - interval '90 days'
                  FROM generate_series(1, %s) AS n
                """,
                (self.backend_id, company_id, OLD_MESSAGES),
            )
            cr.execute(
                """
                INSERT INTO integration_call_log
                       (backend_id, company_id, call_type, method, url, state,
                        create_date, write_date)
                SELECT %s, %s, 'http.call', 'GET', '/old/' || n, 'ok',
                       now() - interval '90 days', now() - interval '90 days'
                  FROM generate_series(1, %s) AS n
                """,
                (self.backend_id, company_id, OLD_CALL_LOGS),
            )

    def tearDown(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "DELETE FROM queue_job WHERE uuid IN (SELECT job_uuid FROM "
                "integration_message WHERE backend_id = %s)",
                [self.backend_id],
            )
            for table in ("integration_call_log", "integration_message"):
                cr.execute(
                    f"DELETE FROM {table} WHERE backend_id = %s",  # noqa: S608
                    [self.backend_id],
                )
            cr.execute(
                "DELETE FROM integration_backend WHERE id = %s", [self.backend_id]
            )
        super().tearDown()

    def count(self, sql):
        with self.registry.cursor() as cr:
            cr.execute(sql, [self.backend_id])
            return cr.fetchone()[0]

    def run_beside_intake(self, purge, progress_sql):
        """Run ``purge(env)`` in a thread of its own; meanwhile post webhooks
        and watch ``progress_sql`` from a third transaction. Returns (what the
        purge returned, answers to the webhooks posted while it ran, the
        progress seen before it ended)."""
        started, result = threading.Event(), {}

        def run():
            with self.registry.cursor() as cr:
                started.set()
                result["count"] = purge(self._env(cr))

        thread = threading.Thread(target=run)
        thread.start()
        started.wait(timeout=30)
        url = (
            f"http://127.0.0.1:{config['http_port']}"
            f"/integration/webhook/{self.backend_id}"
        )
        session, answers, progress = requests.Session(), [], set()
        while thread.is_alive():
            progress.add(self.count(progress_sql))
            body = f'{{"id": "new-{len(answers)}", "name": "New"}}'.encode()
            headers = {
                SIGNATURE_HEADER: compute_signature(WEBHOOK_SECRET, body),
                "X-Integration-Topic": "partner.upsert",
                "Content-Type": "application/json",
            }
            answers.append(session.post(url, data=body, headers=headers, timeout=60))
            progress.add(self.count(progress_sql))
        thread.join()
        return result.get("count"), answers, progress

    def test_payload_purge_commits_batches_while_webhooks_are_answered(self):
        purged, answers, progress = self.run_beside_intake(
            lambda env: env["integration.message"]._cron_purge_payloads(
                batch=2000, commit_batches=True
            ),
            "SELECT count(*) FROM integration_message "
            "WHERE backend_id = %s AND payload_purged",
        )
        self.assertEqual(purged, OLD_MESSAGES)
        self.assertTrue(answers, "no webhook was posted while the purge ran")
        self.assertEqual({a.status_code for a in answers}, {200})
        # batches were committed one by one: others saw the purge progress
        self.assertTrue(
            [seen for seen in progress if 0 < seen < OLD_MESSAGES],
            f"progress seen: {sorted(progress)}",
        )
        self.assertEqual(
            self.count(
                "SELECT count(*) FROM integration_message WHERE backend_id = %s "
                "AND idempotency_key LIKE 'old-%%' AND payload IS NOT NULL"
            ),
            0,
        )
        # what arrived during the purge keeps its body
        self.assertEqual(
            self.count(
                "SELECT count(*) FROM integration_message WHERE backend_id = %s "
                "AND NOT payload_purged"
            ),
            len(answers),
        )
        # the trigram indexes' pending lists were merged between batches
        # (the database user may), not inside a batch's UPDATE
        with self.registry.cursor() as cr:
            messages = self._env(cr)["integration.message"]
            indexes = messages._purge_gin_indexes()
            if messages._trigram_extension():
                self.assertEqual(len(indexes), 4, indexes)
            self.assertEqual(messages._purge_clean_pending_lists(indexes), indexes)
            # one it may not merge: the purge goes on without merging
            self.assertEqual(messages._purge_clean_pending_lists(["no_index"]), [])

    def test_call_log_purge_commits_batches_while_webhooks_are_answered(self):
        deleted, answers, progress = self.run_beside_intake(
            lambda env: env["integration.call.log"]._cron_purge(
                batch=100, commit_batches=True
            ),
            "SELECT count(*) FROM integration_call_log WHERE backend_id = %s",
        )
        self.assertEqual(deleted, OLD_CALL_LOGS)
        self.assertTrue(answers)
        self.assertEqual({a.status_code for a in answers}, {200})
        self.assertTrue([seen for seen in progress if 0 < seen < OLD_CALL_LOGS])
