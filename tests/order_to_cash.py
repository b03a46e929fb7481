"""The order-to-cash flow driver: one company (a region) with its four
backends against the sandbox, and the steps of the whole flow as the systems
take them, through webhooks, the outbox and the jobs (no handler is called
directly).

    region = Region.create(env, sandbox, "EU", iban=...)   # setUpClass
    region.connect(base_url)               # each test, after sandbox.reset()
    order = region.place_order([(SKU_PLAIN, 2, "8.00"), (SKU_LOT, 1, "30.00")])
    flow.settle()                          # webhooks in, jobs run, until quiet
    sale = region.sale_of(order)
    region.ship(picking, [{"lines": [...], "packages": [...]}])
    region.deliver(picking, signed_by="ANN LEE")
    region.pay(invoice)                    # camt.053 from the bank API, uploaded

``Flow`` owns what is shared by the regions of one test: the sandbox, the
trapped jobs and the HTTP test cursor's lock. The test thread holds that lock
all the time except while it waits for the sandbox's webhooks
(``Flow.settle``), so that a webhook never runs on the shared test cursor
while the test thread works on it; jobs run in the test thread, the way the
job runner would run them, one after the other.
"""

import base64
import contextlib
import json
import time
from datetime import date

from odoo import Command

# (importing the core's test common puts the repository on sys.path)
from odoo.addons.integration_core.tests.common import FAST_WEBHOOKS, perform_jobs

from sandbox.carrier.control import CarrierControl
from sandbox.shopify import specs
from sandbox.wms.control import WmsControl

SKU_PLAIN = "MUG-WHITE"
SKU_LOT = "VIAL-LOT"
SHOP_TOKEN = "shpat_sandbox"
SHOP_SECRET = "sandbox-webhook-secret"
WMS_TOKEN = "sandbox-wms-token"
WMS_SECRET = "sandbox-wms-secret"
CARRIER_SECRET = "o2c-carrier-secret"
BANK_TOKEN = "sandbox-bank-token"


class Flow:
    """The sandbox, the trapped jobs and the test cursor's lock of a test."""

    def __init__(self, env, sandbox, trap, lock):
        self.env = env
        self.sandbox = sandbox
        self.trap = trap
        self.lock = lock
        self.jobs_run = 0

    @contextlib.contextmanager
    def door_open(self):
        """Let the HTTP server's requests (webhooks) use the test cursor."""
        self.env.flush_all()
        self.lock.release()
        try:
            yield
        finally:
            self.lock.acquire()
            self.env.invalidate_all()

    def settle(self, rounds=25):
        """Webhooks in and jobs run, again, until the sandbox has nothing left
        to deliver and no job is waiting (a job's call can make the sandbox
        send a webhook, a webhook's job can record an export...)."""
        for _round in range(rounds):
            with self.door_open():
                self.sandbox.drain(timeout=30)
            # what a commit does: the outbox writes its rows, queues flushes
            self.env.cr.flush()
            if not self.trap.enqueued_jobs:
                return self.jobs_run
            self.jobs_run += perform_jobs(self.trap, self.env, rounds=1)
            self.env.cr.flush()
        raise AssertionError(f"the flow did not settle in {rounds} rounds")

    def wait_for(self, predicate, timeout=10.0, what="a state"):
        """Settle until ``predicate()`` holds (no sleep: each round awaits the
        sandbox's deliveries)."""
        deadline = time.monotonic() + timeout
        while True:
            self.settle()
            if predicate():
                return True
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")


class Region:
    """One company and its Shopify shop, WMS warehouse, carrier account and
    bank account, each a backend of that company against the sandbox."""

    @classmethod
    def create(cls, env, sandbox, code, iban, country="base.be"):
        self = cls()
        self.code = code
        self.iban = iban
        self.sandbox = sandbox
        self.company = env["res.company"].create(
            {
                "name": f"Distribution {code}",
                "currency_id": env.ref("base.EUR").id,
                "street": "Industrieweg 1",
                "city": "Gent",
                "zip": "9000",
                "country_id": env.ref(country).id,
            }
        )
        env.user.company_ids |= self.company
        env["account.chart.template"].try_loading(
            "generic_coa", company=self.company, install_demo=False
        )
        self.company.currency_id = env.ref("base.EUR")  # (the chart set USD)
        self.env = env(
            context=dict(
                env.context, allowed_company_ids=[self.company.id], tracking_disable=1
            )
        )
        env = self.env
        company = self.company
        self.warehouse = env["stock.warehouse"].search(
            [("company_id", "=", company.id)], limit=1
        )
        self.warehouse.code = code
        self.stock = self.warehouse.lot_stock_id
        self.tax = env["account.tax"].create(
            {
                "name": f"VAT 21% {code}",
                "amount": 21.0,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "sequence": 1,
                "company_id": company.id,
            }
        )
        Product = env["product.product"]
        common = {
            "type": "product",
            "invoice_policy": "delivery",
            "company_id": company.id,
            "taxes_id": [Command.set(self.tax.ids)],
        }
        self.mug = Product.create(
            {"name": "Mug white", "default_code": SKU_PLAIN, "weight": 0.5, **common}
        )
        self.vial = Product.create(
            {
                "name": "Vial (lot)",
                "default_code": SKU_LOT,
                "tracking": "lot",
                "weight": 0.2,
                **common,
            }
        )
        self.lot = env["stock.lot"].create(
            {
                "name": f"L-{code}-1",
                "product_id": self.vial.id,
                "company_id": company.id,
            }
        )
        self.shipping_product = Product.create(
            {
                "name": f"Shipping {code}",
                "type": "service",
                "invoice_policy": "order",
                "company_id": company.id,
                "taxes_id": [Command.set(self.tax.ids)],
            }
        )
        Backend = env["integration.backend"].sudo()
        common = {
            "company_id": company.id,
            "max_attempts": 3,
            "retry_base_seconds": 1,
            "rate_limit": 0,
            "timeout_seconds": 10,
        }
        # Shopify: the shop of the region
        self.shop = sandbox.shopify(f"o2c-{code.lower()}")
        self.shopify = Backend.create(
            {
                "name": f"Shopify {code}",
                "connector_type": "shopify",
                "base_url": self.shop.base_url,
                "api_key": SHOP_TOKEN,
                "webhook_secret": SHOP_SECRET,
                "shopify_warehouse_id": self.warehouse.id,
                **common,
            }
        )
        # WMS: the region's warehouse at the 3PL
        self.wms = WmsControl(sandbox, code)
        self.wms_backend = Backend.create(
            {
                "name": f"WMS {code}",
                "connector_type": "wms",
                "base_url": self.wms.base_url,
                "api_key": WMS_TOKEN,
                "webhook_secret": WMS_SECRET,
                **common,
            }
        )
        self.warehouse.wms_backend_id = self.wms_backend
        # Carrier: invoices on proof of delivery, posted
        self.remote = CarrierControl(sandbox, f"o2c-{code.lower()}")
        self.carrier_backend = Backend.create(
            {
                "name": f"Carrier {code}",
                "connector_type": "carrier",
                "base_url": self.remote.base_url,
                "api_key": self.remote.api_key,
                "webhook_secret": CARRIER_SECRET,
                "carrier_invoice_policy": "on_delivery",
                "carrier_post_invoices": True,
                **common,
            }
        )
        self.carrier = env["delivery.carrier"].create(
            {
                "name": f"Parcel {code} (API)",
                "delivery_type": "integration_carrier",
                "product_id": self.shipping_product.id,
                "integration_backend_id": self.carrier_backend.id,
                "integration_service": "USPS:Priority",
                "company_id": company.id,
            }
        )
        env["integration.value.map"].create(
            {
                "backend_id": self.shopify.id,
                "kind": "carrier_service",
                "external_code": "STD",
                "record_ref": f"delivery.carrier,{self.carrier.id}",
            }
        )
        # Bank: the region's account, the bank API for statements
        self.bank = sandbox.bank(f"o2c-{code.lower()}")
        self.bank_backend = Backend.create(
            {
                "name": f"Bank {code}",
                "connector_type": "bank",
                "base_url": self.bank.base_url,
                "api_key": BANK_TOKEN,
                **common,
            }
        )
        self.journal = env["account.journal"].search(
            [("company_id", "=", company.id), ("type", "=", "bank")], limit=1
        )
        self.journal.bank_acc_number = iban
        return self

    def with_env(self, env):
        """The same region on another environment (a benchmark's next
        transaction): every record attribute is rebound."""
        from odoo.models import BaseModel  # noqa: PLC0415

        for name, value in list(vars(self).items()):
            if isinstance(value, BaseModel):
                setattr(self, name, value.with_env(env))
        self.env = env(context=self.env.context)
        return self

    # -- each test ---------------------------------------------------------------------
    @property
    def backends(self):
        return (
            self.shopify | self.wms_backend | self.carrier_backend | self.bank_backend
        )

    def connect(self, base_url, stock=100):
        """Point the region's systems at this Odoo (after a sandbox reset) and
        put ``stock`` of each product in both stocks (the lot ``L-<code>-1``)."""
        for topic in ("orders/create", "orders/updated", "orders/cancelled"):
            self.shop.subscribe(topic, self.webhook_url(base_url, self.shopify))
        self.shop.create_product(
            title="Catalogue",
            variants=[
                {"sku": sku, "price": "10.00", "inventory": 0}
                for sku in (SKU_PLAIN, SKU_LOT)
            ],
        )
        # the shop's location sells the region's warehouse (stock goes out)
        locations = self.shopify._shopify_fetch_locations()
        locations[:1].warehouse_ids = self.warehouse
        self.wms.configure(
            webhook_url=self.webhook_url(base_url, self.wms_backend),
            webhook_secret=WMS_SECRET,
        )
        self.wms.products(**{SKU_PLAIN: "none", SKU_LOT: "lot"})
        if stock:
            self.wms.set_stock(
                [
                    {"sku": SKU_PLAIN, "quantity": stock},
                    {"sku": SKU_LOT, "lot": self.lot.name, "quantity": stock},
                ],
                replace=True,
            )
            self.put_in_stock(stock)
        response = self.remote.api(
            "POST",
            "webhooks",
            json={
                "webhook": {
                    "url": self.webhook_url(base_url, self.carrier_backend),
                    "webhook_secret": CARRIER_SECRET,
                }
            },
        )
        assert response.status_code in (200, 201), response.text
        self.bank.create_account(self.iban, "EUR", f"Current account {self.code}")

    @staticmethod
    def webhook_url(base_url, backend):
        return f"{base_url}/integration/webhook/{backend.id}"

    def put_in_stock(self, quantity, lot=True):
        Quant = self.env["stock.quant"]
        Quant._update_available_quantity(self.mug, self.stock, quantity)
        if lot:
            Quant._update_available_quantity(
                self.vial, self.stock, quantity, lot_id=self.lot
            )

    # -- Shopify -----------------------------------------------------------------------
    def place_order(self, lines=None, email="ann@example.com", **values):
        """An order in the region's shop (its orders/create webhook follows):
        by default 2 mugs and 1 vial of the lot-tracked product."""
        spec = specs.order_spec(
            specs.customer(email, "Ann", "Lee"),
            lines or [(SKU_PLAIN, 2, "8.00"), (SKU_LOT, 1, "30.00")],
        )
        spec.update(values)
        return self.shop.create_order(spec)

    def sale_of(self, shopify_order):
        return self.env["integration.binding"]._find(
            self.shopify, "sale.order", shopify_order["id"]
        )

    def open_delivery(self, sale):
        return sale.picking_ids.filtered(
            lambda p: (
                p.state not in ("done", "cancel") and p.picking_type_code == "outgoing"
            )
        )

    # -- WMS -----------------------------------------------------------------------
    def ship(self, picking, shipments=None, final=True):
        """The WMS ships (its shipment.confirmed webhooks follow)."""
        spec = {"final": final}
        if shipments is not None:
            spec["shipments"] = shipments
        return self.wms.ship(picking.wms_order_ref or picking.name, **spec)

    def package(self, ref, contents):
        """A package of the WMS (no tracking number: the labels are bought by
        Odoo from the carrier when the delivery is validated)."""
        return {
            "package_ref": ref,
            "weight_kg": 1.0,
            "contents": [{"sku": sku, "quantity": qty} for sku, qty in contents],
        }

    # -- carrier -------------------------------------------------------------------
    def deliver(self, picking, walk="delivered", **step):
        """The carrier walks every parcel of ``picking`` (its tracker.updated
        webhooks follow)."""
        codes = picking.carrier_shipment_ids.filtered(
            lambda s: s.state == "bought"
        ).mapped("tracking_code")
        assert codes, f"{picking.name} has no label"
        if walk:
            step["walk"] = walk
        for code in codes:
            self.remote.advance(code, **step)
        return codes

    # -- bank ------------------------------------------------------------------------
    def pay(self, invoice, amount=None, reference=None, name="Ann Lee"):
        """The customer pays: the bank books it, its API serves the day's
        camt.053 statement, finance uploads it (the connector's file intake)."""
        amount = invoice.amount_residual if amount is None else amount
        reference = (
            invoice.payment_reference or invoice.name
            if reference is None
            else reference
        )
        today = date.today().isoformat()
        (transaction,) = self.bank.add_transactions(
            self.iban,
            [
                {
                    "amount": f"{amount:.2f}",
                    "booking_date": today,
                    "remittance_unstructured": reference,
                    "counterparty": {"name": name},
                }
            ],
        )
        statement = self.bank.camt053(self.iban, from_=today, to=today)
        wizard = self.env["bank.statement.upload"].create(
            {
                "backend_id": self.bank_backend.id,
                "data_file": base64.b64encode(statement),
                "filename": f"camt053-{transaction['id']}.xml",
            }
        )
        wizard.action_import()
        return self.env["account.bank.statement.line"].search(
            [("unique_import_id", "like", transaction["id"])]
        )

    # -- what is left ----------------------------------------------------------------
    def desk(self):
        """Items on the desk of the region's backends."""
        return self.env["integration.message"].search(
            [
                ("backend_id", "in", self.backends.ids),
                ("needs_attention", "=", True),
            ]
        )

    def describe_desk(self):
        return "\n".join(
            f"{m.backend_id.name} {m.message_type}: {m.state} {m.error_message or ''}"
            f" {m.business_exception or ''}"
            for m in self.desk()
        )


def webhook_payload(message):
    return json.loads(message.payload)


__all__ = [
    "FAST_WEBHOOKS",
    "SKU_LOT",
    "SKU_PLAIN",
    "Flow",
    "Region",
    "webhook_payload",
]
