"""17.0.1.1.0: outbound calls are logged in ``integration.call.log``; the
call logs kept as ``integration.message`` rows (``is_call_log``) go; the
job vacuum cron goes too (queue_job's autovacuum removes finished jobs by
each channel's removal interval)."""

import logging

from odoo import SUPERUSER_ID, api

_logger = logging.getLogger(__name__)


def migrate(cr, version):
    if not version:
        return
    # a noupdate record that left the data files: not removed by the update
    env = api.Environment(cr, SUPERUSER_ID, {})
    cron = env.ref("integration_core.cron_vacuum_jobs", raise_if_not_found=False)
    if cron:
        cron.unlink()
    # what that cron kept (its parameter, 7 days by default) becomes the
    # integration channels' removal interval for queue_job's autovacuum
    days = int(
        env["ir.config_parameter"]
        .sudo()
        .get_param("integration_core.job_retention_days", 7)
    )
    env["queue.job.channel"].search(
        [("complete_name", "=like", "root.integration%")]
    ).write({"removal_interval": days})
    # The column of the removed field is still there while this runs; without
    # it there is nothing to delete.
    cr.execute(
        """
        SELECT 1 FROM information_schema.columns
         WHERE table_name = 'integration_message' AND column_name = 'is_call_log'
        """
    )
    if not cr.fetchone():
        return
    # what mail.thread kept of them (followers, notes), then the rows
    cr.execute(
        """
        DELETE FROM mail_followers
         WHERE res_model = 'integration.message'
           AND res_id IN (SELECT id FROM integration_message WHERE is_call_log)
        """
    )
    cr.execute(
        """
        DELETE FROM mail_message
         WHERE model = 'integration.message'
           AND res_id IN (SELECT id FROM integration_message WHERE is_call_log)
        """
    )
    cr.execute("DELETE FROM integration_message WHERE is_call_log")
    _logger.info("Deleted %s call log(s) kept as integration messages", cr.rowcount)
