"""The connect step of the demo (``scripts/run.py``, ``make run`` and the
``connect`` service of docker-compose.yml): the demo Shopify backend is
pointed at a fresh sandbox shop over XML-RPC, webhooks are registered at the
suite's webhook base URL (not at ``web.base.url``), and the demo orders
arrive by webhook once, on the first connection only."""

import importlib.util
import subprocess
import sys
import unittest

from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import (
    FAST_WEBHOOKS,
    REPO,
    IntegrationHttpCase,
)

from .common import RunningSandbox

SCRIPTS = REPO / "scripts"


def _load_run_script():
    if str(SCRIPTS) not in sys.path:
        sys.path.insert(0, str(SCRIPTS))
    spec = importlib.util.spec_from_file_location("integration_run", SCRIPTS / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tagged("post_install", "-at_install")
class TestDemoConnect(IntegrationHttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if RunningSandbox is None or not (SCRIPTS / "run.py").is_file():
            raise unittest.SkipTest("the repository's sandbox and scripts are needed")
        cls.run_script = _load_run_script()
        from sandbox import demo  # noqa: PLC0415

        cls.demo = demo
        cls.sandbox = RunningSandbox(webhook_config=FAST_WEBHOOKS)
        cls.sandbox.start()
        cls.addClassCleanup(cls.sandbox.stop)
        env = cls.env
        warehouse = env["stock.warehouse"].search(
            [("company_id", "=", env.company.id)], limit=1
        )
        # The demo backend as connector_shopify's demo data makes it: it still
        # points at the sandbox's address of a machine without containers.
        cls.demo_backend = (
            env["integration.backend"]
            .sudo()
            .create(
                {
                    "name": "Demo: Shopify shop",
                    "connector_type": "shopify",
                    "base_url": "http://localhost:8079/shopify/demo",
                    "api_key": demo.ACCESS_TOKEN,
                    "webhook_secret": demo.WEBHOOK_SECRET,
                    "shopify_warehouse_id": warehouse.id,
                    "rate_limit": 0,
                    "timeout_seconds": 10,
                }
            )
        )
        env["ir.model.data"].create(
            {
                "module": "connector_shopify",
                "name": "demo_backend_shopify",
                "model": "integration.backend",
                "res_id": cls.demo_backend.id,
            }
        )
        cls.generic_backend = (
            env["integration.backend"]
            .sudo()
            .create(
                {
                    "name": "Demo: contacts from the web shop",
                    "base_url": "http://localhost:8079/_health",
                }
            )
        )
        env["ir.model.data"].create(
            {
                "module": "integration_core",
                "name": "demo_backend_generic",
                "model": "integration.backend",
                "res_id": cls.generic_backend.id,
            }
        )
        params = env["ir.config_parameter"].sudo()
        # what Odoo sets when admin logs in at the published port
        params.set_param("web.base.url", "http://localhost:8069")

    def setUp(self):
        super().setUp()
        self.sandbox.reset(webhooks=FAST_WEBHOOKS)

    def inbound(self):
        self.env.invalidate_all()
        return self.env["integration.message"].search(
            [("backend_id", "=", self.demo_backend.id), ("direction", "=", "in")]
        )

    def test_connect_then_connect_again(self):
        odoo_url = self.base_url()
        webhook_base = f"{odoo_url}/"  # as a user may type it: the slash goes
        note = self.run_script.connect_demo_shop(
            odoo_url, self.sandbox.url, self.env.cr.dbname, webhook_base
        )
        self.assertIn("demo shop connected; orders", note)
        shop = self.sandbox.shopify(self.demo.SHOP)
        self.env.invalidate_all()
        backend = self.demo_backend
        self.assertEqual(backend.base_url, shop.base_url)
        self.assertEqual(self.generic_backend.base_url, f"{self.sandbox.url}/_health")
        self.assertEqual(
            self.env["ir.config_parameter"]
            .sudo()
            .get_param("integration.webhook_base_url"),
            odoo_url,
        )
        self.assertEqual(
            self.env["ir.config_parameter"].sudo().get_param("web.base.url"),
            "http://localhost:8069",  # left alone
        )
        hook = f"{odoo_url}/integration/webhook/{backend.id}"
        self.assertEqual(backend.webhook_url, hook)
        subscriptions = shop.subscriptions()
        self.assertEqual(len(subscriptions), 4)
        self.assertEqual({s["address"] for s in subscriptions}, {hook})
        self.assertTrue(
            self.env["shopify.location"].search([("backend_id", "=", backend.id)])
        )
        self.sandbox.drain(timeout=30)
        first = self.inbound()
        # every demo order of the shop, once, by webhook
        self.assertEqual(len(first), len(shop.orders()))
        self.assertGreaterEqual(len(first), 9)
        self.assertEqual(set(first.mapped("message_type")), {"orders/create"})

        # Connected again (a new start): the same subscriptions, no new order.
        # This time by the command line, as the compose service runs it.
        result = subprocess.run(
            [
                sys.executable,
                str(SCRIPTS / "run.py"),
                "--connect-only",
                "--db",
                self.env.cr.dbname,
                "--odoo-url",
                odoo_url,
                "--sandbox-url",
                self.sandbox.url,
                "--webhook-base-url",
                odoo_url,
                "--wait",
                "30",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("demo shop connected (sandbox shop 'demo')", result.stdout)
        self.assertEqual(len(shop.subscriptions()), 4)
        self.sandbox.drain(timeout=30)
        self.assertEqual(self.inbound(), first)

    def test_without_the_demo_backend_nothing_to_connect(self):
        self.env["ir.model.data"].search(
            [
                ("module", "=", "connector_shopify"),
                ("name", "=", "demo_backend_shopify"),
            ]
        ).unlink()
        note = self.run_script.connect_demo_shop(
            self.base_url(), self.sandbox.url, self.env.cr.dbname
        )
        self.assertIsNone(note)
        self.assertFalse(self.sandbox.shopify(self.demo.SHOP).subscriptions())
