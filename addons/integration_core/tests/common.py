"""Test helpers every connector reuses: backend factories, a signed-webhook
poster, a job runner, and a small scripted HTTP peer for client tests."""

import contextlib
import json
import sys
import threading
from pathlib import Path
from unittest.mock import patch

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from odoo import SUPERUSER_ID, api
from odoo.exceptions import AccessError
from odoo.tests.common import BaseCase, HttpCase, TransactionCase, new_test_user

from odoo.addons.queue_job.tests.common import trap_jobs

from ..tools.signing import SIGNATURE_HEADER, compute_signature
from ..tools.storable import storable_key, storable_text
from .fuzz import LogWatch, mutated_bodies

# The repository (its sandbox package is what connectors' tests talk to)
REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))
# The sandbox's webhook sender, quick to retry (tests await, never sleep)
FAST_WEBHOOKS = {
    "backoff_seconds": 0.05,
    "backoff_factor": 1.0,
    "timeout": 20.0,
    "max_attempts": 4,
}
WEBHOOK_SECRET = "test-webhook-secret"
ECHO_SCHEMA = json.dumps(
    {
        "type": "object",
        "required": ["id", "name"],
        "properties": {
            "id": {"type": ["string", "integer"]},
            "name": {"type": "string", "minLength": 1},
            "email": {"type": "string"},
            "country": {"type": "string"},
        },
    }
)


def make_backend(env, **values):
    """A backend with a known webhook secret (as manager, via sudo)."""
    vals = {
        "name": "Test backend",
        "connector_type": "generic",
        "webhook_secret": WEBHOOK_SECRET,
        "retry_base_seconds": 30,
        "max_attempts": 3,
    }
    vals.update(values)
    return env["integration.backend"].sudo().create(vals)


def make_message_type(
    env,
    code="partner.upsert",
    handler="_generic_test_handle_partner",
    schema=ECHO_SCHEMA,
    business_object="partner",
    **values,
):
    return (
        env["integration.message.type"]
        .sudo()
        .create(
            {
                "name": code.replace(".", " ").title(),
                "code": code,
                "connector_type": "generic",
                "direction": "in",
                "business_object": business_object,
                "handler": handler,
                "json_schema": schema,
                **values,
            }
        )
    )


def signed_headers(body, secret=WEBHOOK_SECRET, topic="partner.upsert", **extra):
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: compute_signature(secret, body),
        "X-Integration-Topic": topic,
    }
    headers.update(extra)
    return headers


def perform_jobs(trap, env=None, rounds=10):
    """Run trapped jobs, and the jobs they enqueue (retries), until none is
    left or ``rounds`` passes are done; returns the number performed.

    With ``env``, jobs run in that environment (a job trapped during an HTTP
    request would otherwise run in the request's finished environment).
    """
    performed = 0
    for _round in range(rounds):
        jobs = list(trap.enqueued_jobs)
        if not jobs:
            break
        if env is not None:
            for job in jobs:
                job.recordset = job.recordset.with_env(env)
                job.env = env
        trap.perform_enqueued_jobs()
        performed += len(jobs)
    if env is not None:
        env.invalidate_all()
    return performed


def handle_partner(backend, message, data):
    """The test connector's handler: an idempotent partner upsert that can be
    told to fail in each of the ways a real connector fails."""
    from ..exceptions import BusinessRuleError, TransientError

    env = backend.env
    if data.get("name") == "transient":
        raise TransientError("Remote busy", "HTTP 503", retry_after=data.get("wait"))
    if data.get("name") == "business":
        raise BusinessRuleError(f"Customer {data['id']} is blocked")
    if data.get("name") == "crash":
        raise RuntimeError("boom")
    if data.get("country"):
        env["integration.value.map"]._map(backend, "country", data["country"])
    Binding = env["integration.binding"]
    partner = Binding._find(backend, "res.partner", data["id"])
    values = backend._check_writable(
        "partner", "external", {"name": data["name"], "email": data.get("email")}
    )
    if partner:
        partner.write(values)
    else:
        partner = env["res.partner"].create(values)
        Binding._bind(backend, partner, data["id"])
    return partner


def other_company_user(env, login, groups="integration_core.group_integration_user"):
    """A user of a new company only (another region): what they may see of
    the first company's records is what multi-company rules leave."""
    company = env["res.company"].create({"name": f"Other region of {login}"})
    return new_test_user(
        env,
        login=login,
        groups=groups,
        company_id=company.id,
        company_ids=[(6, 0, company.ids)],
    )


def assert_hidden_from(case, records, user, field):
    """``user`` neither finds ``records`` nor reads ``field`` of them."""
    case.assertTrue(records)
    Model = records.with_user(user)
    case.assertFalse(Model.search([("id", "in", records.ids)]))
    with case.assertRaises(AccessError):
        Model.read([field])


class IntegrationCaseMixin:
    """Shared set-up: a backend, a message type and its handler patched in."""

    @classmethod
    def setup_integration(cls):
        backend_class = type(cls.env["integration.backend"])
        # the handler exists before its message type is checked
        cls.startClassPatcher(
            patch.object(
                backend_class,
                "_generic_test_handle_partner",
                handle_partner,
                create=True,
            )
        )
        cls.backend = make_backend(cls.env)
        cls.message_type = make_message_type(cls.env)

    def intake(
        self, data, key=None, backend=None, message_type="partner.upsert", raw=None
    ):
        body = raw if raw is not None else json.dumps(data).encode()
        return self.env["integration.message"]._intake(
            backend or self.backend,
            message_type,
            key or f"key-{data.get('id')}",
            body,
        )

    def map_value(self, kind, code, record, backend=None):
        """A value map: ``code`` of ``kind`` on the backend is ``record``."""
        return self.env["integration.value.map"].create(
            {
                "backend_id": (backend or self.backend).id,
                "kind": kind,
                "external_code": code,
                "record_ref": f"{record._name},{record.id}",
            }
        )

    def perform_jobs(self, trap, rounds=10):
        return perform_jobs(trap, self.env, rounds=rounds)

    def process(self, message):
        """Process one message the way its job does."""
        return message._process_job()


class IntegrationCase(IntegrationCaseMixin, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_integration()
        cls.user = new_test_user(
            cls.env, login="desk_user", groups="integration_core.group_integration_user"
        )
        cls.manager = new_test_user(
            cls.env,
            login="integration_manager",
            groups="integration_core.group_integration_manager",
        )


class IntegrationHttpCase(IntegrationCaseMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_integration()

    def post_webhook(self, body, backend=None, headers=None, sign=True, **extra):
        """POST ``body`` (bytes, str or JSON-able) to the backend's webhook."""
        backend = backend or self.backend
        if not isinstance(body, bytes | str):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        all_headers = signed_headers(body, **extra) if sign else {}
        all_headers.update(headers or {})
        return self.url_open(
            f"/integration/webhook/{backend.id}",
            data=body,
            headers=all_headers,
            timeout=30,
        )


class ScriptedPeer:
    """A local HTTP server answering from a script of responses: used to test
    the core's generic client against real HTTP (connectors use the sandbox).

    ``script`` items are ``(status, body, headers)`` or callables
    ``request -> Response``; the last item repeats. Requests are recorded.
    """

    def __init__(self, script):
        self.script = list(script)
        self.requests = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @Request.application
    def _app(self, request):
        self.requests.append(
            {
                "method": request.method,
                "path": request.path,
                "headers": dict(request.headers),
                "body": request.get_data(),
            }
        )
        step = self.script[min(len(self.requests) - 1, len(self.script) - 1)]
        if callable(step):
            return step(request)
        status, body, headers = (list(step) + [None, None])[:3]
        return Response(
            body or "{}",
            status=status,
            headers=headers or {},
            content_type="application/json",
        )

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


@contextlib.contextmanager
def trapped_jobs():
    with trap_jobs() as trap:
        yield trap


class CommittedCase(BaseCase):
    """Tests on real, committed transactions (concurrent workers, rolled-back
    batches): not a TransactionCase, whose one transaction never commits.
    Each test makes and removes its own data through ``registry.cursor()``."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from odoo.modules.registry import Registry
        from odoo.tools import config

        cls.registry = Registry(config["db_name"])

    def _env(self, cr):
        return api.Environment(cr, SUPERUSER_ID, {})


class WebhookFuzzMixin:
    """Hostile but correctly signed webhooks through HTTP (``fuzz``): never a
    5xx, every body stored verbatim once per key, every failure a readable
    one-line error, no traceback in the log. A connector's test gives
    ``fuzz_samples()`` (``[(topic, valid body)]``), ``fuzz_stamp(topic, body,
    n)`` (ids of the n-th body's own) and ``fuzz_headers(topic, body, n)``
    (signed headers), then calls ``assert_fuzzed_webhooks_are_explained``."""

    fuzz_bodies = 500
    fuzz_seed = 20261201

    def fuzz_stamp(self, topic, body, n):
        return body

    def fuzz_post(self, headers, body):
        # (url_open would GET an empty body)
        return self.opener.post(
            f"{self.base_url()}/integration/webhook/{self.backend.id}",
            data=body,
            headers=headers,
            timeout=30,
        )

    def assert_fuzzed_webhooks_are_explained(self):
        bodies = mutated_bodies(
            self.fuzz_samples(), self.fuzz_bodies, self.fuzz_seed, self.fuzz_stamp
        )
        problems, expected = [], {}
        with LogWatch() as log, trapped_jobs():
            for n, (topic, what, body) in enumerate(bodies):
                headers = self.fuzz_headers(topic, body, n)
                response = self.fuzz_post(headers, body)
                if response.status_code != 200:
                    problems.append(f"{what}: HTTP {response.status_code}")
                    continue
                envelope = self.backend._webhook_envelope(headers, body)
                key = (  # as intake stores them
                    storable_text(envelope["message_type"], 128) or "unknown",
                    storable_key(envelope["idempotency_key"]),
                )
                expected.setdefault(key, (what, body))
            messages = self.env["integration.message"].search(
                [("backend_id", "=", self.backend.id)], order="id"
            )
            found = {(m.message_type, m.idempotency_key): m for m in messages}
            if set(found) != set(expected) or len(found) != len(messages):
                problems.append(f"{len(messages)} messages for {len(expected)} keys")
            for message in messages:
                what, body = expected.get(
                    (message.message_type, message.idempotency_key), ("?", None)
                )
                if message._payload_bytes() != body:
                    problems.append(f"{what}: not stored verbatim")
                message._process()
        problems += [f"log: {line}" for line in log.tracebacks]
        for message in messages:
            what = expected.get((message.message_type, message.idempotency_key))
            what = what[0] if what else message.idempotency_key
            error = message.error_message or ""
            if message.state not in ("done", "failed", "dead", "ignored"):
                problems.append(f"{what}: left {message.state}")
            elif message.state in ("failed", "dead") and (
                not error or "\n" in error or "Unexpected error" in error
            ):
                problems.append(f"{what}: unreadable error {error[:200]!r}")
        self.assertEqual(problems, [], "\n".join(problems[:40]))
        return messages
