"""Two transactions deliver the same message at the same time: one message,
no error to either caller. Uses real, committed transactions."""

import threading

from odoo.service.model import retrying
from odoo.tests import tagged

from .common import WEBHOOK_SECRET, CommittedCase


@tagged("post_install", "-at_install")
class TestConcurrentIntake(CommittedCase):
    """Not a TransactionCase: the threads need committed data to collide on."""

    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            backend = self._env(cr)["integration.backend"].create(
                {"name": "Concurrency backend", "webhook_secret": WEBHOOK_SECRET}
            )
            self.backend_id = backend.id

    def tearDown(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            backend = env["integration.backend"].browse(self.backend_id)
            messages = env["integration.message"].search(
                [("backend_id", "=", backend.id)]
            )
            bindings = env["integration.binding"].search(
                [("backend_id", "=", backend.id), ("res_model", "=", "res.partner")]
            )
            partners = env["res.partner"].browse(bindings.mapped("res_id"))
            bindings.unlink()
            partners.unlink()
            env["queue.job"].search(
                [("uuid", "in", messages.mapped("job_uuid"))]
            ).unlink()
            messages.unlink()
            backend.unlink()
        super().tearDown()

    def test_same_key_in_two_transactions(self):
        barrier = threading.Barrier(2)
        results, errors = [], []

        def deliver():
            try:
                with self.registry.cursor() as cr:
                    env = self._env(cr)
                    # Both transactions start before either inserts.
                    env.cr.execute("SELECT 1")
                    barrier.wait(timeout=10)

                    def intake():
                        backend = env["integration.backend"].browse(self.backend_id)
                        message, created = env["integration.message"]._intake(
                            backend, "partner.upsert", "same-key", b'{"id": 1}'
                        )
                        return message.id, created

                    # What Odoo's HTTP layer does for every request.
                    results.append(retrying(intake, env))
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=deliver) for _i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 2)
        self.assertEqual(len({message_id for message_id, _c in results}), 1)
        self.assertEqual(sorted(created for _m, created in results), [False, True])
        with self.registry.cursor() as cr:
            messages = self._env(cr)["integration.message"].search(
                [("backend_id", "=", self.backend_id)]
            )
            self.assertEqual(len(messages), 1)
            self.assertEqual(messages.duplicate_count, 1)

    def test_batch_keeps_its_work_when_the_runner_takes_one_of_its_jobs(self):
        """The runner enqueues a job after the batch's snapshot: closing that
        job is a serialization failure, which must not undo the batch."""
        with self.registry.cursor() as cr:
            env = self._env(cr)
            backend = env["integration.backend"].browse(self.backend_id)
            messages = env["integration.message"]
            for index in range(3):
                body = f'{{"id": "c-{index}", "name": "Contact {index}"}}'.encode()
                message, _created = messages._intake(
                    backend, "contact.upsert", f"c-{index}", body
                )
                messages |= message
            first, second, third = messages.ids
            job_uuids = messages.mapped("job_uuid")
        with self.registry.cursor() as batch_cr:
            env = self._env(batch_cr)
            env.cr.execute("SELECT 1")  # the batch's snapshot starts here
            with self.registry.cursor() as runner_cr:
                runner_cr.execute(
                    "UPDATE queue_job SET state = 'enqueued' WHERE uuid = %s",
                    [job_uuids[2]],
                )
            taken = (
                env["integration.message"]
                .browse(first)
                .with_context(job_uuid="batch-test")
                ._process_pending_batch(10)
            )
            self.assertEqual(taken, 2)
        with self.registry.cursor() as cr:
            env = self._env(cr)
            states = env["integration.message"].browse([second, third]).mapped("state")
            self.assertEqual(states, ["done", "done"])
            jobs = env["queue.job"].search([("uuid", "in", job_uuids[1:])])
            by_uuid = {job.uuid: job for job in jobs}
            self.assertEqual(by_uuid[job_uuids[1]].state, "done")
            # left to the runner: it will find its message done
            self.assertEqual(by_uuid[job_uuids[2]].state, "enqueued")
