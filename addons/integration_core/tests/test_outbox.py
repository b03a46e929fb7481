"""Exports through the core's outbox: changes recorded per backend, business
object and record, coalesced, and sent by the sync rule's mode as outbound
messages. The test connector exports partners (a handler patched onto the
backend, as in ``common.py``)."""

import json
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import tagged

from ..models.integration_message import OUTBOUND_PRIORITY
from .common import (
    CommittedCase,
    IntegrationCase,
    make_backend,
    make_message_type,
    trapped_jobs,
)

EXPORT_SCHEMA = json.dumps(
    {
        "type": "object",
        "required": ["model", "ids"],
        "properties": {
            "model": {"const": "res.partner"},
            "ids": {"type": "array", "items": {"type": "integer"}},
            "keys": {"type": "object"},
        },
    }
)
EXPORTED = []


def export_partners(backend, message, data):
    """The test connector's export handler: remembers what it was given."""
    EXPORTED.append(data["ids"])
    return backend.env["res.partner"].browse(data["ids"])


def export_type(env):
    return make_message_type(
        env,
        code="partner.export",
        handler="_generic_export_partner",
        schema=EXPORT_SCHEMA,
        direction="out",
    )


@tagged("post_install", "-at_install")
class TestOutbox(IntegrationCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(
            patch.object(
                type(cls.env["integration.backend"]),
                "_generic_export_partner",
                export_partners,
                create=True,
            )
        )
        cls.export_type = export_type(cls.env)
        cls.rule = cls.env["integration.sync.rule"].create(
            {
                "backend_id": cls.backend.id,
                "business_object": "partner",
                "direction": "export",
                "mode": "realtime",
            }
        )
        cls.partners = cls.env["res.partner"].create(
            [{"name": f"Outbox partner {n}"} for n in range(5)]
        )
        cls.Outbox = cls.env["integration.outbox"]

    def setUp(self):
        super().setUp()
        EXPORTED.clear()

    # -- helpers -------------------------------------------------------------
    def record(self, records, backend=None, **kwargs):
        self.Outbox._record(
            "partner", records, backends=backend or self.backend, **kwargs
        )

    def commit(self):
        """What a commit does first: run the precommit callbacks."""
        self.env.cr.flush()

    def rows(self, backend=None):
        return self.Outbox.search([("backend_id", "=", (backend or self.backend).id)])

    def exports(self):
        return self.env["integration.message"].search(
            [("backend_id", "=", self.backend.id), ("direction", "=", "out")],
            order="id",
        )

    def flush_jobs(self, trap):
        return [j for j in trap.enqueued_jobs if j.method_name == "_outbox_flush_job"]

    # -- tests ---------------------------------------------------------------
    def test_repeated_changes_coalesce_into_one_message(self):
        first, second = self.partners[:2]
        with trapped_jobs() as trap:
            for partner in (second, first, second):  # three transactions
                self.record(partner)
                self.commit()
            self.record(first)
            self.record(first)  # coalesced within its transaction: one row
            self.commit()
            self.assertEqual(len(self.rows()), 4)
            self.assertFalse(self.exports(), "nothing is sent before the job")
            self.perform_jobs(trap)
        message = self.exports()
        self.assertEqual(len(message), 1)
        self.assertEqual(message.message_type, "partner.export")
        self.assertEqual(message.state, "done", message.error_message)
        # first-seen order
        payload = json.loads(message.payload)
        self.assertEqual(
            payload, {"model": "res.partner", "ids": second.ids + first.ids}
        )
        self.assertEqual(EXPORTED, [second.ids + first.ids])
        self.assertEqual(message.external_id, "2 contact(s)")
        self.assertFalse(self.rows())

    def test_exports_run_before_waiting_intake(self):
        # the flush and the message it makes: before the intake that waits in
        # the connector's channel (queue_job's default priority, 10)
        with trapped_jobs() as trap:
            self.record(self.partners[0])
            self.commit()
            self.assertEqual(
                [(j.method_name, j.priority) for j in trap.enqueued_jobs],
                [("_outbox_flush_job", OUTBOUND_PRIORITY)],
            )
            self.perform_jobs(trap)
        message = self.exports()
        self.assertEqual(message.state, "done")
        with trapped_jobs() as trap:
            message._enqueue()
            self.assertEqual(
                [j.priority for j in trap.enqueued_jobs], [OUTBOUND_PRIORITY]
            )

    def test_realtime_enqueues_a_flush_job_at_once(self):
        with trapped_jobs() as trap:
            self.record(self.partners[0])
            self.assertFalse(trap.enqueued_jobs, "buffered until the commit")
            self.commit()
            (job,) = trap.enqueued_jobs
            self.assertEqual(job.method_name, "_outbox_flush_job")
            self.assertEqual(job.recordset, self.rule)
            self.assertEqual(job.identity_key, f"integration.outbox:{self.rule.id}")
            self.assertEqual(job.channel, "root.integration.generic")
            self.assertFalse(job.eta)
            self.perform_jobs(trap)
        self.assertEqual(self.exports().state, "done")
        self.assertEqual(EXPORTED, [self.partners[0].ids])

    def test_a_flow_that_is_off_records_nothing(self):
        other = make_backend(self.env, name="No rule")
        importing = make_backend(self.env, name="Import only")
        self.env["integration.sync.rule"].create(
            {
                "backend_id": importing.id,
                "business_object": "partner",
                "direction": "import",
            }
        )
        for values in ({"direction": "off"}, {"active": False}):
            self.rule.write({"direction": "export", "active": True, **values})
            with trapped_jobs() as trap:
                self.record(self.partners, backend=self.backend | other | importing)
                self.Outbox._record("partner", self.partners, connector_type="generic")
                self.commit()
                self.assertFalse(trap.enqueued_jobs)
            self.assertFalse(self.Outbox.search([]), values)
        # an archived backend records nothing either
        self.rule.write({"direction": "export", "active": True})
        self.backend.active = False
        self.record(self.partners)
        self.commit()
        self.assertFalse(self.Outbox.search([]))
        # a backend without a rule: exports need one (unlike _flow_allowed)
        self.assertTrue(other._flow_allowed("partner", "export"))

    def test_connector_type_records_for_each_exporting_backend(self):
        second = make_backend(self.env, name="Second generic")
        rule_2 = self.rule.copy({"backend_id": second.id, "mode": "scheduled"})
        with trapped_jobs() as trap:
            self.Outbox._record("partner", self.partners[:2], connector_type="generic")
            self.commit()
            # the realtime rule's job; the scheduled one waits for the cron
            self.assertEqual([j.recordset for j in self.flush_jobs(trap)], [self.rule])
        self.assertEqual(self.rows().mapped("res_id"), self.partners[:2].ids)
        self.assertEqual(self.rows(second).mapped("res_id"), self.partners[:2].ids)
        self.assertEqual(set(self.rows(second).mapped("business_object")), {"partner"})
        self.assertTrue(rule_2)

    def test_micro_batch_waits_the_interval_and_later_changes_join(self):
        self.rule.write({"mode": "micro_batch", "interval_minutes": 10})
        # real jobs (not trapped): the pending job is found by identity key
        for partner in self.partners[:3]:
            self.record(partner)
            self.commit()  # three transactions
        jobs = self.env["queue.job"].search(
            [("identity_key", "=", f"integration.outbox:{self.rule.id}")]
        )
        self.assertEqual(len(jobs), 1)
        self.assertEqual(jobs.state, "pending")
        self.assertEqual(jobs.channel, "root.integration.generic")
        self.assertAlmostEqual(
            jobs.eta,
            fields.Datetime.now() + timedelta(minutes=10),
            delta=timedelta(seconds=60),
        )
        self.assertFalse(self.exports())
        with trapped_jobs() as trap:
            self.assertEqual(self.rule._outbox_flush_job(), "1 message(s) queued")
            self.perform_jobs(trap)
        self.assertEqual(EXPORTED, [self.partners[:3].ids])

    def test_scheduled_waits_for_the_cron_and_its_interval(self):
        self.rule.write(
            {
                "mode": "scheduled",
                "interval_minutes": 30,
                "next_export_at": fields.Datetime.now() + timedelta(minutes=5),
            }
        )
        Rule = self.env["integration.sync.rule"]
        with trapped_jobs() as trap:
            self.record(self.partners[:2])
            self.commit()
            self.assertFalse(trap.enqueued_jobs)
            self.assertEqual(Rule._cron_outbox_flush(), 0)  # not due yet
        self.assertEqual(len(self.rows()), 2)
        self.rule.next_export_at = fields.Datetime.now() - timedelta(seconds=1)
        with trapped_jobs() as trap:
            self.assertEqual(Rule._cron_outbox_flush(), 1)
            self.perform_jobs(trap)
        self.assertEqual(EXPORTED, [self.partners[:2].ids])
        self.assertFalse(self.rows())
        self.assertGreater(
            self.rule.next_export_at, fields.Datetime.now() + timedelta(minutes=29)
        )
        with trapped_jobs():
            self.assertEqual(Rule._cron_outbox_flush(), 0)

    def test_batch_size_splits_into_messages(self):
        self.rule.batch_size = 2
        self.record(self.partners)
        self.commit()
        with trapped_jobs() as trap:
            messages = self.rule._outbox_flush()
            self.assertEqual(len(trap.enqueued_jobs), 3, "one job per message")
            self.perform_jobs(trap)
        self.assertEqual(len(messages), 3)
        ids = self.partners.ids
        self.assertEqual(EXPORTED, [ids[:2], ids[2:4], ids[4:]])
        self.assertEqual(messages.mapped("state"), ["done"] * 3)
        last = messages.sorted("id")[-1]
        self.assertEqual(last.external_id, self.partners[4].display_name)

    def test_one_record_carries_its_correlation_id(self):
        partner = self.partners[0]
        partner.integration_correlation_id = "corr-outbox-1"
        self.record(partner)
        with trapped_jobs():
            (message,) = self.rule._outbox_flush()
        self.assertEqual(message.correlation_id, "corr-outbox-1")

    def test_a_rolled_back_flush_leaves_the_rows(self):
        self.record(self.partners[:2])
        self.commit()
        with trapped_jobs(), self.assertRaises(RuntimeError):
            with self.env.cr.savepoint():
                self.assertEqual(len(self.rule._outbox_flush()), 1)
                self.assertFalse(self.rows())
                raise RuntimeError("worker killed")
        self.assertEqual(len(self.rows()), 2)
        self.assertFalse(self.exports())
        with trapped_jobs():
            self.assertEqual(len(self.rule._outbox_flush()), 1)
        self.assertFalse(self.rows())

    def test_dedupe_key_repeat_is_a_counted_duplicate(self):
        partner = self.partners[0]
        key = f"outbox:partner:res.partner:{partner.id}:done"
        with trapped_jobs() as trap:
            self.record(partner, dedupe_key="done")
            self.commit()
            self.perform_jobs(trap)
        message = self.exports()
        self.assertEqual(message.idempotency_key, key)
        self.assertEqual(json.loads(message.payload)["keys"], {str(partner.id): "done"})
        with trapped_jobs() as trap:
            self.record(partner, dedupe_key="done")
            self.commit()
            self.perform_jobs(trap)
        self.assertEqual(self.exports(), message)
        self.assertEqual(message.duplicate_count, 1)
        self.assertEqual(EXPORTED, [partner.ids])
        # another change of the same record is another message
        with trapped_jobs() as trap:
            self.record(partner, dedupe_key="cancelled")
            self.commit()
            self.perform_jobs(trap)
        self.assertEqual(len(self.exports()), 2)

    def test_cron_sends_what_a_lost_job_left(self):
        Rule = self.env["integration.sync.rule"]
        with trapped_jobs():  # the flush job is "lost"
            self.record(self.partners[0])
            self.commit()
        with trapped_jobs():
            self.assertEqual(Rule._cron_outbox_flush(), 0, "its job may still run")
        self.env.cr.execute(
            "UPDATE integration_outbox SET create_date = create_date - "
            "interval '6 minutes' WHERE backend_id = %s",
            [self.backend.id],
        )
        self.Outbox.invalidate_model()
        with trapped_jobs() as trap:
            self.assertEqual(Rule._cron_outbox_flush(), 1)
            self.perform_jobs(trap)
        self.assertEqual(EXPORTED, [self.partners[0].ids])

    def test_without_an_outbound_message_type_the_rows_wait(self):
        self.export_type.active = False
        self.record(self.partners[0])
        self.commit()
        with self.assertLogs(
            "odoo.addons.integration_core.models.integration_sync_rule", "WARNING"
        ):
            self.assertFalse(self.rule._outbox_flush())
        self.assertEqual(len(self.rows()), 1)


@tagged("post_install", "-at_install")
class TestOutboxTransactions(CommittedCase):
    """Real, committed transactions: the commit writes the rows (precommit),
    and a flush skips rows another flush holds instead of waiting."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.startClassPatcher(
            patch.object(
                cls.registry["integration.backend"],
                "_generic_export_partner",
                export_partners,
                create=True,
            )
        )

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            backend = make_backend(env, name="Outbox transactions")
            self.type_id = export_type(env).id
            rule = env["integration.sync.rule"].create(
                {
                    "backend_id": backend.id,
                    "business_object": "partner",
                    "direction": "export",
                    "mode": "scheduled",
                }
            )
            partners = env["res.partner"].create(
                [{"name": "Outbox tx 1"}, {"name": "Outbox tx 2"}]
            )
            env["integration.outbox"]._record("partner", partners, backends=backend)
            self.backend_id, self.rule_id = backend.id, rule.id
            self.partner_ids = partners.ids
        # the cursor committed: its precommit callback wrote the rows

    def tearDown(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            messages = env["integration.message"].search(
                [("backend_id", "=", self.backend_id)]
            )
            env["queue.job"].search(
                [("uuid", "in", [u for u in messages.mapped("job_uuid") if u])]
            ).unlink()
            messages.unlink()
            env["integration.outbox"].search(
                [("backend_id", "=", self.backend_id)]
            ).unlink()
            env["integration.backend"].browse(self.backend_id).unlink()
            env["integration.message.type"].browse(self.type_id).unlink()
            env["res.partner"].browse(self.partner_ids).unlink()
        super().tearDown()

    def _rows(self):
        with self.registry.cursor() as cr:
            cr.execute(
                "SELECT res_id FROM integration_outbox WHERE backend_id = %s "
                "ORDER BY id",
                [self.backend_id],
            )
            return [row[0] for row in cr.fetchall()]

    def test_commit_writes_rows_and_a_held_flush_is_skipped_not_waited_for(self):
        self.assertEqual(self._rows(), self.partner_ids)
        with self.registry.cursor() as first, self.registry.cursor() as second:
            rule_1 = self._env(first)["integration.sync.rule"].browse(self.rule_id)
            self.assertEqual(len(rule_1._outbox_flush()), 1)  # holds the rows
            second.execute("SET LOCAL lock_timeout = '2s'")
            rule_2 = self._env(second)["integration.sync.rule"].browse(self.rule_id)
            self.assertFalse(rule_2._outbox_flush(), "skipped, not waited for")
            first.rollback()  # the worker holding them died
            second.rollback()
        self.assertEqual(self._rows(), self.partner_ids, "rows kept, no message")
        with self.registry.cursor() as cr:
            env = self._env(cr)
            self.assertFalse(
                env["integration.message"].search(
                    [("backend_id", "=", self.backend_id)]
                )
            )
            rule = env["integration.sync.rule"].browse(self.rule_id)
            (message,) = rule._outbox_flush()
            self.assertEqual(json.loads(message.payload)["ids"], self.partner_ids)
        self.assertEqual(self._rows(), [])
