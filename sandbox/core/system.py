"""Base class of a simulated external system.

A system owns a URL prefix (``/<name>/...``) for its real API, a control
prefix (``/_control/<name>/...``), its own state behind a lock, and tells the
framework how to categorise requests for fault matching. Register new
systems in ``sandbox/registry.py``.
"""

import threading
import uuid

from werkzeug.routing import Rule

from .signing import INTEGRATION_SIGNATURE_HEADER, hmac_sha256_b64
from .util import dumps, format_utc, json_response, utcnow


class SandboxContext:
    """What the framework hands to every system."""

    def __init__(self, faults, dispatcher, ids, request_log, settings=None):
        self.faults = faults
        self.dispatcher = dispatcher
        self.ids = ids
        self.request_log = request_log
        self.settings = settings or {}


class System:
    #: URL prefix and the "system" value of fault rules.
    name = None

    def __init__(self, ctx):
        self.ctx = ctx
        self.lock = threading.RLock()

    # -- routing -----------------------------------------------------------
    def api_routes(self):
        """[(path, handler_name, methods)] under ``/<name>``."""
        return []

    def control_routes(self):
        """[(path, handler_name, methods)] under ``/_control/<name>``."""
        return []

    def rules(self):
        """werkzeug Rules; endpoint = (system name, kind, handler name)."""
        result = []
        for kind, prefix, routes in (
            ("api", f"/{self.name}", self.api_routes()),
            ("control", f"/_control/{self.name}", self.control_routes()),
        ):
            for path, handler, methods in routes:
                result.append(
                    Rule(
                        prefix + path,
                        endpoint=(self.name, kind, handler),
                        methods=methods,
                    )
                )
        return result

    # -- faults ------------------------------------------------------------
    def categories(self, request, handler, values):
        """Request categories a fault ``match`` can name (e.g. {"rest"})."""
        return set()

    def fault_target(self, values):
        """Tenant part of a request (e.g. the shop name) for ``target``."""
        return ""

    def rate_limited_response(self, request, rule, handler, values):
        """Response for a ``rate_limit`` fault; systems may override."""
        seconds = rule.seconds or 2.0
        return json_response(
            {"errors": "Too Many Requests"},
            429,
            {"Retry-After": f"{seconds:.1f}"},
        )

    def decorate_fault_response(self, response, request, handler, values):
        """Hook to add system headers (API version, ...) to fault answers."""
        return response

    # -- webhooks --------------------------------------------------------------
    def send_webhook(self, topic, url, payload, secret, headers=None, target=""):
        """Queue a JSON webhook signed the suite's way (X-Integration-Signature).

        ``payload`` is serialised once (the signature covers those exact
        bytes); retries and delivery faults are handled by the dispatcher.
        Returns the Delivery objects created (2 with a duplicate fault).
        """
        body = dumps(payload)
        delivery_id = str(uuid.uuid4())
        all_headers = {
            "Content-Type": "application/json",
            "User-Agent": f"sandbox-{self.name}",
            INTEGRATION_SIGNATURE_HEADER: hmac_sha256_b64(secret, body),
            "X-Integration-Event": topic,
            "X-Integration-Delivery-Id": delivery_id,
            "X-Integration-Sent-At": format_utc(utcnow()),
        }
        all_headers.update(headers or {})
        return self.ctx.dispatcher.enqueue(
            self.name,
            topic,
            url,
            body,
            all_headers,
            delivery_id,
            {"target": target},
        )

    # -- state ---------------------------------------------------------------
    def reset(self):
        raise NotImplementedError

    def describe(self):
        return {"name": self.name}
