"""Jobs and messages agree after crashes: workers killed with SIGKILL while
micro-batches run.

A real Odoo 17 server with prefork workers and queue_job's runner, on a
scratch database. N contact messages are queued (micro-batches of the
backend's batch size); while the runner drains them, a killer sends SIGKILL
to a random worker process (HTTP workers and the job runner: the server
starts new ones) every ``--kill-every`` seconds, ``--kills`` times. Then the
server runs until nothing is left to do, and the script checks, in the
database:

* every message is done, exactly once: one contact and one binding per
  message, no duplicate;
* no job of a done message is left failed, started or enqueued;
* a message's job that a batch did not close ran and found nothing to do.

It exits non-zero when a check fails, printing what disagrees.

    python3 bench/crash_agreement.py --messages 1500 --kills 12
"""

import argparse
import json
import random
import signal
import threading
import time

import psutil
from common import ScratchOdoo, environment, query

SECRET = "crash-secret"


def queue_messages(registry, count, batch_size):
    with registry.cursor() as cr:
        env = environment(cr)
        backend = env["integration.backend"].create(
            {
                "name": "Crash",
                "webhook_secret": SECRET,
                "rate_limit": 0,
                "batch_size": batch_size,
            }
        )
        Message = env["integration.message"]
        for index in range(count):
            data = {
                "id": f"crash-{index}",
                "name": f"Contact {index}",
                "email": f"crash.{index}@example.com",
            }
            Message._intake(
                backend, "contact.upsert", data["id"], json.dumps(data).encode()
            )
        return backend.id


def killer(server_process, kills, every, stop, log):
    """SIGKILL a random child of the server (a worker) every ``every`` s."""
    rng = random.Random(7)
    parent = psutil.Process(server_process.pid)
    for _kill in range(kills):
        if stop.wait(every * rng.uniform(0.5, 1.5)):
            return
        children = parent.children()
        if not children:
            continue
        victim = rng.choice(children)
        try:
            victim.send_signal(signal.SIGKILL)
            log.append(victim.pid)
        except psutil.NoSuchProcess:
            pass


def settled(registry, backend_id):
    ((open_messages,),) = query(
        registry,
        "SELECT count(*) FROM integration_message WHERE backend_id = %s "
        "AND state NOT IN ('done', 'dead', 'ignored')",
        [backend_id],
    )
    ((open_jobs,),) = query(
        registry,
        "SELECT count(*) FROM queue_job WHERE state IN "
        "('pending', 'enqueued', 'started', 'wait_dependencies')",
    )
    return open_messages, open_jobs


def checks(registry, backend_id, count):
    problems = []
    states = dict(
        query(
            registry,
            "SELECT state, count(*) FROM integration_message WHERE backend_id = %s "
            "GROUP BY state",
            [backend_id],
        )
    )
    if states != {"done": count}:
        problems.append(f"messages by state: {states} (expected {count} done)")
    ((partners, distinct_emails),) = query(
        registry,
        "SELECT count(*), count(DISTINCT email) FROM res_partner "
        "WHERE email LIKE 'crash.%%@example.com'",
    )
    ((bindings,),) = query(
        registry,
        "SELECT count(*) FROM integration_binding WHERE backend_id = %s",
        [backend_id],
    )
    if not partners == distinct_emails == bindings == count:
        problems.append(
            f"{partners} contacts, {distinct_emails} distinct, {bindings} bindings "
            f"for {count} messages"
        )
    disagreeing = query(
        registry,
        "SELECT j.state, count(*) FROM integration_message m "
        "JOIN queue_job j ON j.uuid = m.job_uuid "
        "WHERE m.backend_id = %s AND m.state = 'done' AND j.state != 'done' "
        "GROUP BY j.state",
        [backend_id],
    )
    if disagreeing:
        problems.append(f"jobs not done for done messages: {dict(disagreeing)}")
    return problems, states


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1500)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=25)
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--kill-every", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    scratch = ScratchOdoo(["integration_core"], workers=args.workers)
    registry = scratch.registry
    backend_id = queue_messages(registry, args.messages, args.batch_size)
    print(f"{args.messages} messages queued, batches of {args.batch_size}")
    killed, stop = [], threading.Event()
    started = time.monotonic()
    with scratch.server("base,web,queue_job") as server:
        thread = threading.Thread(
            target=killer,
            args=(server.process, args.kills, args.kill_every, stop, killed),
        )
        thread.start()
        thread.join()
        print(f"{len(killed)} workers killed with SIGKILL")
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            open_messages, open_jobs = settled(registry, backend_id)
            if not open_messages and not open_jobs:
                break
            time.sleep(1)
        print(
            f"settled after {time.monotonic() - started:.0f} s "
            f"({open_messages} open messages, {open_jobs} open jobs)"
        )
    problems, states = checks(registry, backend_id, args.messages)
    ((requeued,),) = query(
        registry, "SELECT count(*) FROM queue_job WHERE retry > 0 AND state = 'done'"
    )
    print(f"messages: {states}; jobs that ran again after a kill: {requeued}")
    if not args.keep_db:
        scratch.drop()
    if problems:
        print("DISAGREEMENT:\n  " + "\n  ".join(problems))
        raise SystemExit(1)
    print("OK: every message done once, every job of a done message done")


if __name__ == "__main__":
    main()
