"""Outgoing webhook delivery: background workers, retries with backoff, a
delivery log, and the delivery-side faults (latency, duplicate_delivery,
out_of_order). Systems build the body and headers (incl. signatures) and call
``WebhookDispatcher.enqueue``; the dispatcher never looks inside them.
"""

import heapq
import itertools
import logging
import threading
import time

import requests

from .util import format_utc, utcnow

_logger = logging.getLogger(__name__)

DEFAULT_CONFIG = {
    "max_attempts": 8,  # first try included
    "backoff_seconds": 1.0,  # delay before the 2nd attempt
    "backoff_factor": 2.0,  # multiplier per further attempt
    "max_backoff": 300.0,
    "timeout": 5.0,  # seconds per HTTP attempt
    "concurrency": 1,  # worker threads; >1 = no ordering guarantee
    "keep": 20000,  # deliveries kept in the log
}


def backoff_delay(attempts_done, config):
    """Delay before the next attempt after ``attempts_done`` failed ones."""
    delay = config["backoff_seconds"] * (
        config["backoff_factor"] ** max(0, attempts_done - 1)
    )
    return min(delay, config["max_backoff"])


class Delivery:
    _ids = itertools.count(1)

    def __init__(self, system, topic, url, body, headers, webhook_id, meta):
        self.id = next(self._ids)
        self.system = system
        self.topic = topic
        self.url = url
        self.body = body
        self.headers = dict(headers)
        self.webhook_id = webhook_id
        self.meta = dict(meta or {})
        self.state = "pending"  # pending | held | delivering | delivered | failed
        self.attempts = []
        self.created_at = format_utc(utcnow())
        self.due = time.monotonic()
        self.duplicate_of = None
        self.held_by = None
        self.generation = 0

    def as_dict(self, include_body=False):
        data = {
            "id": self.id,
            "system": self.system,
            "topic": self.topic,
            "url": self.url,
            "webhook_id": self.webhook_id,
            "state": self.state,
            "attempts": list(self.attempts),
            "attempt_count": len(self.attempts),
            "created_at": self.created_at,
            "duplicate_of": self.duplicate_of,
            "held_by_fault": self.held_by,
            "headers": dict(self.headers),
        }
        data.update(self.meta)
        if include_body:
            data["body"] = self.body.decode("utf-8", "replace")
        return data


class WebhookDispatcher:
    def __init__(self, faults, config=None):
        self.faults = faults
        self.config = dict(DEFAULT_CONFIG)
        self.config.update(config or {})
        self._initial_config = dict(self.config)
        self._cond = threading.Condition()
        self._heap = []
        self._seq = itertools.count()
        self._log = []
        self._held = {}  # fault rule id -> {"items": [...], "deadline": float|None}
        self._inflight = 0
        self._generation = 0
        self._threads = []
        self._stopped = False
        self._local = threading.local()
        faults.on_clear.append(lambda rule: self.release(rule.id))

    # -- lifecycle -------------------------------------------------------
    def start(self):
        with self._cond:
            self._stopped = False
            wanted = max(1, int(self.config["concurrency"]))
            alive = [t for t in self._threads if t.is_alive()]
            self._threads = alive
            for n in range(len(alive), wanted):
                thread = threading.Thread(
                    target=self._run, name=f"sandbox-webhooks-{n}", daemon=True
                )
                self._threads.append(thread)
                thread.start()

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=2)
        self._threads = []

    def configure(self, **values):
        unknown = set(values) - set(DEFAULT_CONFIG)
        if unknown:
            raise ValueError(f"unknown webhook settings: {sorted(unknown)}")
        with self._cond:
            for key, value in values.items():
                self.config[key] = type(DEFAULT_CONFIG[key])(value)
        if not self._stopped and self._threads:
            self.start()
        return dict(self.config)

    def reset(self):
        with self._cond:
            self._generation += 1
            self._heap = []
            self._log = []
            self._held = {}
            self.config = dict(self._initial_config)
            self._cond.notify_all()

    # -- enqueue ---------------------------------------------------------
    def enqueue(self, system, topic, url, body, headers, webhook_id, meta=None):
        """Schedule a delivery; returns the Delivery objects created."""
        target = (meta or {}).get("target", "")
        rule, exhausted = self.faults.match_delivery(system, topic, target)
        first = Delivery(system, topic, url, body, headers, webhook_id, meta)
        created = [first]
        now = time.monotonic()
        with self._cond:
            first.generation = self._generation
            if rule is not None and rule.kind == "latency":
                first.due = now + (rule.seconds or 1.0)
            if rule is not None and rule.kind == "duplicate_delivery":
                dup = Delivery(system, topic, url, body, headers, webhook_id, meta)
                dup.generation = self._generation
                dup.duplicate_of = first.id
                dup.due = first.due + 0.001
                created.append(dup)
            self._log.extend(created)
            self._trim_log()
            if rule is not None and rule.kind == "out_of_order":
                group = self._held.setdefault(rule.id, {"items": [], "deadline": None})
                first.state = "held"
                first.held_by = rule.id
                group["items"].append(first)
                if rule.seconds and group["deadline"] is None:
                    group["deadline"] = now + rule.seconds
                if exhausted:
                    self._release_locked(rule.id)
            else:
                for item in created:
                    self._push(item)
            self._cond.notify_all()
        return created

    def _push(self, item):
        heapq.heappush(self._heap, (item.due, next(self._seq), item))

    def _trim_log(self):
        keep = self.config["keep"]
        if len(self._log) > keep:
            done = [d for d in self._log if d.state in ("delivered", "failed")]
            drop = {id(d) for d in done[: len(self._log) - keep]}
            self._log = [d for d in self._log if id(d) not in drop]

    def release(self, rule_id=None):
        """Release held (out_of_order) deliveries, newest first."""
        with self._cond:
            ids = list(self._held) if rule_id is None else [rule_id]
            count = sum(self._release_locked(i) for i in ids)
            self._cond.notify_all()
        return count

    def _release_locked(self, rule_id):
        group = self._held.pop(rule_id, None)
        if not group:
            return 0
        now = time.monotonic()
        for n, item in enumerate(reversed(group["items"])):
            item.state = "pending"
            item.due = now + n * 0.001
            self._push(item)
        return len(group["items"])

    # -- worker ----------------------------------------------------------
    def _session(self):
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _next_item(self):
        """Block until a delivery is due; None when stopping."""
        with self._cond:
            while not self._stopped:
                now = time.monotonic()
                for rule_id, group in list(self._held.items()):
                    if group["deadline"] is not None and group["deadline"] <= now:
                        self._release_locked(rule_id)
                while self._heap and (
                    self._heap[0][2].generation != self._generation
                    or self._heap[0][2].state != "pending"
                ):
                    heapq.heappop(self._heap)
                wait = 0.5
                if self._heap:
                    due = self._heap[0][0]
                    if due <= now:
                        item = heapq.heappop(self._heap)[2]
                        item.state = "delivering"
                        self._inflight += 1
                        return item
                    wait = min(wait, due - now)
                deadlines = [
                    g["deadline"] for g in self._held.values() if g["deadline"]
                ]
                if deadlines:
                    wait = min(wait, max(0.0, min(deadlines) - now))
                self._cond.wait(timeout=max(wait, 0.001))
        return None

    def _run(self):
        while True:
            item = self._next_item()
            if item is None:
                return
            try:
                self._attempt(item)
            except Exception:  # noqa: BLE001 - a worker must never die
                _logger.exception("webhook delivery %s crashed", item.id)
            finally:
                with self._cond:
                    self._inflight -= 1
                    self._cond.notify_all()

    def _attempt(self, item):
        started = time.monotonic()
        record = {"at": format_utc(utcnow()), "status": None, "error": None}
        try:
            resp = self._session().post(
                item.url,
                data=item.body,
                headers=item.headers,
                timeout=self.config["timeout"],
                allow_redirects=False,
            )
            record["status"] = resp.status_code
            record["response"] = resp.text[:300]
            ok = 200 <= resp.status_code < 300
        except requests.RequestException as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"[:300]
            ok = False
        record["duration_ms"] = int((time.monotonic() - started) * 1000)
        with self._cond:
            if item.generation != self._generation:
                return
            item.attempts.append(record)
            if ok:
                item.state = "delivered"
            elif len(item.attempts) < self.config["max_attempts"]:
                item.state = "pending"
                item.due = time.monotonic() + backoff_delay(
                    len(item.attempts), self.config
                )
                self._push(item)
            else:
                item.state = "failed"

    # -- inspection ------------------------------------------------------
    def list(self, include_body=False, **filters):
        with self._cond:
            items = list(self._log)
        result = []
        for item in items:
            data = item.as_dict(include_body=include_body)
            if all(
                str(data.get(key)) == str(value)
                for key, value in filters.items()
                if value not in (None, "")
            ):
                result.append(data)
        return result

    def stats(self):
        with self._cond:
            counts = {}
            for item in self._log:
                counts[item.state] = counts.get(item.state, 0) + 1
            return {
                "states": counts,
                "inflight": self._inflight,
                "held_groups": len(self._held),
            }

    def drain(self, timeout=10.0):
        """Wait until nothing is pending or in flight (held ones excluded)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                busy = self._inflight or any(
                    d.state in ("pending", "delivering") for d in self._log
                )
                if not busy:
                    return True
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(timeout=min(remaining, 0.1))
