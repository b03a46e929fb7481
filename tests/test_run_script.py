"""The start-up script of the demo and of the containers (scripts/run.py):
which modules it installs and which it updates, on the local PostgreSQL.

``--init-only --config FILE`` is what docker-compose.yml's odoo service runs
before it serves: a new database gets every addon with demo data; an existing
one keeps its data (its installed modules are updated, never installed again,
which would load their data in init mode over the users' changes)."""

import importlib.util
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPTS = REPO / "scripts"
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))

import odoo_env  # noqa: E402  (scripts/ is not a package)


def _load_run():
    spec = importlib.util.spec_from_file_location("integration_run", SCRIPTS / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run = _load_run()


def test_install_plan_installs_only_what_is_missing():
    assert run.install_plan(None, ["a", "b"]) == (["a", "b"], [])
    assert run.install_plan({"a"}, ["a", "b"]) == (["b"], ["a"])
    assert run.install_plan({"a", "b", "c"}, ["a", "b"]) == ([], ["a", "b"])


def test_channels_leave_http_workers_free():
    for workers in (2, 3, 4, 8):
        root = int(run.queue_job_channels(workers).split(",")[0].split(":")[1])
        assert 1 <= root < workers
    assert run.queue_job_channels(0).startswith("root:2,")


def test_the_steps_are_separate_options():
    with pytest.raises(SystemExit):
        run.parse_args(["--init-only", "--connect-only"])
    with pytest.raises(SystemExit):
        run.parse_args(["--config", "odoo.conf"])  # only with --init-only
    args = run.parse_args(["--init-only", "--config", "odoo.conf", "--db", "x_1"])
    assert args.init_only and args.config == "odoo.conf"


class Scratch:
    """A database name nobody uses, a config file like the container's (no
    connection in it: the PG* variables or the local server give it)."""

    def __init__(self, tmp_path):
        import odoo  # noqa: PLC0415

        self.host, self.port, self.user = odoo_env.postgres_connection()
        self.db = f"integration_run_{uuid.uuid4().hex[:10]}"
        self.config = tmp_path / "odoo.conf"
        self.config.write_text(
            "[options]\n"
            f"addons_path = {odoo_env.odoo_addons_path(odoo)}\n"
            f"data_dir = {tmp_path / 'data'}\n"
            "list_db = False\n"
        )

    def init_only(self, addons):
        return subprocess.run(
            [
                sys.executable,
                str(SCRIPTS / "run.py"),
                "--init-only",
                "--config",
                str(self.config),
                "--db",
                self.db,
                "--addons",
                addons,
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    def query(self, sql, *params):
        conn = run._connect(self.host, self.port, self.user, self.db)
        try:
            with conn, conn.cursor() as cr:
                cr.execute(sql, params)
                return cr.fetchall() if cr.description else None
        finally:
            conn.close()

    def drop(self):
        conn = run._connect(self.host, self.port, self.user)
        conn.autocommit = True
        with conn.cursor() as cr:
            cr.execute(f'DROP DATABASE IF EXISTS "{self.db}"')
        conn.close()


DEMO_PARTNER = (
    "SELECT name FROM res_partner WHERE id = (SELECT res_id FROM ir_model_data"
    " WHERE module = 'base' AND name = 'partner_demo')"
)


def test_creates_then_updates_and_keeps_the_data(tmp_path):
    scratch = Scratch(tmp_path)
    try:
        assert (
            run.installed_addons(
                scratch.host, scratch.port, scratch.user, scratch.db, ["base"]
            )
            is None
        )

        # 1. no database: created with the modules and their demo data
        result = scratch.init_only("base")
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"creating database {scratch.db} with base and demo data" in (
            result.stdout
        )
        assert f"database {scratch.db} is ready" in result.stdout
        assert scratch.query(DEMO_PARTNER) == [("Marc Demo",)]
        assert run.installed_addons(
            scratch.host, scratch.port, scratch.user, scratch.db, ["base", "barcodes"]
        ) == {"base"}

        # a user's change to a record Odoo must not overwrite (noupdate demo)
        scratch.query(
            "UPDATE res_partner SET name = 'Changed by a user' WHERE id = "
            "(SELECT res_id FROM ir_model_data WHERE module = 'base' "
            "AND name = 'partner_demo')"
        )
        partners = scratch.query("SELECT count(*) FROM res_partner")

        # 2. the database exists: base is updated, barcodes installed
        result = scratch.init_only("base,barcodes")
        assert result.returncode == 0, result.stdout + result.stderr
        assert (
            f"database {scratch.db} exists, its data is kept: update base; "
            "install barcodes" in result.stdout
        )
        assert scratch.query(DEMO_PARTNER) == [("Changed by a user",)]
        assert scratch.query("SELECT count(*) FROM res_partner") == partners
        states = dict(
            scratch.query(
                "SELECT name, state FROM ir_module_module "
                "WHERE name IN ('base', 'barcodes')"
            )
        )
        assert states == {"base": "installed", "barcodes": "installed"}
    finally:
        scratch.drop()


def test_connect_step_seeds_the_sandbox_and_wires_the_demo_backends():
    """The connect step's WMS, carrier and bank part against a real sandbox
    and a stand-in for Odoo's XML-RPC (what it writes is recorded)."""
    from sandbox import demo  # noqa: PLC0415
    from sandbox.carrier.control import CarrierControl  # noqa: PLC0415
    from sandbox.testing import RunningSandbox  # noqa: PLC0415
    from sandbox.wms.control import WmsControl  # noqa: PLC0415

    records = {
        ("connector_wms", "demo_backend_wms"): 11,
        ("connector_shopify", "demo_warehouse_shop"): 21,
        ("connector_carrier", "demo_backend_carrier"): 12,
        ("connector_carrier", "demo_carrier"): 31,
        ("connector_bank", "demo_backend_bank"): 13,
    }
    answers = {
        ("product.product", "search_read"): [
            {"default_code": "MUG-WHITE", "qty_available": 60.0}
        ],
        ("stock.warehouse", "read"): [{"wms_backend_id": False}],
        ("integration.value.map", "search_count"): 0,
        ("account.journal", "search_read"): [{"id": 7, "bank_acc_number": False}],
        ("res.company", "read"): [{"currency_id": [2, "USD"]}],
        ("integration.sync.rule", "search"): [9],
    }
    writes = []

    def call(model, method, *args, **kwargs):
        if method in ("write", "create"):
            writes.append((model, method, args))
            return True
        if model == "integration.backend" and method == "read":
            backend_id = args[0][0]
            return [
                {
                    "webhook_url": f"http://odoo.invalid/integration/webhook/{backend_id}",
                    "company_id": [1, "YourCompany"],
                }
            ]
        return answers[(model, method)]

    with RunningSandbox() as sb:
        notes = run.connect_demo_fulfilment(
            call, lambda *key: records.get(key), sb.url, "http://odoo.invalid", "db", 5
        )
        bank = sb.bank(demo.BANK)
        try:
            assert len(notes) == 3
            wms = WmsControl(sb, demo.WAREHOUSE).state()
            assert wms["webhook_url"] == "http://odoo.invalid/integration/webhook/11"
            assert wms["auto_ship_seconds"] == demo.AUTO_SHIP_SECONDS
            assert CarrierControl(sb, demo.CARRIER_ACCOUNT).state()["webhooks"] == 1
            assert bank.state()["accounts"] == {demo.IBAN: 0}
        finally:
            bank.stop_payer()
    assert ("stock.warehouse", "write", ([21], {"wms_backend_id": 11})) in writes
    assert (
        "integration.value.map",
        "create",
        (
            {
                "backend_id": 5,
                "kind": "carrier_service",
                "external_code": "STD",
                "record_ref": "delivery.carrier,31",
            },
        ),
    ) in writes
    assert ("account.journal", "write", ([7], {"bank_acc_number": demo.IBAN})) in writes
    rule = next(w for w in writes if w[0] == "integration.sync.rule")
    assert rule[2] == (
        [9],
        {"interval_minutes": 1, "cursor": False, "next_run_at": False},
    )
