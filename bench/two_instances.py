"""Two Odoo instances, one database, one job runner: the way the README says
the suite scales beyond one machine.

Two real Odoo 17 servers with prefork workers on the same scratch database;
only the first runs queue_job's runner, which sends jobs to a round-robin
balancer in front of both (what a load balancer does in production). The
Shopify sandbox (in this process) makes the orders; this script signs and
posts their ``orders/create`` webhooks itself. Three phases, each with
orders of its own:

1. **one instance**: every webhook to instance A, jobs run on A;
2. **two instances**: the same load, webhooks alternately to A and B, jobs
   balanced over A and B;
3. **duplicate storm**: every delivery sent to both instances at the same
   moment (same webhook id), jobs balanced.

For each: orders per second from the first webhook posted to the last sale
order confirmed, intake p50/p99, and the checks: every order once, every
message done, the storm's second deliveries counted as duplicates, no answer
other than 200 (no lock error reaching the caller). Exits non-zero when a
check fails.

    python3 bench/two_instances.py --orders 150 --concurrency 6 --workers 2
"""

import argparse
import base64
import hashlib
import hmac
import http.server
import itertools
import json
import socketserver
import threading
import time

import requests
from common import ScratchOdoo, percentile, query
from shopify_orders import SECRET, prepare

from sandbox.shopify import specs
from sandbox.testing import RunningSandbox


class Balancer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """Round-robin HTTP forwarding of GET requests (the runner's
    ``/queue_job/runjob`` calls) to the instances."""

    daemon_threads = True

    def __init__(self, targets):
        self.targets = itertools.cycle(targets)
        self.lock = threading.Lock()
        self.counts = {}
        super().__init__(("127.0.0.1", 0), BalancerHandler)

    def next_target(self):
        with self.lock:
            target = next(self.targets)
            self.counts[target] = self.counts.get(target, 0) + 1
            return target


class BalancerHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        target = self.server.next_target()
        try:
            answer = requests.get(
                target + self.path,
                headers={"Host": self.headers.get("Host", "")},
                timeout=3600,
            )
            status, body = answer.status_code, answer.content
        except requests.RequestException as exc:
            status, body = 502, str(exc).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the runner does not wait for a job's answer

    def log_message(self, *args):
        pass


def make_orders(shop, count, phase):
    spec = specs.order_spec(
        specs.customer(f"buyer.{phase}@bench.example", "Bench", "Buyer"),
        [("TSHIRT-RED-XL", 2, "19.99"), ("MUG-WHITE", 1, "8.00")],
    )
    ids = set(shop.create_orders(count, spec, vary_email=True))
    return [order for order in shop.orders() if order["id"] in ids]


def delivery(order, webhook_id):
    body = json.dumps(order).encode()
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Shop-Domain": "demo.myshopify.com",
    }
    return body, headers


def post_all(jobs, concurrency):
    """``jobs``: lists of ``(url, body, headers)`` posted at the same moment
    (one thread each); ``concurrency`` such groups at a time. Returns
    ``(latencies, statuses)``."""
    latencies, statuses, lock = [], [], threading.Lock()
    pending = list(reversed(jobs))

    def post(session, url, body, headers):
        started = time.perf_counter()
        try:
            status = session.post(url, data=body, headers=headers, timeout=120)
            status = status.status_code
        except requests.RequestException as exc:
            status = type(exc).__name__
        with lock:
            latencies.append(time.perf_counter() - started)
            statuses.append(status)

    def worker():
        sessions = {}
        while True:
            with lock:
                if not pending:
                    return
                group = pending.pop()
            threads = [
                threading.Thread(
                    target=post,
                    args=(sessions.setdefault(url, requests.Session()), url, b, h),
                )
                for url, b, h in group
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    workers = [threading.Thread(target=worker) for _i in range(concurrency)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return latencies, statuses


def wait_done(registry, backend_id, orders, timeout):
    ids = [str(order["id"]) for order in orders]
    deadline = time.time() + timeout
    while time.time() < deadline:
        ((confirmed,),) = query(
            registry,
            "SELECT count(*) FROM sale_order s JOIN integration_binding b "
            "ON b.res_model = 'sale.order' AND b.res_id = s.id "
            "WHERE b.backend_id = %s AND b.external_id IN %s AND s.state = 'sale'",
            [backend_id, tuple(ids)],
        )
        if confirmed >= len(ids):
            return time.time()
        time.sleep(0.2)
    raise SystemExit(f"only {confirmed}/{len(ids)} orders confirmed in {timeout}s")


def phase_checks(registry, backend_id, orders, statuses, duplicates_expected):
    ids = tuple(str(order["id"]) for order in orders)
    problems = []
    others = sorted({s for s in statuses if s != 200}, key=str)
    if others:
        problems.append(f"answers other than 200: {others}")
    ((sales, distinct),) = query(
        registry,
        "SELECT count(*), count(DISTINCT client_order_ref) FROM sale_order "
        "WHERE client_order_ref IN %s",
        [tuple(order["name"] for order in orders)],
    )
    if not sales == distinct == len(orders):
        problems.append(f"{sales} sale orders ({distinct} distinct) for {len(orders)}")
    states = dict(
        query(
            registry,
            "SELECT state, count(*) FROM integration_message WHERE backend_id = %s "
            "AND external_id IN %s GROUP BY state",
            [backend_id, ids],
        )
    )
    if states != {"done": len(orders)}:
        problems.append(f"messages by state: {states}")
    ((duplicates,),) = query(
        registry,
        "SELECT coalesce(sum(duplicate_count), 0) FROM integration_message "
        "WHERE backend_id = %s AND external_id IN %s",
        [backend_id, ids],
    )
    if duplicates != duplicates_expected:
        problems.append(f"{duplicates} duplicates counted, {duplicates_expected} sent")
    return problems


def run_phase(name, registry, backend_id, orders, groups, concurrency):
    started = time.time()
    latencies, statuses = post_all(groups, concurrency)
    finished = wait_done(registry, backend_id, orders, timeout=900)
    rate = len(orders) / (finished - started)
    print(
        f"{name:<18} {rate:6.2f} orders/s   intake p50 "
        f"{percentile(latencies, 50) * 1000:5.0f} ms  p99 "
        f"{percentile(latencies, 99) * 1000:5.0f} ms   ({len(statuses)} posts)",
        flush=True,
    )
    return rate, statuses


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=150)
    parser.add_argument("--concurrency", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    scratch = ScratchOdoo(["connector_shopify"], workers=args.workers)
    registry = scratch.registry
    port_a, port_b = scratch.http_port, scratch.http_port + 10
    base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    balancer = Balancer([base_a, base_b])
    threading.Thread(target=balancer.serve_forever, daemon=True).start()
    problems = []
    with RunningSandbox() as sandbox:
        shop = sandbox.shopify("demo")
        backend_id = prepare(registry, shop.base_url)
        hook = f"/integration/webhook/{backend_id}"
        orders = {
            phase: make_orders(shop, args.orders, phase)
            for phase in ("one", "two", "storm")
        }
        print(
            f"{args.orders} orders per phase, concurrency {args.concurrency}, "
            f"{args.workers} workers per instance",
            flush=True,
        )
        # Phase 1: one instance (A), its runner sending jobs to itself.
        with scratch.server("base,web,queue_job", port_a):
            groups = [
                [(base_a + hook, *delivery(o, f"one-{o['id']}"))] for o in orders["one"]
            ]
            one, statuses = run_phase(
                "one instance",
                registry,
                backend_id,
                orders["one"],
                groups,
                args.concurrency,
            )
            problems += phase_checks(registry, backend_id, orders["one"], statuses, 0)
        # Phases 2 and 3: A (with the runner) and B, jobs balanced over both.
        runner_env = {"ODOO_QUEUE_JOB_PORT": str(balancer.server_port)}
        with (
            scratch.server("base,web,queue_job", port_a, env=runner_env),
            scratch.server("base,web", port_b),
        ):
            groups = [
                [(base + hook, *delivery(o, f"two-{o['id']}"))]
                for o, base in zip(orders["two"], itertools.cycle([base_a, base_b]))
            ]
            two, statuses = run_phase(
                "two instances",
                registry,
                backend_id,
                orders["two"],
                groups,
                args.concurrency,
            )
            problems += phase_checks(registry, backend_id, orders["two"], statuses, 0)
            groups = []
            for order in orders["storm"]:
                body, headers = delivery(order, f"storm-{order['id']}")
                groups.append(
                    [(base_a + hook, body, headers), (base_b + hook, body, headers)]
                )
            _storm, statuses = run_phase(
                "duplicate storm",
                registry,
                backend_id,
                orders["storm"],
                groups,
                args.concurrency,
            )
            problems += phase_checks(
                registry, backend_id, orders["storm"], statuses, len(orders["storm"])
            )
    balancer.shutdown()
    print(
        f"two instances / one: {two / one:.2f}x; jobs per instance: {balancer.counts}"
    )
    if not args.keep_db:
        scratch.drop()
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems))
        raise SystemExit(1)
    print("OK: every order once, every message done, every answer 200")


if __name__ == "__main__":
    main()
