"""The run command (``make run``): the demo database, the sandbox and Odoo.

1. stop at once, with instructions, when Odoo 17 cannot be imported; find
   PostgreSQL (``PG*`` variables, else 127.0.0.1:5432, else a private server);
2. write ``var/odoo.conf``: Odoo's threaded server (HTTP, the browser's
   websocket, one cron thread and the queue_job runner in one process) or,
   with ``--workers N``, the multi-process server; channel capacities that
   leave room for users and webhooks;
3. create the database with every addon of ``addons/`` and their demo data or,
   when it exists, update the addons installed and install the missing ones:
   running the command again keeps the data;
4. start the sandbox (``python3 -m sandbox``) and Odoo as child processes, wait
   until Odoo answers, connect the demo shop (the connect step below) and
   print the URL and the login;
5. Ctrl-C (or SIGTERM) stops both children.

The connect step: seed the sandbox's demo shop (it keeps nothing between
starts), point the demo Shopify backend at it, set the suite's webhook base
URL, read the shop's locations (those of an earlier start archived), register
the webhooks, send the stock; then the WMS, carrier and bank demo backends
(``connect_demo_fulfilment``: each pointed at the sandbox, the sandbox's side
seeded to ship, deliver and pay on its own, the web shop's warehouse mapped
to the WMS, Shopify's standard shipping line to the demo carrier, the bank
pulled every minute); when the Shopify backend has received nothing yet, the
demo orders follow by webhook (``sandbox/demo.py``: most go to paid, one
stops at each kind of exception).

Options: ``--port`` (8069), ``--db`` (integration_demo), ``--no-sandbox``,
``--sandbox-port`` (8079), ``--interface`` (127.0.0.1), ``--workers`` (0),
``--log-console`` (Odoo's and the sandbox's logs on the console instead of
``var/*.log``). Two steps alone, for containers (docker-compose.yml):
``--init-only`` (step 3 with ``--config FILE``, then exit) and
``--connect-only`` (the connect step against a running Odoo and sandbox:
``--odoo-url``, ``--sandbox-url``, ``--webhook-base-url``, then exit).
"""

import argparse
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import xmlrpc.client
from pathlib import Path

from odoo_env import (
    REPO,
    fail,
    odoo_addons_path,
    odoo_command,
    postgres_connection,
    project_addons,
    require_odoo17,
    write_config,
)

VAR = REPO / "var"
DB_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]+$")  # Odoo's own rule
READY_TIMEOUT = 180  # seconds for Odoo to answer /web/login
STOP_TIMEOUT = 30  # seconds for a child to stop before it is killed

# Odoo's prefork server (--workers N) starts its websocket (gevent) process by
# running ``sys.executable sys.argv[0] gevent ...``. Under ``python3 -m odoo``,
# argv[0] is odoo/__main__.py, which cannot run as a script; a launcher file
# like Odoo's own odoo-bin can. When gevent cannot be loaded, the launcher
# keeps that one process idle and quiet (run.py has said why, once): Odoo
# would otherwise respawn it without end. It stops without a traceback on
# the SIGINT or SIGTERM that Odoo sends it when it stops.
LAUNCHER = '''\
"""Odoo's command line (written by scripts/run.py, like Odoo's odoo-bin)."""

import signal
import sys

EVENTED = sys.argv[1:2] == ["gevent"]
try:
    import odoo
except Exception:
    if not EVENTED:
        raise
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: sys.exit(0))
    while True:
        signal.pause()

if __name__ == "__main__":
    odoo.cli.main()
'''


def gevent_works():
    """True when this Python can run Odoo's websocket (gevent) process."""
    check = "import gevent.monkey; gevent.monkey.patch_all()"
    try:
        result = subprocess.run(
            [sys.executable, "-c", check], capture_output=True, timeout=60
        )
    except subprocess.TimeoutExpired:
        return False
    return result.returncode == 0


# ---------------------------------------------------------------- processes


def _child_setup():
    """In the child, before exec: default Ctrl-C, and die with run.py."""
    # A command started in the background by a shell inherits an ignored
    # SIGINT; the children must react to the SIGINT run.py sends them.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    if not sys.platform.startswith("linux"):
        return
    try:  # get SIGTERM when run.py itself dies, even by SIGKILL
        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, int(signal.SIGTERM))
    except (OSError, AttributeError):
        pass


class Child:
    """A child process in its own process group, stopped with ``stop_signal``."""

    def __init__(self, name, command, log_path, stop_signal, console=False):
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        self.log = None if console else open(log_path, "w")
        self.process = subprocess.Popen(
            command,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT if self.log else None,
            # Own session: the terminal's Ctrl-C reaches run.py only, which
            # then stops the children in order.
            start_new_session=True,
            preexec_fn=_child_setup,
        )

    def alive(self):
        return self.process.poll() is None

    def signal(self, sig):
        if self.alive():
            try:
                self.process.send_signal(sig)
            except ProcessLookupError:
                pass

    def kill_group(self):
        """SIGKILL whatever is left of the process group (workers, ...)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def tail(self, lines=40):
        if not self.log:
            return ""
        self.log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def close(self):
        if self.log:
            self.log.close()


def stop_children(children):
    """Ask every child to stop, wait, then kill what is left."""
    for child in children:
        child.signal(child.stop_signal)
    deadline = time.monotonic() + STOP_TIMEOUT
    for child in children:
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{child.name} did not stop in time: killed", file=sys.stderr)
        # Odoo's workers and job runner live in the same process group.
        child.kill_group()
        child.process.wait()
        child.close()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


# ---------------------------------------------------------------- database


def _connect(host, port, user, dbname="postgres"):
    import psycopg2  # noqa: PLC0415

    return psycopg2.connect(host=host, port=port, user=user, dbname=dbname)


def installed_addons(host, port, user, dbname, addons):
    """None when ``dbname`` is not an Odoo database yet, else the installed ones."""
    conn = _connect(host, port, user)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
            exists = bool(cr.fetchone())
    finally:
        conn.close()
    if not exists:
        return None
    conn = _connect(host, port, user, dbname)
    try:
        with conn.cursor() as cr:
            cr.execute("SELECT to_regclass('public.ir_module_module') IS NOT NULL")
            if not cr.fetchone()[0]:
                return None
            cr.execute(
                "SELECT name FROM ir_module_module "
                "WHERE name = ANY(%s) AND state IN ('installed', 'to upgrade')",
                (list(addons),),
            )
            return {row[0] for row in cr.fetchall()}
    finally:
        conn.close()


def install_plan(installed, addons):
    """(to install, to update): update what is installed, install the rest.
    ``installed`` is None for a database that does not exist yet. Never ``-i``
    an installed module: Odoo would load its data and demo again in init
    mode (``noupdate`` records overwritten, demo functions run again)."""
    if installed is None:
        return list(addons), []
    return (
        [name for name in addons if name not in installed],
        [name for name in addons if name in installed],
    )


def prepare_database(
    config, host, port, user, dbname, addons, children, log_path=None, odoo_args=()
):
    """Create the demo database, or update it: the data stays. True when it
    was created. ``odoo_args``: more options for Odoo (the connection)."""
    installed = installed_addons(host, port, user, dbname, addons)
    to_install, to_update = install_plan(installed, addons)
    if installed is None:
        print(
            f"== creating database {dbname} with {', '.join(addons)} and demo data",
            flush=True,
        )
    else:
        steps = []
        if to_update:
            steps.append(f"update {', '.join(to_update)}")
        if to_install:
            steps.append(f"install {', '.join(to_install)}")
        print(
            f"== database {dbname} exists, its data is kept: {'; '.join(steps)}",
            flush=True,
        )
    args = ["-c", str(config), *odoo_args, "-d", dbname]
    if to_install:
        args += ["-i", ",".join(to_install)]
    if to_update:
        args += ["-u", ",".join(to_update)]
    args += ["--stop-after-init", "--max-cron-threads=0", "--workers=0"]
    log_path = log_path or VAR / "odoo-init.log"
    print(f"   (takes a minute or two; log: {shown(log_path)})", flush=True)
    init = Child("odoo init", odoo_command(*args), log_path, signal.SIGINT)
    children.append(init)
    returncode = init.process.wait()
    children.remove(init)
    output = init.tail(lines=10**6)
    init.close()
    # Odoo logs a failed module load as an ERROR/CRITICAL and may still exit 0.
    failed = returncode != 0 or any(
        f" {level} {dbname} " in line
        for line in output.splitlines()
        for level in ("ERROR", "CRITICAL")
    )
    if failed:
        print("\n".join(output.splitlines()[-60:]), file=sys.stderr)
        fail(
            f"installing/updating the addons in {dbname} failed "
            f"(end of {log_path} above)"
        )
    return installed is None


def shown(path):
    """A path as the user reads it: relative to the repository when inside."""
    try:
        return str(path.relative_to(REPO))
    except ValueError:
        return str(path)


def connect_demo_shop(odoo_url, sandbox_url, dbname, webhook_base_url=None):
    """Connect the demo Shopify backend to the sandbox (which keeps nothing
    between runs): seed the shop, point the backend at it, set the suite's
    webhook base URL (where the sandbox reaches Odoo; default ``odoo_url``),
    read its locations, register its webhooks, send the stock; when the
    backend has received nothing yet, create a few orders that then arrive by
    webhook. The generic demo backend is pointed at the sandbox too. Returns
    what to print, or None without the demo Shopify backend."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from sandbox import demo  # noqa: PLC0415

    common = xmlrpc.client.ServerProxy(f"{odoo_url}/xmlrpc/2/common")
    uid = common.authenticate(dbname, "admin", "admin", {})
    if not uid:
        return "Shopify  demo shop not connected: admin / admin cannot log in"
    proxy = xmlrpc.client.ServerProxy(f"{odoo_url}/xmlrpc/2/object", allow_none=True)

    def call(model, method, *args, **kwargs):
        return proxy.execute_kw(dbname, uid, "admin", model, method, list(args), kwargs)

    def demo_record(module, name):
        found = call(
            "ir.model.data",
            "search_read",
            [("module", "=", module), ("name", "=", name)],
            fields=["res_id"],
        )
        return found[0]["res_id"] if found else None

    # the generic demo backend's "Test connection" calls the sandbox too
    generic_id = demo_record("integration_core", "demo_backend_generic")
    if generic_id:
        call(
            "integration.backend",
            "write",
            [generic_id],
            {"base_url": f"{sandbox_url.rstrip('/')}/_health"},
        )
    backend_id = demo_record("connector_shopify", "demo_backend_shopify")
    if not backend_id:
        return None  # no demo data, or the backend was deleted
    received = call(
        "integration.message",
        "search_count",
        [("backend_id", "=", backend_id), ("direction", "=", "in")],
    )
    shop = demo.seed_shopify(sandbox_url)
    call("integration.backend", "write", [backend_id], {"base_url": shop.base_url})
    # Not web.base.url: Odoo sets that to the address admin logs in at.
    call(
        "ir.config_parameter",
        "set_param",
        "integration.webhook_base_url",
        (webhook_base_url or odoo_url).rstrip("/"),
    )
    call("integration.backend", "action_shopify_fetch_locations", [backend_id])
    # The shop of an earlier start is gone: its locations are archived (their
    # warehouses go to the new shop's) and the inventory items Odoo found in
    # it forgotten (the stock export looks them up again by SKU).
    live = {str(location["id"]) for location in shop.locations()}
    locations = call(
        "shopify.location",
        "search_read",
        [("backend_id", "=", backend_id)],
        fields=["shopify_id", "warehouse_ids"],
    )
    gone = [loc for loc in locations if loc["shopify_id"] not in live]
    locations = [loc for loc in locations if loc["shopify_id"] in live]
    if gone:
        call(
            "shopify.location",
            "write",
            [loc["id"] for loc in gone],
            {"active": False, "warehouse_ids": [(5,)]},
        )
        stale = call(
            "shopify.inventory.item", "search", [("backend_id", "=", backend_id)]
        )
        if stale:
            call("shopify.inventory.item", "unlink", stale)
    if locations and not any(loc["warehouse_ids"] for loc in locations):
        warehouse = call(
            "integration.backend",
            "read",
            [backend_id],
            fields=["shopify_warehouse_id"],
        )[0]["shopify_warehouse_id"]
        if warehouse:
            call(
                "shopify.location",
                "write",
                [locations[0]["id"]],
                {"warehouse_ids": [(6, 0, [warehouse[0]])]},
            )
    call("integration.backend", "action_shopify_register_webhooks", [backend_id])
    # the fresh shop holds its seed quantities: send Odoo's (the system of record)
    call("integration.backend", "action_shopify_export_stock_now", [backend_id])
    notes = connect_demo_fulfilment(
        call,
        demo_record,
        sandbox_url.rstrip("/"),
        (webhook_base_url or odoo_url).rstrip("/"),
        dbname,
        backend_id,
    )
    if not received:
        orders = demo.demo_orders(shop)
        names = ", ".join(order["name"] for order in orders)
        notes.insert(
            0, f"Shopify  demo shop connected; orders {names} are on their way"
        )
    else:
        notes.insert(0, "Shopify  demo shop connected (sandbox shop 'demo')")
    return "\n".join(notes)


def connect_demo_fulfilment(call, demo_record, sandbox_url, odoo_url, dbname, shop_id):
    """The rest of the demo flow, each part when its demo backend exists:
    the WMS of the web shop's warehouse (seeded with Odoo's stock, shipping on its
    own), the carrier (parcels walking on their own, its webhook, the Shopify
    shipping line mapped to its shipping method), the bank (its API, the
    company's account on the bank journal, a pull every minute, the payer of
    the invoices). ``odoo_url``: where the sandbox reaches Odoo. Returns the
    lines to print."""
    from sandbox import demo  # noqa: PLC0415

    Backend = "integration.backend"
    notes = []

    def webhook_url(backend_id):
        return call(Backend, "read", [backend_id], fields=["webhook_url"])[0][
            "webhook_url"
        ]

    wms_id = demo_record("connector_wms", "demo_backend_wms")
    if wms_id:
        call(
            Backend,
            "write",
            [wms_id],
            {"base_url": f"{sandbox_url}/wms/{demo.WAREHOUSE}"},
        )
        products = call(
            "product.product",
            "search_read",
            [("default_code", "in", list(demo.PRODUCTS))],
            fields=["default_code", "qty_available"],
        )
        stock = {p["default_code"]: int(p["qty_available"]) for p in products}
        demo.seed_wms(sandbox_url, webhook_url(wms_id), stock)
        # the web shop's warehouse is run by the WMS
        warehouse_id = demo_record("connector_shopify", "demo_warehouse_shop")
        if warehouse_id:
            mapped = call(
                "stock.warehouse", "read", [warehouse_id], fields=["wms_backend_id"]
            )[0]["wms_backend_id"]
            if not mapped:
                call(
                    "stock.warehouse",
                    "write",
                    [warehouse_id],
                    {"wms_backend_id": wms_id},
                )
        notes.append(
            f"WMS      warehouse {demo.WAREHOUSE} ships released orders after "
            f"{demo.AUTO_SHIP_SECONDS} s (it refuses {', '.join(demo.REFUSED_AT_WMS)})"
        )
    carrier_backend_id = demo_record("connector_carrier", "demo_backend_carrier")
    carrier_id = demo_record("connector_carrier", "demo_carrier")
    if carrier_backend_id:
        call(
            Backend,
            "write",
            [carrier_backend_id],
            {"base_url": f"{sandbox_url}/carrier/{demo.CARRIER_ACCOUNT}/v2"},
        )
        demo.seed_carrier(sandbox_url, webhook_url(carrier_backend_id))
        if carrier_id:
            # Shopify's standard shipping line ships with the demo carrier
            mapping = [
                ("backend_id", "=", shop_id),
                ("kind", "=", "carrier_service"),
                ("external_code", "=", "STD"),
            ]
            if not call("integration.value.map", "search_count", mapping):
                call(
                    "integration.value.map",
                    "create",
                    {
                        "backend_id": shop_id,
                        "kind": "carrier_service",
                        "external_code": "STD",
                        "record_ref": f"delivery.carrier,{carrier_id}",
                    },
                )
        notes.append(
            "Carrier  parcels walk to delivered on their own "
            f"(not to a street with '{demo.UNDELIVERABLE}')"
        )
    bank_id = demo_record("connector_bank", "demo_backend_bank")
    if bank_id:
        call(
            Backend,
            "write",
            [bank_id],
            {"base_url": f"{sandbox_url}/bank/{demo.BANK}", "api_key": demo.BANK_TOKEN},
        )
        company = call(Backend, "read", [bank_id], fields=["company_id"])[0][
            "company_id"
        ]
        journals = call(
            "account.journal",
            "search_read",
            [("type", "=", "bank"), ("company_id", "=", company[0])],
            fields=["bank_acc_number", "currency_id"],
            limit=1,
            order="sequence, id",
        )
        if journals and journals[0]["bank_acc_number"] != demo.IBAN:
            call(
                "account.journal",
                "write",
                [journals[0]["id"]],
                {"bank_acc_number": demo.IBAN},
            )
        currency = call("res.company", "read", [company[0]], fields=["currency_id"])[0][
            "currency_id"
        ][1]
        # a pull every minute; the fresh sandbox's positions start again
        rules = call(
            "integration.sync.rule",
            "search",
            [("backend_id", "=", bank_id), ("business_object", "=", "bank_statement")],
        )
        call(
            "integration.sync.rule",
            "write",
            rules,
            {"interval_minutes": 1, "cursor": False, "next_run_at": False},
        )
        demo.seed_bank(sandbox_url, currency, odoo_url, dbname, "admin", "admin")
        notes.append(
            f"Bank     pays posted invoices within {demo.PAYER_INTERVAL} s; "
            "Odoo pulls the statement every minute"
        )
    return notes


# ---------------------------------------------------------------- waiting


def port_in_use(host, port):
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def wait_for(check, children, what, timeout):
    """Poll ``check()`` until true; stop early when a child has died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for child in children:
            if not child.alive():
                print(child.tail(), file=sys.stderr)
                fail(
                    f"{child.name} exited (code {child.process.returncode}) "
                    f"while waiting for {what}"
                    + (f"; its log: {child.log_path}" if child.log else "")
                )
        if check():
            return
        time.sleep(0.5)
    fail(f"timed out after {timeout}s waiting for {what}")


def odoo_answers(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


# ---------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8069, help="Odoo's HTTP port")
    parser.add_argument("--db", default="integration_demo", help="database name")
    parser.add_argument(
        "--no-sandbox", action="store_true", help="do not start the sandbox"
    )
    parser.add_argument("--sandbox-port", type=int, default=8079)
    parser.add_argument(
        "--interface",
        default="127.0.0.1",
        help="address Odoo and the sandbox listen on (0.0.0.0: every interface; "
        "the demo login is admin / admin)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="0 (default): Odoo's threaded server, which also serves the "
        "browser's websocket; N: the multi-process server with N HTTP workers, "
        "whose websocket process (gevent) needs a reverse proxy routing "
        "/websocket to it (see README, Docker)",
    )
    parser.add_argument(
        "--log-console",
        action="store_true",
        help="Odoo's and the sandbox's logs on the console, not in var/*.log",
    )
    parser.add_argument(
        "--addons",
        help="comma-separated modules to install or update (default: every "
        "addon of addons/)",
    )
    steps = parser.add_argument_group("one step alone (containers)")
    steps.add_argument(
        "--init-only",
        action="store_true",
        help="create or update the database, then exit",
    )
    steps.add_argument(
        "--config",
        help="with --init-only: this Odoo configuration file (the database "
        "connection comes from the PG* variables) instead of var/odoo.conf",
    )
    steps.add_argument(
        "--connect-only",
        action="store_true",
        help="connect the demo shop of a running sandbox to a running Odoo, then exit",
    )
    steps.add_argument("--odoo-url", help="with --connect-only: Odoo's address")
    steps.add_argument("--sandbox-url", help="with --connect-only: the sandbox's")
    steps.add_argument(
        "--webhook-base-url",
        help="where the sandbox reaches Odoo (the suite's webhook base URL; "
        "default: Odoo's address)",
    )
    steps.add_argument(
        "--wait",
        type=int,
        default=READY_TIMEOUT,
        help="with --connect-only: seconds to wait for Odoo and the sandbox",
    )
    args = parser.parse_args(argv)
    if not DB_NAME_RE.match(args.db):
        parser.error(f"invalid database name {args.db!r}")
    if args.init_only and args.connect_only:
        parser.error("--init-only and --connect-only are two separate steps")
    if args.config and not args.init_only:
        parser.error("--config goes with --init-only")
    if args.workers < 0:
        parser.error("--workers must be 0 or more")
    return args


def queue_job_channels(workers):
    """Channel capacities that leave HTTP workers free for users and webhooks.

    The rule (also in odoo.conf.example): jobs run inside the HTTP workers,
    so root's capacity stays below the number of HTTP workers (workers - 1,
    at least 1); the threaded server (workers = 0) gives each request and
    job a thread of its own, and 2 jobs at once are plenty for the demo.
    Each connector one job at a time, as odoo.conf.example has it: Shopify's
    orders reserve stock on the same quants (see connector_shopify
    CONFIGURE), two jobs of the WMS or the carrier would conflict on the same
    delivery or parcel (a burst of tracking events), and one job also handles
    the messages queued meanwhile (micro-batch); connectors run side by side
    up to root's capacity."""
    root = max(1, workers - 1) if workers else 2
    return (
        f"root:{root},root.integration:{root},root.integration.shopify:1,"
        f"root.integration.wms:1,root.integration.carrier:1,"
        f"root.integration.bank:1,root.integration.generic:1"
    )


def check_ports(args, gevent_port, with_sandbox):
    probe = "127.0.0.1" if args.interface in ("0.0.0.0", "") else args.interface
    wanted = [("Odoo", args.port, "--port")]
    if args.workers:
        wanted.append(("Odoo's websocket", gevent_port, "--port"))
    if with_sandbox:
        wanted.append(("the sandbox", args.sandbox_port, "--sandbox-port"))
    for what, port, option in wanted:
        if port_in_use(probe, port):
            fail(
                f"port {port} (for {what}) is already in use: stop what runs "
                f"there or choose another with {option}"
            )


def connect_only(args):
    """The connect step alone (``--connect-only``): wait for Odoo and the
    sandbox, connect, exit 0 (or non-zero when it could not)."""
    odoo_url = (args.odoo_url or f"http://127.0.0.1:{args.port}").rstrip("/")
    sandbox_url = (args.sandbox_url or f"http://127.0.0.1:{args.sandbox_port}").rstrip(
        "/"
    )
    wait_for(
        lambda: odoo_answers(f"{sandbox_url}/_health"), [], "the sandbox", args.wait
    )
    wait_for(
        lambda: odoo_answers(f"{odoo_url}/web/login?db={args.db}"),
        [],
        "Odoo",
        args.wait,
    )
    try:
        note = connect_demo_shop(odoo_url, sandbox_url, args.db, args.webhook_base_url)
    except (OSError, xmlrpc.client.Error, AssertionError) as exc:
        fail(f"Shopify  demo shop not connected: {exc}", code=1)
    print(note or f"no demo Shopify backend in {args.db}: nothing to connect")
    if note and "not connected" in note:
        sys.exit(1)


def init_only(args, odoo, addons):
    """Step 3 alone (``--init-only``): create or update the database, exit."""
    host, port, user = postgres_connection()
    if args.config:
        config = args.config
        # The connection of the PG* variables (the config file has none).
        odoo_args = [f"--db_host={host}", f"--db_port={port}", f"--db_user={user}"]
        log_dir = Path(tempfile.mkdtemp(prefix="integration-init-"))
    else:
        VAR.mkdir(exist_ok=True)
        config = write_run_config(args, odoo, host, port, user)
        odoo_args, log_dir = [], VAR
    children = []
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        prepare_database(
            config,
            host,
            port,
            user,
            args.db,
            addons,
            children,
            log_path=log_dir / "odoo-init.log",
            odoo_args=odoo_args,
        )
    except KeyboardInterrupt:
        stop_children(children)
        fail("stopped before the database was ready", code=1)
    if args.config:
        shutil.rmtree(log_dir, ignore_errors=True)
    print(f"== database {args.db} is ready", flush=True)


def write_run_config(args, odoo, host, port, user):
    config = VAR / "odoo.conf"
    write_config(
        config,
        host,
        port,
        user,
        odoo_addons_path(odoo),
        data_dir=VAR / "data",
        http_interface=args.interface,
        http_port=args.port,
        gevent_port=args.port + 3,  # Odoo's own default pair: 8069 / 8072
        workers=args.workers,
        max_cron_threads=1,
        server_wide_modules="base,web,queue_job",
        list_db="False",
    )
    with open(config, "a") as conf:
        # The job runner reads its own section (see queue_job_channels).
        conf.write(f"\n[queue_job]\nchannels = {queue_job_channels(args.workers)}\n")
    return config


def selected_addons(args):
    addons = project_addons()
    if args.addons:
        addons = [name.strip() for name in args.addons.split(",") if name.strip()]
    if not addons:
        fail("no addon found under addons/")
    return addons


def main(argv=None):
    args = parse_args(argv)
    if args.connect_only:  # needs no Odoo in this Python: XML-RPC only
        connect_only(args)
        return
    odoo = require_odoo17()
    addons = selected_addons(args)
    if args.init_only:
        init_only(args, odoo, addons)
        return
    host, port, user = postgres_connection()
    default_pg = (
        os.environ.get("PGHOST") or "127.0.0.1",
        int(os.environ.get("PGPORT") or 5432),
    )
    if (host, port) != default_pg:
        print(
            "!! PostgreSQL is a private, temporary server: the demo database "
            "disappears when this command stops. Start PostgreSQL (or set "
            "PGHOST/PGPORT/PGUSER) to keep it.",
            file=sys.stderr,
        )
    with_sandbox = not args.no_sandbox and (REPO / "sandbox" / "__main__.py").exists()
    gevent_port = args.port + 3
    check_ports(args, gevent_port, with_sandbox)

    VAR.mkdir(exist_ok=True)
    config = write_run_config(args, odoo, host, port, user)
    launcher = VAR / "odoo-bin"
    launcher.write_text(LAUNCHER)
    if args.workers:
        # Said once, here: the HTTP workers refuse /websocket (Odoo answers
        # it with an error), only the gevent process on gevent_port serves it.
        missing = "" if gevent_works() else " and gevent, which this Python cannot load"
        print(
            f"!! --workers {args.workers}: live updates in the browser need a "
            f"reverse proxy routing /websocket to port {gevent_port}{missing}; "
            "without them the page works but refreshes only on reload. Without "
            "--workers, Odoo's threaded server serves the websocket itself.",
            file=sys.stderr,
        )

    children = []
    # Explicit: a shell's background job starts with SIGINT ignored.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        prepare_database(config, host, port, user, args.db, addons, children)
        if with_sandbox:
            command = [sys.executable, "-m", "sandbox"]
            command += ["--host", args.interface or "0.0.0.0"]
            command += ["--port", str(args.sandbox_port)]
            children.append(
                Child(
                    "the sandbox",
                    command,
                    VAR / "sandbox.log",
                    signal.SIGINT,  # its KeyboardInterrupt path closes it cleanly
                    console=args.log_console,
                )
            )
        odoo_cmd = [sys.executable, str(launcher), "-c", str(config), "-d", args.db]
        odoo_cmd.append(f"--db-filter=^{re.escape(args.db)}$")
        children.append(
            Child(
                "Odoo",
                odoo_cmd,
                VAR / "odoo.log",
                signal.SIGTERM,  # graceful: workers finish their requests
                console=args.log_console,
            )
        )
        probe = "127.0.0.1" if args.interface in ("0.0.0.0", "") else args.interface
        if with_sandbox:
            wait_for(
                lambda: port_in_use(probe, args.sandbox_port),
                children,
                "the sandbox",
                timeout=30,
            )
        wait_for(
            lambda: odoo_answers(f"http://{probe}:{args.port}/web/login"),
            children,
            "Odoo",
            timeout=READY_TIMEOUT,
        )
        shown_host = "localhost" if probe == "127.0.0.1" else probe
        demo_note = None
        if with_sandbox:
            try:
                demo_note = connect_demo_shop(
                    f"http://{probe}:{args.port}",
                    f"http://{probe}:{args.sandbox_port}",
                    args.db,
                )
            except (OSError, xmlrpc.client.Error, AssertionError) as exc:
                demo_note = f"Shopify  demo shop not connected: {exc}"
        print(
            f"\nOdoo     http://{shown_host}:{args.port}/web/login  "
            f"(database {args.db})"
        )
        print("Login    admin / admin")
        if with_sandbox:
            print(f"Sandbox  http://{shown_host}:{args.sandbox_port}")
        if demo_note:
            print(demo_note)
        if not args.log_console:
            logs = (
                ["var/odoo.log", "var/sandbox.log"]
                if with_sandbox
                else ["var/odoo.log"]
            )
            print(f"Logs     {', '.join(logs)}")
        print("Ctrl-C stops everything.\n", flush=True)
        while all(child.alive() for child in children):
            time.sleep(0.5)
        dead = next(child for child in children if not child.alive())
        print(dead.tail(), file=sys.stderr)
        print(
            f"\n*** {dead.name} exited (code {dead.process.returncode}); stopping",
            file=sys.stderr,
        )
        code = 1
    except KeyboardInterrupt:
        print("\nstopping...", file=sys.stderr, flush=True)
        code = 0
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_children(children)
    print("stopped.", file=sys.stderr)
    sys.exit(code)


if __name__ == "__main__":
    main()
