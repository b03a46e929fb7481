"""17.0.1.2.0: the retention crons (noupdate records) commit their batches
one by one, so that a purge of millions of rows runs beside intake."""

from odoo import SUPERUSER_ID, api

CRON_CODE = {
    "integration_core.cron_purge_payloads": (
        "model._cron_purge_payloads(commit_batches=True)"
    ),
    "integration_core.cron_purge_call_logs": "model._cron_purge(commit_batches=True)",
}


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    for xmlid, code in CRON_CODE.items():
        cron = env.ref(xmlid, raise_if_not_found=False)
        if cron:
            cron.code = code
