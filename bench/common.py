"""What the benchmarks share: a scratch database, an Odoo server with prefork
workers (and, when asked, queue_job's runner), a registry in this process,
percentiles and a concurrent HTTP client. Not a test, not product code."""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))
from odoo_env import (  # noqa: E402
    REPO,
    odoo_addons_path,
    odoo_command,
    postgres_connection,
    require_odoo17,
    write_config,
)
from run import LAUNCHER  # noqa: E402


def open_registry(config, dbname):
    """The Odoo registry of ``dbname`` in this process (``config``: its file)."""
    import odoo  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415

    odoo.tools.config.parse_config(["-c", config, "-d", dbname, "--log-level=warn"])
    return Registry(dbname)


def environment(cr, **context):
    """The superuser's environment on ``cr``."""
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415

    return api.Environment(cr, SUPERUSER_ID, context)


def query(registry, sql, params=()):
    """The rows of one SQL query, in a transaction of its own."""
    with registry.cursor() as cr:
        cr.execute(sql, params)
        return cr.fetchall()


class ScratchOdoo:
    """A scratch database with ``modules`` installed (no demo data) and the
    configuration of a server with ``workers`` and queue_job ``channels``
    (default ``root:<workers>``). ``dbname``: a database set up earlier
    (e.g. by a ``--keep-db`` run), used as it is. ``http_port``: the
    server's (default 18000 + the pid's last three digits)."""

    def __init__(
        self,
        modules,
        workers=2,
        prefix="integration_bench",
        channels=None,
        dbname=None,
        http_port=None,
        gevent_port=None,
    ):
        odoo = require_odoo17()
        self.host, self.port, self.user = postgres_connection()
        self.dbname = dbname or f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.tmp = tempfile.mkdtemp(prefix="integration-bench-")
        self.http_port = http_port or 18000 + os.getpid() % 1000
        self.gevent_port = gevent_port
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.config = write_config(
            f"{self.tmp}/odoo.conf",
            self.host,
            self.port,
            self.user,
            odoo_addons_path(odoo),
            data_dir=f"{self.tmp}/data",
            http_port=self.http_port,
            workers=workers,
            max_cron_threads=0,
            log_level="warn",
            db_name=self.dbname,
            list_db="False",
            server_wide_modules="base,web,queue_job",
        )
        with open(self.config, "a") as handle:
            handle.write(f"\n[queue_job]\nchannels = {channels or f'root:{workers}'}\n")
        if dbname:
            self.registry = open_registry(self.config, self.dbname)
            return
        print(f"setting up {self.dbname} ...", flush=True)
        subprocess.run(
            odoo_command(
                "-c",
                self.config,
                "-d",
                self.dbname,
                "-i",
                ",".join(modules),
                "--without-demo=all",
                "--stop-after-init",
                "--log-level=warn",
            ),
            check=True,
            cwd=REPO,
        )
        self.registry = open_registry(self.config, self.dbname)

    def server(self, modules="base,web,queue_job", http_port=None, env=None):
        """Context manager: the server runs, with ``--load=<modules>``
        (leave queue_job out to keep the job runner off), on ``http_port``
        (default: the configuration's) with ``env`` added to its environment
        (e.g. ``ODOO_QUEUE_JOB_PORT``: where the runner sends jobs)."""
        return RunningServer(self, modules, http_port, env)

    def drop(self):
        """Forget the registry and drop the database."""
        from odoo.modules.registry import Registry  # noqa: PLC0415
        from odoo.sql_db import close_db  # noqa: PLC0415

        Registry.delete(self.dbname)
        close_db(self.dbname)
        subprocess.run(
            [
                "dropdb",
                "-h",
                self.host,
                "-p",
                str(self.port),
                "-U",
                self.user,
                self.dbname,
            ],
            check=False,
        )


class RunningServer:
    def __init__(self, scratch, modules, http_port=None, env=None):
        self.scratch = scratch
        self.http_port = http_port or scratch.http_port
        self.base = f"http://127.0.0.1:{self.http_port}"
        self.env = {**os.environ, **(env or {})}
        # scripts/run.py's launcher: without gevent on this machine, Odoo's
        # prefork server would start its websocket process again and again
        # (several times a second, each a Python start: CPU the benchmark
        # would not have on a real server)
        launcher = Path(scratch.tmp) / "odoo-bin"
        launcher.write_text(LAUNCHER)
        self.command = [
            sys.executable,
            str(launcher),
            "-c",
            scratch.config,
            "-d",
            scratch.dbname,
            f"--db-filter=^{scratch.dbname}$",
            f"--load={modules}",
            f"--http-port={self.http_port}",
            # two servers on one machine: each its own websocket port
            f"--gevent-port={scratch.gevent_port or self.http_port + 1}"
            if self.http_port == scratch.http_port
            else f"--gevent-port={self.http_port + 1}",
        ]
        self.log = open(f"{scratch.tmp}/server.log", "a")  # noqa: SIM115

    def __enter__(self):
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env=self.env,
        )
        for _i in range(240):
            try:
                if requests.get(f"{self.base}/integration/ping", timeout=10).ok:
                    self.warm_up()
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.__exit__()
        raise SystemExit("the Odoo server did not start")

    def warm_up(self, requests_count=12):
        """Every prefork worker loads the registry on its first request: do
        it before any clock runs."""
        url = f"{self.base}/integration/ping"
        threads = [
            threading.Thread(target=requests.get, args=(url,), kwargs={"timeout": 60})
            for _i in range(requests_count)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def __exit__(self, *exc):
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def percentile(values, pct):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def hammer(tasks, concurrency, headers_for=None):
    """Run ``(url, body)`` tasks (GET when body is None, else a POST with
    ``headers_for(body)``) from ``concurrency`` threads; latencies (s) per url."""
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
