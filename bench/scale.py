"""A million messages: the desk's screens, intake and the crons at scale.

Every addon on a scratch database, 10 backends (Shopify, WMS, carrier, bank,
generic), then N messages (default 1,000,000) written by PostgreSQL itself
(``INSERT ... SELECT generate_series``) into the real ``integration_message``
table: spread over ``--days`` days in id order, mostly done, some failed /
dead / ignored, 2% open exceptions (failed, dead, done with a business
exception; half of them assigned, with a to-do activity), the connectors'
message types, external and correlation ids, payloads of 0.5-6 KB kept for
the retention period plus a week (older ones purged, as earlier runs of the
purge left them), the recent days' done jobs and call logs. Then it prints
the server time of:

* the Exceptions list as the web client asks it (``web_search_read`` of the
  action's domain with the list's fields, its count), grouped by backend,
  type and category (``web_read_group``), and the filters Mine, Unassigned
  and Older than SLA; an item's form;
* the Overview (the backends' kanban fields: counts, chart, signals);
* a backend's form (``web_read`` of its fields);
* the Messages list searched by external id and by correlation id (the
  search view's ``ilike``), found and not found, and ``name_search``;
* intake of one signed webhook over HTTP (p50 over ``--posts`` posts, one at
  a time) on the empty table and on the full one;
* one run of the payload purge, the call-log purge and queue_job's
  autovacuum, while a second connection watches the longest transaction
  holding a lock on their table (and webhooks keep arriving during the
  purge).

Goals: every screen and search at most 1 s, intake p50 on the full table at
most 1.2x the empty table's, no cron transaction holding the table longer
than 1 s. Each is printed as met / NOT met.

    python3 bench/scale.py --messages 1000000
"""

import argparse
import json
import statistics
import threading
import time

import psycopg2
import requests
from common import ScratchOdoo, environment, percentile, query

SECRET = "scale-secret"
MODULES = [
    "integration_core",
    "connector_shopify",
    "connector_wms",
    "connector_carrier",
    "connector_bank",
]
BACKENDS = [
    ("Shopify EU", "shopify"),
    ("Shopify US", "shopify"),
    ("Shopify B2B", "shopify"),
    ("WMS Gent", "wms"),
    ("WMS Lyon", "wms"),
    ("Carrier parcels", "carrier"),
    ("Carrier freight", "carrier"),
    ("Bank main", "bank"),
    ("Bank savings", "bank"),
    ("Web contacts", "generic"),
]
RETENTION_DAYS = 30
SCREEN_GOAL = 1.0
INTAKE_GOAL = 1.2
LOCK_GOAL = 1.0


# ----------------------------------------------------------------------
# Set-up
# ----------------------------------------------------------------------
def create_backends(registry):
    """The backends, five desk users and a clerk; ``(backends, clerk_id)``."""
    with registry.cursor() as cr:
        env = environment(cr)
        ids = []
        for name, connector in BACKENDS:
            backend = env["integration.backend"].create(
                {
                    "name": name,
                    "connector_type": connector,
                    "webhook_secret": SECRET,
                    "rate_limit": 0,
                    "retention_days": RETENTION_DAYS,
                    "call_log_retention_days": 7,
                }
            )
            ids.append(backend.id)
        group = env.ref("integration_core.group_integration_user")
        users = env["res.users"]
        for index in range(6):
            users |= env["res.users"].create(
                {
                    "name": f"Desk clerk {index}",
                    "login": f"scale-clerk-{index}",
                    "groups_id": [(6, 0, [group.id, env.ref("base.group_user").id])],
                }
            )
        for index in range(200):
            env["res.partner"].create({"name": f"Scale customer {index}"})
        return ids, users.ids


def index_definitions(cr):
    """The table's indexes but its primary key and unique constraint."""
    cr.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes i
         WHERE i.tablename = 'integration_message'
           AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                            WHERE c.conname = i.indexname)
        """
    )
    return cr.fetchall()


def fill(registry, backend_ids, user_ids, total, days, chunk=100_000):
    """``total`` messages by SQL; indexes dropped during the load and built
    again after (what they are is left as the addons made them)."""
    started = time.perf_counter()
    with registry.cursor() as cr:
        cr.execute(
            """
            SELECT b.id, b.company_id, b.connector_type,
                   array_agg(t.id ORDER BY t.id), array_agg(t.code ORDER BY t.id),
                   array_agg(t.direction ORDER BY t.id),
                   array_agg(coalesce(t.document_name->>'en_US', t.name->>'en_US')
                             ORDER BY t.id)
              FROM integration_backend b
              JOIN integration_message_type t ON t.connector_type = b.connector_type
             WHERE b.id IN %s AND NOT coalesce(t.is_desk_item, FALSE)
          GROUP BY b.id ORDER BY b.id
            """,
            [tuple(backend_ids)],
        )
        backends = cr.fetchall()
        cr.execute("SELECT id FROM res_partner ORDER BY id DESC LIMIT 200")
        partners = [row[0] for row in cr.fetchall()]
        indexes = index_definitions(cr)
        for name, _definition in indexes:
            cr.execute(f'DROP INDEX "{name}"')  # noqa: S608
        cr.execute("SELECT setseed(0.42)")
        cr.execute(
            "CREATE TEMP TABLE bk (idx int, id int, company int, "
            "types int[], codes text[], dirs text[], labels text[])"
        )
        for index, row in enumerate(backends):
            cr.execute(
                "INSERT INTO bk VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (index, row[0], row[1], row[3], row[4], row[5], row[6]),
            )
        cr.commit()
        for start in range(1, total + 1, chunk):
            stop = min(total, start + chunk - 1)
            cr.execute(
                FILL_SQL,
                {
                    "start": start,
                    "stop": stop,
                    "total": total,
                    "days": days,
                    "nbackends": len(backends),
                    "users": user_ids,
                    "partners": partners,
                    "keep_days": RETENTION_DAYS + 7,
                },
            )
            cr.commit()
            print(
                f"  {stop:>9} messages ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        for _name, definition in indexes:
            cr.execute(definition)
            cr.commit()
        print(f"  indexes built ({time.perf_counter() - started:.0f} s)", flush=True)
        fill_related(cr, total, days)
        cr.commit()
    vacuum(registry)
    return time.perf_counter() - started


FILL_SQL = """
WITH g AS (
    SELECT i, random() AS r, random() AS r2,
           (now() at time zone 'UTC')
             - make_interval(secs => %(days)s * 86400.0
                                     * (%(total)s - i) / %(total)s) AS created
      FROM generate_series(%(start)s, %(stop)s) AS i
), v AS (
    SELECT g.*, bk.id AS backend_id, bk.company, bk.labels,
           1 + (i / %(nbackends)s) %% array_length(bk.types, 1) AS t,
           bk.types, bk.codes, bk.dirs,
           CASE WHEN i > %(total)s - 150 THEN 'received'
                WHEN r < 0.012 THEN 'failed'
                WHEN r < 0.017 THEN 'dead'
                WHEN r < 0.040 THEN 'ignored'
                ELSE 'done' END AS state,
           r >= 0.040 AND r < 0.043 AS business,
           created < (now() at time zone 'UTC')
                     - make_interval(days => %(keep_days)s) AS purged
      FROM g JOIN bk ON bk.idx = g.i %% %(nbackends)s
)
INSERT INTO integration_message (
    name, backend_id, company_id, direction, message_type, message_type_id,
    external_id, idempotency_key, correlation_id, payload, payload_encoding,
    payload_purged, headers, state, attempts, received_at, last_seen_at,
    create_date, write_date, done_at, create_uid, write_uid, duplicate_count,
    needs_attention, error_category, error_message, error_detail,
    business_exception, assignee_id, next_retry_at, res_model, res_id, outcome,
    ignore_reason, sla_notified, retry_blocked, replay_pending, job_uuid)
SELECT labels[t] || ' #' || (1000 + i),
       backend_id, company, dirs[t], codes[t], types[t],
       (5000000000 + i)::text,
       'key-' || i,
       md5(i::text || 'corr'),
       CASE WHEN purged AND state IN ('done', 'ignored') THEN NULL ELSE
       '{"id": ' || (5000000000 + i) || ', "name": "#' || (1000 + i)
         || '", "email": "buyer' || (i %% 9973) || '@example.com", "lines": ['
         || repeat('{"sku": "SKU-' || (i %% 4999) || '", "quantity": '
                   || (1 + i %% 7) || ', "price": "' || (i %% 97) || '.95", '
                   || '"title": "Article ' || md5(i::text) || '"}, ',
                   1 + (r2 * 40)::int)
         || '{}], "note": "' || md5((i * 3)::text) || '"}' END,
       'utf-8',
       purged AND state IN ('done', 'ignored'),
       CASE WHEN purged AND state IN ('done', 'ignored') THEN NULL ELSE
       '{"Content-Type": "application/json", "X-Webhook-Id": "'
         || md5(i::text) || '", "User-Agent": "Scale/1.0"}' END,
       state, CASE WHEN state IN ('failed', 'dead') THEN 1 + i %% 6 ELSE 1 END,
       created, created, created, created + interval '2 seconds',
       CASE WHEN state = 'done' THEN created + interval '2 seconds' END,
       1, 1, CASE WHEN i %% 50 = 0 THEN 1 ELSE 0 END,
       state IN ('failed', 'dead') OR (state = 'done' AND business),
       CASE WHEN state IN ('failed', 'dead') THEN
            (ARRAY['mapping', 'validation', 'transient', 'permanent',
                   'business'])[1 + i %% 5]
            WHEN state = 'done' AND business THEN 'business' END,
       CASE WHEN state IN ('failed', 'dead') THEN
            labels[t] || ' #' || (1000 + i) || ': SKU ''SKU-' || (i %% 4999)
              || ''' is not mapped to a product'
            WHEN state = 'done' AND business THEN
            'Totals differ by ' || (i %% 13) || '.00' END,
       CASE WHEN state IN ('failed', 'dead') THEN
            'Traceback (most recent call last): ' || repeat(md5(i::text), 8) END,
       CASE WHEN state = 'done' AND business THEN
            'Totals differ by ' || (i %% 13) || '.00' END,
       CASE WHEN (state IN ('failed', 'dead') OR (state = 'done' AND business))
                 AND i %% 2 = 0
            THEN (%(users)s::int[])[1 + i %% array_length(%(users)s::int[], 1)] END,
       NULL,
       CASE WHEN i %% 3 = 0 THEN 'res.partner' END,
       CASE WHEN i %% 3 = 0
            THEN (%(partners)s::int[])[1 + i %% array_length(%(partners)s::int[], 1)]
       END,
       CASE WHEN state = 'done' THEN 'applied' WHEN state = 'ignored'
            THEN 'skipped' END,
       CASE WHEN state = 'ignored' THEN 'Older than the version applied' END,
       FALSE, FALSE, FALSE,
       CASE WHEN created > (now() at time zone 'UTC') - interval '10 days'
            THEN md5(i::text || 'job') END
  FROM v
"""


def fill_related(cr, total, days):
    """What the screens and crons read beside the messages: an activity per
    assigned item, the last 10 days' done jobs (the channels keep 7) and two
    weeks of call logs (kept 7 days)."""
    cr.execute(
        """
        INSERT INTO mail_activity (res_model_id, res_model, res_id, res_name,
               activity_type_id, summary, date_deadline, user_id, automated,
               create_uid, create_date, write_uid, write_date)
        SELECT (SELECT id FROM ir_model WHERE model = 'integration.message'),
               'integration.message', m.id, m.name,
               (SELECT res_id FROM ir_model_data
                 WHERE module = 'mail' AND name = 'mail_activity_data_todo'),
               'Integration exception: ' || m.name,
               (m.create_date + interval '1 day')::date, m.assignee_id, FALSE,
               1, m.create_date, 1, m.create_date
          FROM integration_message m WHERE m.needs_attention
           AND m.assignee_id IS NOT NULL
        """
    )
    cr.execute(
        """
        INSERT INTO queue_job (uuid, user_id, company_id, name, model_name,
               method_name, records, args, kwargs, func_string, state, priority,
               date_created, date_enqueued, date_started, date_done, exec_time,
               retry, max_retries, channel, channel_method_name, identity_key)
        SELECT m.job_uuid, 1, m.company_id, m.name, 'integration.message',
               '_process_job',
               json_build_object('_type', 'odoo_recordset',
                                 'model', 'integration.message',
                                 'ids', json_build_array(m.id), 'uid', 1)::text,
               '[]', '{}', 'integration.message(' || m.id || ',)._process_job()',
               'done', 10, m.create_date, m.create_date, m.create_date,
               m.create_date + interval '2 seconds', 0.2, 1, 5,
               'root.integration.' || b.connector_type,
               '<integration.message>._process_job',
               'integration.message:' || m.id
          FROM integration_message m
          JOIN integration_backend b ON b.id = m.backend_id
         WHERE m.job_uuid IS NOT NULL
        """
    )
    cr.execute(
        """
        INSERT INTO integration_call_log (backend_id, company_id, call_type,
               method, url, request_summary, http_status, duration_ms, state,
               response_summary, correlation_id, create_uid, create_date,
               write_uid, write_date)
        SELECT b.id, b.company_id, b.connector_type || '.api', 'POST',
               'https://remote.example/api/' || i, '{"q": ' || i || '}', 200,
               80 + i %% 300, 'ok', repeat('{"ok": true}', 20),
               md5(i::text || 'corr'), 1,
               (now() at time zone 'UTC') - make_interval(secs => 14 * 86400.0
                                                   * (%s - i) / %s),
               1, now() at time zone 'UTC'
          FROM generate_series(1, %s) AS i
          JOIN integration_backend b ON b.id = (
               SELECT id FROM integration_backend ORDER BY id
               OFFSET i %% 10 LIMIT 1)
        """,
        (total // 10, total // 10, total // 10),
    )


def rearm_purge(registry):
    """Payloads back on the done messages of the week past retention (a
    database measured again: its first run purged them)."""
    with registry.cursor() as cr:
        cr.execute(
            """
            UPDATE integration_message
               SET payload = '{"id": ' || external_id || ', "lines": ['
                             || repeat('{"sku": "SKU-' || (id %% 4999)
                                       || '", "title": "' || md5(id::text)
                                       || '"}, ', 1 + id %% 40) || '{}]}',
                   headers = '{"Content-Type": "application/json"}',
                   payload_purged = FALSE
             WHERE payload_purged AND state IN ('done', 'ignored')
               AND create_date >= (now() at time zone 'UTC') - %s * interval '1 day'
            """,
            [RETENTION_DAYS + 7],
        )
        print(f"  {cr.rowcount} payloads put back for the purge", flush=True)
    vacuum(registry)


def vacuum(registry):
    """What autovacuum does after a load: visibility map and statistics."""
    from odoo.sql_db import db_connect  # noqa: PLC0415

    connection = db_connect(registry.db_name)
    with connection.cursor() as cr:
        cr._cnx.autocommit = True
        for table in (
            "integration_message",
            "mail_activity",
            "queue_job",
            "integration_call_log",
        ):
            cr.execute(f"VACUUM ANALYZE {table}")  # noqa: S608


# ----------------------------------------------------------------------
# Screens: the web client's calls, server side
# ----------------------------------------------------------------------
M2O = {"fields": {"display_name": {}}}
ACTIVITY = {
    "activity_ids": {"fields": {}},
    "activity_exception_decoration": {},
    "activity_exception_icon": {},
    "activity_state": {},
    "activity_summary": {},
    "activity_type_icon": {},
    "activity_type_id": M2O,
}
EXCEPTIONS_LIST = {
    "name": {},
    "error_message": {},
    "res_name": {},
    "backend_id": M2O,
    "message_type_id": M2O,
    "error_category": {},
    "age_display": {},
    "over_sla": {},
    "assignee_id": M2O,
    "desk_status": {},
    "state": {},
    **ACTIVITY,
}
MESSAGES_LIST = {
    "create_date": {},
    "backend_id": M2O,
    "direction": {},
    "message_type_id": M2O,
    "name": {},
    "error_message": {},
    "error_category": {},
    "res_name": {},
    "attempts": {},
    "duplicate_count": {},
    "age_display": {},
    "assignee_id": M2O,
    "business_exception": {},
    "state": {},
}
MESSAGE_FORM = {
    name: {}
    for name in (
        "state name res_name res_id res_model res_readable job_uuid call_log_count "
        "age_display over_sla summary_html error_message business_exception "
        "next_step ignore_reason retry_blocked ignored_from_state direction "
        "message_type external_id error_category create_date attempts "
        "next_retry_at duplicate_count last_seen_at done_at outcome "
        "payload_display payload_encoding payload_purged payload error_detail "
        "correlation_id idempotency_key headers needs_attention mapping_kind "
        "display_name"
    ).split()
} | {
    "backend_id": M2O,
    "assignee_id": M2O,
    "message_type_id": M2O,
    "company_id": M2O,
    "activity_ids": {"fields": {}},
    "message_follower_ids": {"fields": {}},
}
OVERVIEW = {
    name: {}
    for name in (
        "name health circuit_open environment connector_type queue_depth "
        "count_exceptions count_done count_failed count_dead count_to_look "
        "oldest_exception_age business_signals throughput_chart last_activity_age"
    ).split()
}
BACKEND_FORM = {
    name: {}
    for name in (
        "circuit_open message_ids_count count_exceptions call_log_count active "
        "name connector_type environment base_url api_version webhook_url "
        "health last_success_at last_error_at consecutive_failures api_key "
        "api_secret webhook_secret max_attempts retry_base_seconds "
        "retry_max_seconds channel batch_size timeout_seconds rate_limit "
        "circuit_threshold max_payload_kb sla_hours retention_days "
        "call_log_retention_days last_error display_name"
    ).split()
} | {
    "company_id": M2O,
    "sync_rule_ids": {
        "fields": {
            name: {}
            for name in (
                "business_object system_of_record direction mode "
                "interval_minutes batch_size conflict_policy shared_fields "
                "next_run_at next_export_at cursor"
            ).split()
        }
    },
    "message_follower_ids": {"fields": {}},
}
EXCEPTIONS_DOMAIN = [("needs_attention", "=", True)]


def screens(registry, clerk_id, backend_id, samples):
    """``[(screen, seconds)]``: the best of three runs of each, each in a new
    transaction with empty caches (as a request is)."""
    calls = [
        (
            "Exceptions list (default)",
            "integration.message",
            lambda M: M.web_search_read(
                EXCEPTIONS_DOMAIN, EXCEPTIONS_LIST, 0, 80, "", 10001
            ),
        ),
        *[
            (
                f"Exceptions grouped by {label}",
                "integration.message",
                lambda M, field=field: M.web_read_group(
                    EXCEPTIONS_DOMAIN, ["__count"], [field], limit=80, lazy=True
                ),
            )
            for label, field in (
                ("backend", "backend_id"),
                ("type", "message_type_id"),
                ("category", "error_category"),
                ("assignee", "assignee_id"),
            )
        ],
        *[
            (
                f"Exceptions: {label}",
                "integration.message",
                lambda M, extra=extra: M.web_search_read(
                    EXCEPTIONS_DOMAIN + extra(M), EXCEPTIONS_LIST, 0, 80, "", 10001
                ),
            )
            for label, extra in (
                ("Mine", lambda M: [("assignee_id", "=", M.env.uid)]),
                ("Unassigned", lambda M: [("assignee_id", "=", False)]),
                ("Older than SLA", lambda M: [("over_sla", "=", True)]),
                ("Failed", lambda M: [("state", "=", "failed")]),
            )
        ],
        (
            "An exception's form",
            "integration.message",
            lambda M: M.browse(samples["exception_id"]).web_read(MESSAGE_FORM),
        ),
        (
            "Overview (10 backends)",
            "integration.backend",
            lambda B: B.web_search_read([], OVERVIEW, 0, 40, "", 10001),
        ),
        (
            "Backend form",
            "integration.backend",
            lambda B: B.browse(backend_id).web_read(BACKEND_FORM),
        ),
        (
            "Messages list (default)",
            "integration.message",
            lambda M: M.web_search_read([], MESSAGES_LIST, 0, 80, "", 10001),
        ),
        *[
            (
                f"Messages: {field} {label}",
                "integration.message",
                lambda M, field=field, value=value: M.web_search_read(
                    [(field, "ilike", value)], MESSAGES_LIST, 0, 80, "", 10001
                ),
            )
            for field, label, value in (
                ("external_id", "found", samples["external_id"]),
                ("external_id", "not found", "NO-SUCH-ID-42"),
                ("correlation_id", "found", samples["correlation_id"]),
                ("correlation_id", "not found", "no-such-correlation"),
            )
        ],
        (
            "name_search (external id)",
            "integration.message",
            lambda M: M.name_search(samples["external_id"], limit=8),
        ),
    ]
    results = []
    for label, model, call in calls:
        best = None
        # the backend form as a manager (credentials, webhook URL), the
        # desk as a clerk
        uid = 2 if label == "Backend form" else clerk_id
        for _run in range(3):
            with registry.cursor() as cr:
                env = environment(cr)(user=uid)
                env = env(context=dict(env.context, lang="en_US", tz="UTC"))
                started = time.perf_counter()
                call(env[model])
                elapsed = time.perf_counter() - started
                cr.rollback()
            best = elapsed if best is None else min(best, elapsed)
        results.append((label, best))
        print(f"  {label:<42}{best * 1000:9.0f} ms", flush=True)
    return results


def sample_values(registry, clerk_id):
    ((external_id, correlation_id),) = query(
        registry,
        "SELECT external_id, correlation_id FROM integration_message "
        "ORDER BY id LIMIT 1 OFFSET (SELECT count(*) / 3 FROM integration_message)",
    )
    ((exception_id,),) = query(
        registry,
        "SELECT id FROM integration_message WHERE needs_attention "
        "ORDER BY id DESC LIMIT 1",
    )
    return {
        "external_id": external_id,
        "correlation_id": correlation_id,
        "exception_id": exception_id,
    }


# ----------------------------------------------------------------------
# Intake over HTTP
# ----------------------------------------------------------------------
def post_webhooks(base, backend_id, count, prefix, stop=None, pings=None):
    """``count`` signed contact webhooks, one at a time (or until ``stop``
    is set); their latencies (s)."""
    from odoo.addons.integration_core.tools.signing import (  # noqa: PLC0415
        compute_signature,
    )

    session = requests.Session()
    url = f"{base}/integration/webhook/{backend_id}"
    latencies = []
    index = 0
    while (stop is None and index < count) or (stop is not None and not stop.is_set()):
        key = f"{prefix}-{index}"
        body = json.dumps(
            {"id": key, "name": f"Contact {key}", "email": f"{key}@example.com"}
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Integration-Signature": compute_signature(SECRET, body),
            "X-Integration-Topic": "contact.upsert",
            "X-Integration-Idempotency-Key": key,
        }
        started = time.perf_counter()
        response = session.post(url, data=body, headers=headers, timeout=60)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"webhook answered {response.status_code}")
        if pings is not None:
            # the trivial route between two posts: the machine's load
            started = time.perf_counter()
            session.get(f"{base}/integration/ping", timeout=60)
            pings.append(time.perf_counter() - started)
        index += 1
    return latencies


def intake(scratch, backend_id, count, prefix):
    """Latencies of ``count`` webhooks and of the trivial route between them."""
    pings = []
    with scratch.server("base,web") as server:
        post_webhooks(server.base, backend_id, 30, f"{prefix}-warm")
        posts = post_webhooks(server.base, backend_id, count, prefix, pings=pings)
    return posts, pings


# ----------------------------------------------------------------------
# Crons, watched from a second connection
# ----------------------------------------------------------------------
class LockWatcher(threading.Thread):
    """Polls every 20 ms: per transaction of ``pid``, how long it has held a
    lock on ``table`` (from its start), and what it was doing then: the
    statement (its first 100 characters), how long that statement had run,
    the session's state and wait event (``details``)."""

    def __init__(self, dsn, pid, table):
        super().__init__(daemon=True)
        self.connection = psycopg2.connect(dsn)
        self.connection.autocommit = True
        self.pid, self.table = pid, table
        self.stop = threading.Event()
        self.transactions = {}
        self.details = {}
        self.index_only = {}

    def run(self):
        with self.connection.cursor() as cr:
            while not self.stop.is_set():
                cr.execute(
                    """
                    SELECT a.xact_start,
                           extract(epoch FROM clock_timestamp() - a.xact_start),
                           extract(epoch FROM clock_timestamp() - a.query_start),
                           a.state, a.wait_event_type, a.wait_event,
                           left(regexp_replace(a.query, '\\s+', ' ', 'g'), 100),
                           EXISTS (SELECT 1 FROM pg_locks l
                                    WHERE l.pid = a.pid
                                      AND l.relation = %(table)s::regclass)
                      FROM pg_stat_activity a
                     WHERE a.pid = %(pid)s AND a.xact_start IS NOT NULL
                       AND EXISTS (SELECT 1 FROM pg_locks l
                                    WHERE l.pid = a.pid
                                      AND l.relation IN (
                                          SELECT %(table)s::regclass
                                          UNION ALL
                                          SELECT indexrelid FROM pg_index
                                           WHERE indrelid = %(table)s::regclass))
                    """,
                    {"pid": self.pid, "table": self.table},
                )
                for xact_start, seconds, *detail, table in cr.fetchall():
                    seconds = float(seconds)
                    if not table:
                        # an index alone (the purge's merges of GIN pending
                        # lists): no lock on the table, told apart
                        self.index_only[xact_start] = max(
                            self.index_only.get(xact_start, 0), seconds
                        )
                        continue
                    if seconds >= self.transactions.get(xact_start, -1):
                        self.transactions[xact_start] = seconds
                        self.details[xact_start] = detail
                time.sleep(0.02)
        self.connection.close()

    def longest(self):
        return max(self.transactions.values(), default=0.0)

    def top(self, count=3):
        """The ``count`` longest transactions: ``(seconds, statement
        seconds, state, wait event type, wait event, statement)``."""
        ranked = sorted(self.transactions, key=self.transactions.get, reverse=True)
        return [(self.transactions[key], *self.details[key]) for key in ranked[:count]]


def dsn_of(scratch):
    return (
        f"host={scratch.host} port={scratch.port} user={scratch.user} "
        f"dbname={scratch.dbname}"
    )


def run_cron(scratch, table, call):
    """Run ``call(env)`` in its own cursor (as the cron thread would);
    ``(result, seconds, longest transaction on table, transactions)``."""
    registry = scratch.registry
    with registry.cursor() as cr:
        cr.execute("SELECT pg_backend_pid()")
        pid = cr.fetchone()[0]
        watcher = LockWatcher(dsn_of(scratch), pid, table)
        watcher.start()
        started = time.perf_counter()
        result = call(environment(cr))
        cr.commit()
        elapsed = time.perf_counter() - started
        watcher.stop.set()
        watcher.join()
    for seconds, statement, state, wait_type, wait, text in watcher.top():
        print(
            f"    {table}: a transaction of {seconds * 1000:.0f} ms, at its "
            f"longest {state} ({wait_type or '-'}/{wait or '-'}) in a statement "
            f"of {float(statement or 0) * 1000:.0f} ms: {text}",
            flush=True,
        )
    if watcher.index_only:
        print(
            f"    {table}: {len(watcher.index_only)} transactions holding an index "
            f"of it and not the table, longest "
            f"{max(watcher.index_only.values()) * 1000:.0f} ms",
            flush=True,
        )
    return result, elapsed, watcher.longest(), len(watcher.transactions)


def hot_updates(scratch):
    """The table's rows updated so far, and of them HOT (no index entry)."""
    ((done, hot),) = query(
        scratch.registry,
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
        "WHERE relname = 'integration_message'",
    )
    return done, hot


def crons(scratch, backend_id):
    results = []
    stop = threading.Event()
    during = []
    with scratch.server("base,web") as server:
        poster = threading.Thread(
            target=lambda: during.extend(
                post_webhooks(server.base, backend_id, 0, "purge", stop)
            )
        )
        poster.start()
        updates = hot_updates(scratch)
        try:
            results.append(
                (
                    "payload purge",
                    *run_cron(
                        scratch,
                        "integration_message",
                        lambda env: env["integration.message"]._cron_purge_payloads(
                            commit_batches=True
                        ),
                    ),
                )
            )
        finally:
            stop.set()
            poster.join()
        time.sleep(1)  # the statistics of the last transactions flushed
        done, hot = (a - b for a, b in zip(hot_updates(scratch), updates))
        print(f"    integration_message: {done} rows updated, {hot} of them HOT")
    results.append(
        (
            "call-log purge",
            *run_cron(
                scratch,
                "integration_call_log",
                lambda env: env["integration.call.log"]._cron_purge(
                    commit_batches=True
                ),
            ),
        )
    )
    results.append(
        (
            "queue_job autovacuum",
            *run_cron(scratch, "queue_job", lambda env: env["queue.job"].autovacuum()),
        )
    )
    return results, during


# ----------------------------------------------------------------------
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--http-port",
        type=int,
        help="the server's port (default 18000 + the pid's last three digits)",
    )
    parser.add_argument(
        "--crons-only",
        action="store_true",
        help="with --db: only the crons (the purge's payloads put back first), "
        "no intake or screens",
    )
    parser.add_argument(
        "--db",
        help="a database kept by an earlier run: measured again without a new "
        "set-up (after updating the addons on it); nothing is dropped",
    )
    args = parser.parse_args()
    if args.crons_only and not args.db:
        parser.error("--crons-only measures a database kept earlier: give --db")

    began = time.perf_counter()
    scratch = ScratchOdoo(
        MODULES,
        workers=args.workers,
        prefix="integration_scale",
        dbname=args.db,
        http_port=args.http_port,
    )
    registry = scratch.registry
    filled = (
        args.db
        and query(registry, "SELECT count(*) FROM integration_message")[0][0]
        > args.messages / 2
    )
    existing = (
        args.db
        and query(
            registry, "SELECT count(*) FROM res_users WHERE login = 'scale-clerk-0'"
        )[0][0]
    )
    if existing:
        # a database of an earlier run (--keep-db): measured as it is, with
        # the payloads of the purge's week put back
        backend_ids = [
            row[0]
            for row in query(registry, "SELECT id FROM integration_backend ORDER BY id")
        ]
        user_ids = [
            row[0]
            for row in query(
                registry,
                "SELECT id FROM res_users WHERE login LIKE 'scale-clerk-%%' "
                "ORDER BY id",
            )
        ]
        if filled:
            rearm_purge(registry)
        empty, empty_pings, fill_seconds = None, None, 0
    else:
        backend_ids, user_ids = create_backends(registry)
    clerk_id = user_ids[0]
    generic_id = backend_ids[-1]
    if not filled:
        print(f"set up in {time.perf_counter() - began:.0f} s; intake, empty table ...")
        empty, empty_pings = intake(scratch, generic_id, args.posts, "empty")
        print(f"filling {args.messages} messages ...", flush=True)
        fill_seconds = fill(
            registry, backend_ids, user_ids[1:], args.messages, args.days
        )
    ((rows, size),) = query(
        registry,
        "SELECT count(*), pg_size_pretty(pg_total_relation_size("
        "'integration_message')) FROM integration_message",
    )
    states = dict(
        query(registry, "SELECT state, count(*) FROM integration_message GROUP BY 1")
    )
    ((attention,),) = query(
        registry, "SELECT count(*) FROM integration_message WHERE needs_attention"
    )
    print(
        f"filled in {fill_seconds:.0f} s: {rows} messages, {size}, {states}, "
        f"{attention} open exceptions",
        flush=True,
    )
    full, shown = None, []
    if not args.crons_only:
        print("intake, full table ...", flush=True)
        full, full_pings = intake(scratch, generic_id, args.posts, "full")
        print("screens (best of 3, server side):", flush=True)
        samples = sample_values(registry, clerk_id)
        shown = screens(registry, clerk_id, backend_ids[0], samples)
    print("crons ...", flush=True)
    cron_results, during = crons(scratch, generic_id)
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[:3]
    if not (args.keep_db or args.db):
        scratch.drop()
    else:
        print(f"kept {scratch.dbname} ({scratch.config})")

    print()
    print(
        f"{rows} messages over {args.days} days, {len(BACKENDS)} backends; "
        f"load average at the end {' '.join(load)}; "
        f"whole run {time.perf_counter() - began:.0f} s"
    )
    failures = 0
    print(f"{'screen / search':<44}{'ms':>8}  goal <= {SCREEN_GOAL * 1000:.0f} ms")
    for label, seconds in shown:
        met = seconds <= SCREEN_GOAL
        failures += not met
        print(f"  {label:<42}{seconds * 1000:8.0f}  {'met' if met else 'NOT met'}")
    if full:
        empty, empty_pings = empty or full, empty_pings or full_pings
        e50, f50 = percentile(empty, 50), percentile(full, 50)
        ratio = f50 / e50
        print(
            f"trivial route /integration/ping between the posts, p50: empty "
            f"{percentile(empty_pings, 50) * 1000:.1f} ms, full "
            f"{percentile(full_pings, 50) * 1000:.1f} ms (the machine's load); "
            f"intake p50 / ping p50: empty "
            f"{e50 / percentile(empty_pings, 50):.2f}x, full "
            f"{f50 / percentile(full_pings, 50):.2f}x"
        )
        failures += ratio > INTAKE_GOAL
        print(
            f"intake p50 / p99: empty {e50 * 1000:.1f} / "
            f"{percentile(empty, 99) * 1000:.1f} ms, full {f50 * 1000:.1f} / "
            f"{percentile(full, 99) * 1000:.1f} ms "
            f"({args.posts} posts each): {ratio:.2f}x (goal <= {INTAKE_GOAL}x: "
            f"{'met' if ratio <= INTAKE_GOAL else 'NOT met'})"
        )
    for label, result, seconds, longest, transactions in cron_results:
        met = longest <= LOCK_GOAL
        failures += not met
        print(
            f"{label}: {result} rows in {seconds:.1f} s, {transactions} "
            f"transactions, longest holding the table {longest * 1000:.0f} ms "
            f"(goal <= {LOCK_GOAL * 1000:.0f} ms: {'met' if met else 'NOT met'})"
        )
    if during:
        print(
            f"webhooks during the purge: {len(during)}, p50 "
            f"{statistics.median(during) * 1000:.1f} ms, max "
            f"{max(during) * 1000:.1f} ms"
        )
    print("all goals met" if not failures else f"{failures} goal(s) NOT met")


if __name__ == "__main__":
    main()
