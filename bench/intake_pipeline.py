"""Benchmark of integration_core: webhook intake latency and pipeline throughput.

A real Odoo 17 HTTP server with prefork workers and queue_job's job runner, on a
scratch database. From the same run it prints:

* intake latency p50/p99 of N signed webhooks posted at concurrency C, against
  the same load on a trivial Odoo route with a database (``/integration/ping``);
  goal: intake p50 at most 2x the trivial route's;
* messages processed per second through the jobs (the queued messages drained
  by queue_job's runner, first to last message done), against calling the same
  handler directly in one process, one commit per message; goal: at least 0.85x.

Intake is measured with the job runner off (phase 1), processing with it on
(phase 2), so that each figure is measured on its own.

    python3 bench/intake_pipeline.py --messages 2000 --concurrency 8 --workers 2
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from odoo_env import (  # noqa: E402
    REPO,
    odoo_addons_path,
    odoo_command,
    postgres_connection,
    require_odoo17,
    write_config,
)

SECRET = "bench-secret"


def percentile(values, pct):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def setup_database(config, dbname):
    subprocess.run(
        odoo_command(
            "-c",
            config,
            "-d",
            dbname,
            "-i",
            "integration_core",
            "--without-demo=all",
            "--stop-after-init",
            "--log-level=warn",
        ),
        check=True,
        cwd=REPO,
    )


def odoo_env(config, dbname):
    import odoo  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415

    odoo.tools.config.parse_config(["-c", config, "-d", dbname])
    return Registry(dbname)


def create_backend(registry):
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        backend = env["integration.backend"].create(
            {"name": "Bench", "webhook_secret": SECRET, "rate_limit": 0}
        )
        return backend.id


def contact(prefix, index):
    return {
        "id": f"{prefix}-{index}",
        "name": f"Contact {prefix} {index}",
        "email": f"{prefix}.{index}@bench.example",
        "city": "Gent",
    }


def direct_rate(registry, backend_id, count):
    """The same handler, called directly: intake without a job, then the
    handler, one commit per message, in one process."""
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    started = time.perf_counter()
    with registry.cursor() as cr:
        env = api.Environment(cr, SUPERUSER_ID, {})
        backend = env["integration.backend"].browse(backend_id)
        Message = env["integration.message"]
        for index in range(count):
            data = contact("direct", index)
            body = json.dumps(data).encode()
            message, _created = Message._intake(
                backend, "contact.upsert", data["id"], body, enqueue=False
            )
            backend._generic_handle_contact_upsert(message, data)
            cr.commit()
    return count / (time.perf_counter() - started)


def hammer(tasks, concurrency, headers_for):
    """Run ``(url, body)`` tasks (GET when body is None, else a signed POST)
    from ``concurrency`` threads; returns latencies (s) per url."""
    latencies, errors = {}, []
    lock = threading.Lock()
    queue = list(reversed(tasks))

    def worker():
        session = requests.Session()
        while True:
            with lock:
                if not queue:
                    return
                url, body = queue.pop()
            start = time.perf_counter()
            if body is None:
                response = session.get(url, timeout=60)
            else:
                response = session.post(
                    url, data=body, headers=headers_for(body), timeout=60
                )
            elapsed = time.perf_counter() - start
            with lock:
                latencies.setdefault(url, []).append(elapsed)
                if response.status_code != 200:
                    errors.append(response.status_code)

    threads = [threading.Thread(target=worker) for _i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed: {sorted(set(errors))}")
    return latencies


class running_server:  # noqa: N801 - used as a context manager
    """An Odoo server with prefork workers, stopped on exit."""

    def __init__(self, config, dbname, base, tmp, modules):
        self.command = odoo_command(
            "-c", config, "-d", dbname, f"--db-filter=^{dbname}$", f"--load={modules}"
        )
        self.base = base
        self.log = open(f"{tmp}/server.log", "a")  # noqa: SIM115

    def __enter__(self):
        self.process = subprocess.Popen(
            self.command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=self.log
        )
        for _i in range(240):
            try:
                if requests.get(f"{self.base}/integration/ping", timeout=2).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        raise SystemExit("the Odoo server did not start")

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def drain_rate(registry, backend_id, count, timeout):
    """Messages per second from the first to the last message done."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        with registry.cursor() as cr:
            cr.execute(
                "SELECT count(*), min(done_at), max(done_at) FROM integration_message "
                "WHERE backend_id = %s AND state = 'done' "
                "AND idempotency_key LIKE 'hook-%%'",
                [backend_id],
            )
            done, first, last = cr.fetchone()
        if done >= count:
            return (count - 1) / max((last - first).total_seconds(), 1e-6)
        time.sleep(0.5)
    raise SystemExit(f"only {done}/{count} messages done after {timeout}s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    odoo = require_odoo17()
    host, port, user = postgres_connection()
    dbname = f"integration_bench_{uuid.uuid4().hex[:8]}"
    tmp = tempfile.mkdtemp(prefix="integration-bench-")
    http_port = 18000 + os.getpid() % 1000
    config = write_config(
        f"{tmp}/odoo.conf",
        host,
        port,
        user,
        odoo_addons_path(odoo),
        data_dir=f"{tmp}/data",
        http_port=http_port,
        workers=args.workers,
        max_cron_threads=0,
        log_level="warn",
        db_name=dbname,
        list_db="False",
        server_wide_modules="base,web,queue_job",
    )
    with open(config, "a") as handle:
        handle.write(f"\n[queue_job]\nchannels = root:{args.workers}\n")
    print(f"setting up {dbname} ...", flush=True)
    setup_database(config, dbname)
    registry = odoo_env(config, dbname)
    backend_id = create_backend(registry)
    base = f"http://127.0.0.1:{http_port}"
    from odoo.addons.integration_core.tools.signing import (  # noqa: PLC0415
        compute_signature,
    )

    bodies = [json.dumps(contact("hook", i)).encode() for i in range(args.messages)]

    def headers_for(body):
        data = json.loads(body)
        return {
            "Content-Type": "application/json",
            "X-Integration-Signature": compute_signature(SECRET, body),
            "X-Integration-Topic": "contact.upsert",
            "X-Integration-Idempotency-Key": data["id"],
        }

    # Phase 1: intake and the trivial route, job runner off. Each client
    # thread alternates the two, so that both see the same load and noise.
    ping_url = f"{base}/integration/ping"
    hook_url = f"{base}/integration/webhook/{backend_id}"
    with running_server(config, dbname, base, tmp, "base,web"):
        hammer([(ping_url, None)] * 50, args.concurrency, headers_for)
        tasks = []
        for body in bodies:
            tasks += [(ping_url, None), (hook_url, body)]
        latencies = hammer(tasks, args.concurrency, headers_for)
        ping, intake = latencies[ping_url], latencies[hook_url]
    # Phase 2: the runner drains the queued messages through the jobs.
    with running_server(config, dbname, base, tmp, "base,web,queue_job"):
        pipeline = drain_rate(registry, backend_id, args.messages, timeout=1800)
    direct = direct_rate(registry, backend_id, args.messages)
    registry.delete(dbname)
    from odoo.sql_db import close_db  # noqa: PLC0415

    close_db(dbname)

    ping_p50, ping_p99 = percentile(ping, 50), percentile(ping, 99)
    in_p50, in_p99 = percentile(intake, 50), percentile(intake, 99)
    print()
    print(
        f"messages={args.messages} concurrency={args.concurrency} "
        f"workers={args.workers} (Odoo prefork + queue_job runner, "
        f"channel capacity {args.workers})"
    )
    print(f"{'':28}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    print(
        f"{'trivial route /ping':28}{ping_p50 * 1000:10.1f}{ping_p99 * 1000:10.1f}"
        f"{statistics.mean(ping) * 1000:10.1f}"
    )
    print(
        f"{'webhook intake':28}{in_p50 * 1000:10.1f}{in_p99 * 1000:10.1f}"
        f"{statistics.mean(intake) * 1000:10.1f}"
    )
    ratio = in_p50 / ping_p50
    print(
        f"intake p50 / trivial p50 = {ratio:.2f}x  (goal <= 2.00x: "
        f"{'met' if ratio <= 2 else 'NOT met'})"
    )
    print(f"through the jobs (runner):        {pipeline:8.1f} msg/s")
    print(f"direct handler calls:             {direct:8.1f} msg/s")
    ratio = pipeline / direct
    print(
        f"pipeline / direct = {ratio:.2f}x  (goal >= 0.85x: "
        f"{'met' if ratio >= 0.85 else 'NOT met'})"
    )
    if not args.keep_db:
        subprocess.run(
            ["dropdb", "-h", host, "-p", str(port), "-U", user, dbname], check=False
        )


if __name__ == "__main__":
    main()
