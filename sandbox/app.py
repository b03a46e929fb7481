"""The sandbox WSGI application: framework endpoints + registered systems.

Framework endpoints (no auth):

* ``GET  /_health``
* ``POST /_control/reset``
* ``GET|POST|DELETE /_control/faults``, ``DELETE /_control/faults/<id>``
* ``GET  /_control/webhooks/deliveries``, ``GET|POST /_control/webhooks/config``,
  ``POST /_control/webhooks/drain``, ``POST /_control/webhooks/release``
* ``GET|DELETE /_control/requests``

Everything under ``/<system>/`` is a system's real API (faults apply there);
``/_control/<system>/`` is that system's control API.
"""

import logging
import time

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request

from . import __version__
from .core.faults import FaultError, FaultInjector
from .core.requestlog import RequestLog
from .core.system import SandboxContext
from .core.util import (
    ApiError,
    IdGenerator,
    format_utc,
    json_response,
    read_json,
    utcnow,
)
from .core.webhooks import WebhookDispatcher
from .registry import system_classes

_logger = logging.getLogger(__name__)

CORE_ROUTES = [
    ("/_health", "core_health", ["GET"]),
    ("/_control/reset", "core_reset", ["POST"]),
    ("/_control/faults", "core_faults", ["GET", "POST", "DELETE"]),
    ("/_control/faults/<int:rule_id>", "core_fault", ["DELETE"]),
    ("/_control/webhooks/deliveries", "core_deliveries", ["GET"]),
    ("/_control/webhooks/config", "core_webhook_config", ["GET", "POST", "PUT"]),
    ("/_control/webhooks/drain", "core_webhook_drain", ["POST"]),
    ("/_control/webhooks/release", "core_webhook_release", ["POST"]),
    ("/_control/requests", "core_requests_log", ["GET", "DELETE"]),
]


class SandboxApp:
    def __init__(self, webhook_config=None, id_start=None, start_workers=True):
        self.started_at = utcnow()
        self.faults = FaultInjector()
        self.dispatcher = WebhookDispatcher(self.faults, webhook_config)
        self.ids = IdGenerator(id_start)
        self.request_log = RequestLog()
        self.ctx = SandboxContext(
            self.faults, self.dispatcher, self.ids, self.request_log
        )
        self.systems = {}
        for cls in system_classes():
            if cls.name in self.systems or cls.name.startswith("_"):
                raise ValueError(f"duplicate or invalid system name {cls.name!r}")
            self.systems[cls.name] = cls(self.ctx)
        self.faults.known_systems = set(self.systems)
        rules = [
            Rule(path, endpoint=("_core", "core", handler), methods=methods)
            for path, handler, methods in CORE_ROUTES
        ]
        for system in self.systems.values():
            rules.extend(system.rules())
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)
        if start_workers:
            self.dispatcher.start()

    def close(self):
        self.dispatcher.stop()

    # -- WSGI ------------------------------------------------------------------
    def __call__(self, environ, start_response):
        request = Request(environ)
        # read the body now: keep-alive needs it consumed even when a fault
        # answers without looking at it
        request.get_data(cache=True)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request):
        started = time.monotonic()
        adapter = self.url_map.bind_to_environ(request.environ)
        system = None
        categories = set()
        values = {}
        try:
            (owner_name, kind, handler_name), values = adapter.match()
            owner = self if owner_name == "_core" else self.systems[owner_name]
            handler = getattr(owner, handler_name)
            if kind == "api":
                system = owner
                categories = system.categories(request, handler_name, values)
                response = self._fault(
                    system, request, handler_name, values, categories
                )
                if response is None:
                    response = handler(request, **values)
            else:
                response = handler(request, **values)
        except ApiError as exc:
            response = exc.response()
            if system is not None:
                response = system.decorate_fault_response(response, request, "", values)
        except NotFound:
            response = json_response({"errors": "Not Found"}, 404)
        except MethodNotAllowed:
            response = json_response({"errors": "Method Not Allowed"}, 405)
        except HTTPException as exc:
            response = json_response({"errors": exc.description}, exc.code or 500)
        except Exception as exc:  # noqa: BLE001 - answer 500, keep serving
            _logger.exception("sandbox error on %s %s", request.method, request.path)
            response = json_response(
                {"errors": "Internal Server Error", "detail": repr(exc)}, 500
            )
        if system is not None:
            self.request_log.add(
                {
                    "at": format_utc(utcnow()),
                    "system": system.name,
                    "target": system.fault_target(values),
                    "method": request.method,
                    "path": request.path,
                    "query": request.query_string.decode("latin-1"),
                    "categories": sorted(categories),
                    "status": response.status_code,
                    "duration_ms": int((time.monotonic() - started) * 1000),
                }
            )
        return response

    def _fault(self, system, request, handler, values, categories):
        rule = self.faults.match_request(
            system.name,
            categories,
            request.path,
            request.method,
            system.fault_target(values),
        )
        if rule is None:
            return None
        if rule.kind == "latency":
            time.sleep(rule.seconds if rule.seconds is not None else 1.0)
            return None
        if rule.kind == "timeout":
            time.sleep(rule.seconds if rule.seconds is not None else 30.0)
            response = json_response({"errors": "Gateway Timeout"}, 504)
        elif rule.kind == "rate_limit":
            response = system.rate_limited_response(request, rule, handler, values)
        else:
            from werkzeug.http import HTTP_STATUS_CODES

            body = rule.body
            if body is None:
                body = {"errors": HTTP_STATUS_CODES.get(rule.status, "Error")}
            headers = dict(rule.headers)
            if rule.status in (429, 503) and "Retry-After" not in headers:
                headers["Retry-After"] = f"{rule.seconds or 2.0:.1f}"
            response = json_response(body, rule.status, headers)
        return system.decorate_fault_response(response, request, handler, values)

    # -- framework endpoints ------------------------------------------------------
    def core_health(self, request):
        return json_response(
            {
                "status": "ok",
                "version": __version__,
                "started_at": format_utc(self.started_at),
                "systems": [s.describe() for s in self.systems.values()],
                "webhooks": self.dispatcher.stats(),
                "faults": len(self.faults.list()),
            }
        )

    def core_reset(self, request):
        body = read_json(request)
        self.faults.clear()
        self.dispatcher.reset()
        self.request_log.clear()
        for system in self.systems.values():
            system.reset()
        if body.get("id_start"):
            self.ids.reseed(int(body["id_start"]))
        if body.get("webhooks"):
            self.dispatcher.configure(**body["webhooks"])
        return json_response({"status": "reset"})

    def core_faults(self, request):
        if request.method == "GET":
            return json_response({"faults": self.faults.list()})
        if request.method == "DELETE":
            removed = self.faults.clear()
            released = self.dispatcher.release()
            return json_response({"removed": removed, "released_deliveries": released})
        body = read_json(request)
        specs = body if isinstance(body, list) else body.get("faults", [body])
        created = []
        try:
            for spec in specs:
                created.append(self.faults.add(spec).as_dict())
        except (FaultError, ValueError, TypeError) as exc:
            raise ApiError(422, {"error": str(exc)}) from exc
        if isinstance(body, dict) and "faults" not in body:
            return json_response({"fault": created[0]}, 201)
        return json_response({"faults": created}, 201)

    def core_fault(self, request, rule_id):
        if not self.faults.clear(rule_id):
            raise ApiError(404, {"error": "no such fault"})
        return json_response({"removed": 1})

    def core_deliveries(self, request):
        args = request.args
        filters = {
            key: args.get(key)
            for key in ("system", "topic", "state", "shop", "webhook_id", "url")
        }
        items = self.dispatcher.list(
            include_body=args.get("include_body") in ("1", "true"), **filters
        )
        return json_response({"deliveries": items, "stats": self.dispatcher.stats()})

    def core_webhook_config(self, request):
        if request.method == "GET":
            return json_response({"config": dict(self.dispatcher.config)})
        try:
            config = self.dispatcher.configure(**read_json(request))
        except (ValueError, TypeError) as exc:
            raise ApiError(422, {"error": str(exc)}) from exc
        return json_response({"config": config})

    def core_webhook_drain(self, request):
        body = read_json(request)
        done = self.dispatcher.drain(float(body.get("timeout", 10)))
        return json_response({"drained": done, "stats": self.dispatcher.stats()})

    def core_webhook_release(self, request):
        return json_response({"released": self.dispatcher.release()})

    def core_requests_log(self, request):
        if request.method == "DELETE":
            self.request_log.clear()
            return json_response({"requests": []})
        args = request.args
        items = self.request_log.list(
            system=args.get("system"),
            target=args.get("target"),
            method=args.get("method"),
            status=args.get("status"),
            categories=args.get("category"),
        )
        counts = {}
        for item in items:
            for cat in item["categories"] or ["other"]:
                counts[cat] = counts.get(cat, 0) + 1
        return json_response(
            {"count": len(items), "by_category": counts, "requests": items}
        )
