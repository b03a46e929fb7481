"""Base class of a simulated external system.

A system owns a URL prefix (``/<name>/...``) for its real API, a control
prefix (``/_control/<name>/...``), its own state behind a lock, and tells the
framework how to categorise requests for fault matching. Register new
systems in ``sandbox/registry.py``.
"""

import threading

from werkzeug.routing import Rule

from .util import json_response


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

    # -- state ---------------------------------------------------------------
    def reset(self):
        raise NotImplementedError

    def describe(self):
        return {"name": self.name}
