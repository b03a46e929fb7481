"""Fault injection rules, shared by every system.

A rule (JSON, ``POST /_control/faults``)::

    {"system": "shopify", "match": "graphql", "kind": "http_status",
     "status": 503, "count": 3}

* ``system``: a registered system name, or "*" / omitted for any system.
* ``match``: a request category the system reports ("graphql", "rest",
  "oauth", ...), "webhook" for outgoing webhook deliveries, or else a regular
  expression searched in the request path.
* ``kind``: latency | http_status | rate_limit | timeout (incoming requests);
  latency | duplicate_delivery | out_of_order (webhook deliveries).
* ``count``: how many requests/deliveries the rule affects before it clears
  itself; omitted or null = until ``DELETE /_control/faults``.
* ``seconds``: latency delay, timeout duration, Retry-After for rate_limit,
  release window for out_of_order.
* ``status`` / ``body`` / ``headers``: response for http_status.
* optional filters: ``method`` (HTTP method), ``topic`` (webhook topic),
  ``target`` (regex searched in the shop/tenant part, e.g. a shop name).
"""

import itertools
import re
import threading

REQUEST_KINDS = {"latency", "http_status", "rate_limit", "timeout"}
DELIVERY_KINDS = {"latency", "duplicate_delivery", "out_of_order"}
KINDS = REQUEST_KINDS | DELIVERY_KINDS
WEBHOOK = "webhook"


class FaultError(ValueError):
    pass


class FaultRule:
    _ids = itertools.count(1)

    def __init__(self, spec, known_systems=None):
        if not isinstance(spec, dict):
            raise FaultError("a fault rule must be a JSON object")
        kind = spec.get("kind")
        if kind not in KINDS:
            raise FaultError(f"kind must be one of {sorted(KINDS)}")
        system = spec.get("system") or "*"
        if known_systems is not None and system != "*":
            if system not in known_systems:
                raise FaultError(f"unknown system {system!r}")
        match = spec.get("match")
        if kind in {"duplicate_delivery", "out_of_order"}:
            match = match or WEBHOOK
            if match != WEBHOOK:
                raise FaultError(f"{kind} applies to match='webhook' only")
        if not match:
            raise FaultError("match is required")
        self._regex = None
        if match != WEBHOOK:
            try:
                self._regex = re.compile(match)
            except re.error as exc:
                raise FaultError(f"invalid match regex: {exc}") from exc
        if match == WEBHOOK and kind not in DELIVERY_KINDS:
            raise FaultError(f"kind {kind} does not apply to webhook deliveries")
        count = spec.get("count")
        if count is not None:
            count = int(count)
            if count < 1:
                raise FaultError("count must be >= 1")
        self.id = next(self._ids)
        self.system = system
        self.match = match
        self.kind = kind
        self.count = count
        self.remaining = count
        self.hits = 0
        self.status = int(spec.get("status", 503 if kind == "http_status" else 429))
        self.seconds = spec.get("seconds")
        if self.seconds is not None:
            self.seconds = float(self.seconds)
        self.body = spec.get("body")
        self.headers = spec.get("headers") or {}
        self.method = (spec.get("method") or "").upper() or None
        self.topic = spec.get("topic")
        self.target = spec.get("target")
        self._target_re = re.compile(self.target) if self.target else None

    @property
    def is_delivery(self):
        return self.match == WEBHOOK

    def matches_request(self, system, categories, path, method, target):
        if self.is_delivery:
            return False
        if self.system not in ("*", system):
            return False
        if self.method and self.method != method.upper():
            return False
        if self._target_re and not self._target_re.search(target or ""):
            return False
        return self.match in categories or bool(self._regex.search(path))

    def matches_delivery(self, system, topic, target):
        if not self.is_delivery:
            return False
        if self.system not in ("*", system):
            return False
        if self.topic and self.topic != topic:
            return False
        if self._target_re and not self._target_re.search(target or ""):
            return False
        return True

    def as_dict(self):
        return {
            "id": self.id,
            "system": self.system,
            "match": self.match,
            "kind": self.kind,
            "count": self.count,
            "remaining": self.remaining,
            "hits": self.hits,
            "status": self.status,
            "seconds": self.seconds,
            "method": self.method,
            "topic": self.topic,
            "target": self.target,
        }


class FaultInjector:
    """Thread-safe set of active rules; matching consumes ``count``."""

    def __init__(self, known_systems=None):
        self._rules = []
        self._lock = threading.Lock()
        self.known_systems = known_systems
        self.on_clear = []  # callbacks(rule) when a rule is removed/exhausted

    def add(self, spec):
        rule = FaultRule(spec, self.known_systems)
        with self._lock:
            self._rules.append(rule)
        return rule

    def list(self):
        with self._lock:
            return [r.as_dict() for r in self._rules]

    def clear(self, rule_id=None):
        with self._lock:
            if rule_id is None:
                removed, self._rules = self._rules, []
            else:
                removed = [r for r in self._rules if r.id == rule_id]
                self._rules = [r for r in self._rules if r.id != rule_id]
        for rule in removed:
            for callback in self.on_clear:
                callback(rule)
        return len(removed)

    def _consume(self, rule):
        rule.hits += 1
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)
                return True
        return False

    def match_request(self, system, categories, path, method="GET", target=""):
        """First matching request rule (its count is consumed) or None."""
        with self._lock:
            for rule in self._rules:
                if rule.matches_request(system, categories, path, method, target):
                    self._consume(rule)
                    return rule
        return None

    def match_delivery(self, system, topic, target=""):
        """First matching delivery rule as (rule, exhausted) or (None, False)."""
        with self._lock:
            for rule in self._rules:
                if rule.matches_delivery(system, topic, target):
                    exhausted = self._consume(rule)
                    return rule, exhausted
        return None, False
