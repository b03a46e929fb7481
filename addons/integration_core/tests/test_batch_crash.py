"""A worker dies in the middle of a micro-batch: its transaction never
commits. Messages and their jobs must still agree, before and after the work
is done again. Real committed data, real transactions rolled back."""

import json

from odoo.tests import tagged

from odoo.addons.queue_job.job import Job

from .common import WEBHOOK_SECRET, CommittedCase


@tagged("post_install", "-at_install")
class TestBatchCrash(CommittedCase):
    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            env = self._env(cr)
            backend = env["integration.backend"].create(
                {
                    "name": "Batch crash backend",
                    "webhook_secret": WEBHOOK_SECRET,
                    "batch_size": 5,
                }
            )
            messages = env["integration.message"]
            for index in range(5):
                body = {"id": f"CRASH-{index}", "name": f"Crash {index}"}
                message, _created = messages._intake(
                    backend, "contact.upsert", body["id"], json.dumps(body)
                )
                messages |= message
            self.backend_id = backend.id
            self.message_ids = messages.ids

    def tearDown(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            messages = env["integration.message"].browse(self.message_ids)
            bindings = env["integration.binding"].search(
                [("backend_id", "=", self.backend_id)]
            )
            env["res.partner"].browse(bindings.mapped("res_id")).unlink()
            bindings.unlink()
            env["queue.job"].search(
                [("uuid", "in", messages.mapped("job_uuid"))]
            ).unlink()
            messages.unlink()
            env["integration.backend"].browse(self.backend_id).unlink()
        super().tearDown()

    def states(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            messages = env["integration.message"].browse(self.message_ids)
            jobs = {
                job.uuid: job.state
                for job in env["queue.job"].search(
                    [("uuid", "in", messages.mapped("job_uuid"))]
                )
            }
            return [(m.state, jobs.get(m.job_uuid)) for m in messages]

    def run_job(self, cr, message_id):
        """What queue_job's runjob controller does with one job."""
        env = self._env(cr)
        message = env["integration.message"].browse(message_id)
        job = Job.load(env, message.job_uuid)
        job.set_started()
        job.store()
        result = job.perform()
        job.set_done(result=result)
        job.store()
        env.flush_all()
        return result

    def test_killed_batch_leaves_messages_and_jobs_agreeing(self):
        first = self.message_ids[0]
        cr = self.registry.cursor()
        try:
            result = self.run_job(cr, first)
            self.assertIn("+4 queued message(s)", result)
            env = self._env(cr)
            # inside the doomed transaction: all done, their jobs closed
            self.assertEqual(
                set(
                    env["integration.message"].browse(self.message_ids).mapped("state")
                ),
                {"done"},
            )
        finally:
            cr.rollback()  # the worker is killed: nothing commits
            cr.close()
        self.assertEqual(self.states(), [("received", "pending")] * 5)
        # the runner runs the jobs again (queue_job requeues a killed job)
        with self.registry.cursor() as cr:
            self.run_job(cr, first)
        self.assertEqual(self.states(), [("done", "done")] * 5)
        # a job left over runs, finds its message done and changes nothing
        with self.registry.cursor() as cr:
            env = self._env(cr)
            self.assertIn(
                "Nothing to do",
                env["integration.message"].browse(self.message_ids[1])._process_job(),
            )
        with self.registry.cursor() as cr:
            env = self._env(cr)
            bindings = env["integration.binding"].search(
                [("backend_id", "=", self.backend_id)]
            )
            self.assertEqual(len(bindings), 5, "each contact made exactly once")
