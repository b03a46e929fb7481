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
import statistics
import time

from common import ScratchOdoo, environment, hammer, percentile, query

SECRET = "bench-secret"


def create_backend(registry, batch_size):
    with registry.cursor() as cr:
        backend = environment(cr)["integration.backend"].create(
            {
                "name": "Bench",
                "webhook_secret": SECRET,
                "rate_limit": 0,
                "batch_size": batch_size,
            }
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
    started = time.perf_counter()
    with registry.cursor() as cr:
        env = environment(cr)
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


def drain_rate(registry, backend_id, count, timeout):
    """Messages per second from the first to the last message done."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ((done, first, last),) = query(
            registry,
            "SELECT count(*), min(done_at), max(done_at) FROM integration_message "
            "WHERE backend_id = %s AND state = 'done' "
            "AND idempotency_key LIKE 'hook-%%'",
            [backend_id],
        )
        if done >= count:
            return (count - 1) / max((last - first).total_seconds(), 1e-6)
        time.sleep(0.5)
    raise SystemExit(f"only {done}/{count} messages done after {timeout}s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--batch-size",
        type=int,
        default=50,
        help="the backend's Messages per job (1: no micro-batches)",
    )
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    scratch = ScratchOdoo(["integration_core"], workers=args.workers)
    registry = scratch.registry
    backend_id = create_backend(registry, args.batch_size)
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
    ping_url = f"{scratch.base}/integration/ping"
    hook_url = f"{scratch.base}/integration/webhook/{backend_id}"
    with scratch.server("base,web"):
        hammer([(ping_url, None)] * 50, args.concurrency)
        tasks = []
        for body in bodies:
            tasks += [(ping_url, None), (hook_url, body)]
        latencies = hammer(tasks, args.concurrency, headers_for)
        ping, intake = latencies[ping_url], latencies[hook_url]
    # Phase 2: the runner drains the queued messages through the jobs.
    with scratch.server("base,web,queue_job"):
        pipeline = drain_rate(registry, backend_id, args.messages, timeout=1800)
    direct = direct_rate(registry, backend_id, args.messages)
    if not args.keep_db:
        scratch.drop()

    ping_p50, ping_p99 = percentile(ping, 50), percentile(ping, 99)
    in_p50, in_p99 = percentile(intake, 50), percentile(intake, 99)
    print()
    print(
        f"messages={args.messages} concurrency={args.concurrency} "
        f"workers={args.workers} (Odoo prefork + queue_job runner, "
        f"channel capacity {args.workers}), messages per job {args.batch_size}"
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


if __name__ == "__main__":
    main()
