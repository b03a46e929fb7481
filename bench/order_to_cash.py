"""Order to cash, end to end, on the sandbox (issue 14, item 6).

N Shopify orders (two lines, one lot-tracked) go through the whole flow on a
real Odoo server (prefork workers, queue_job's runner): orders/create
webhooks, confirmation and reservation, release to the WMS, the WMS's
shipment confirmation (a lot, a package), a carrier label bought at
validation, the fulfillment to Shopify, tracking to delivered with a
signature, the invoice on proof of delivery, the payment booked at the bank
and its camt.053 statement uploaded (what finance does, here in this
process), matched by reference and reconciled. This process plays the
external systems through the sandbox's control API and moves each order on
as soon as it sees it ready (a poll of the database every 0.2 s, of the
orders not through yet), so orders
overlap along the flow as they would in a day's work.

Figures: orders per minute from the first order placed to the last one paid
(and fulfilled in Shopify),
and per step the p50/p95 time from the step before (as observed by the poll,
so within 0.2 s plus the poll's own time). Against: the same documents made
and validated with the ORM directly in this process (sale order confirmed,
delivery with the lot and a package validated, invoice posted, statement
line reconciled; one commit per order), orders per minute.

    python3 bench/order_to_cash.py [--orders 500] [--workers 2] [--rate 0]
        [--keep-db]

``--rate R`` places R orders a minute instead of all at once: with R below
what the flow sustains, the per-step times are those of a flow at full speed
without a backlog; a burst measures how long the queues take to drain.
"""

import argparse
import base64
import time
from datetime import date

from common import ScratchOdoo, environment, percentile, query
from run import queue_job_channels

from sandbox.testing import RunningSandbox

MODULES = [
    "integration_core",
    "connector_shopify",
    "connector_wms",
    "connector_carrier",
    "connector_bank",
]
IBAN = "BE71096123456769"
STEPS = [
    ("placed", "confirmed"),
    ("confirmed", "released"),
    ("released", "shipped"),
    ("shipped", "labelled"),
    ("labelled", "fulfilled"),
    ("labelled", "delivered"),
    ("delivered", "invoiced"),
    ("invoiced", "paid"),
]


def setup(scratch, sandbox, orders):
    from tests.order_to_cash import Region  # noqa: PLC0415

    with scratch.registry.cursor() as cr:
        env = environment(cr)
        region = Region.create(env, sandbox, "EU", IBAN)
        region.connect(f"http://127.0.0.1:{scratch.http_port}", stock=0)
        region.put_in_stock(2 * orders + 10)
        region.wms.set_stock(
            [
                {"sku": "MUG-WHITE", "quantity": 2 * orders + 10},
                {"sku": "VIAL-LOT", "lot": region.lot.name, "quantity": orders + 10},
            ],
            replace=True,
        )
        cr.commit()
    return region


class Pipeline:
    """Moves every order on as soon as it is ready; records when each step
    was seen."""

    def __init__(self, scratch, region, count):
        self.scratch = scratch
        self.region = region
        self.count = count
        self.seen = {}  # shopify order id -> {step: monotonic time}
        self.asked = {"ship": set(), "deliver": set(), "pay": set()}
        self.last_tx = None
        self.pending_tx = 0
        self.finished = set()

    def mark(self, key, step, now):
        self.seen.setdefault(key, {}).setdefault(step, now)

    def place(self, count):
        for _n in range(count):
            order = self.region.shop.create_order(self._spec())
            self.mark(str(order["id"]), "placed", time.monotonic())

    def _spec(self):
        from sandbox.shopify import specs  # noqa: PLC0415

        return specs.order_spec(
            specs.customer("ann@example.com", "Ann", "Lee"),
            [("MUG-WHITE", 2, "8.00"), ("VIAL-LOT", 1, "30.00")],
        )

    def poll(self):
        region = self.region
        with self.scratch.registry.cursor() as cr:
            env = environment(cr, allowed_company_ids=[region.company.id])
            region.with_env(env)
            now = time.monotonic()
            # only the orders still on their way: the poll shares this
            # process (and its GIL) with the sandbox, and must not grow with
            # the orders already through
            sales = env["sale.order"].search(
                [
                    ("shopify_backend_id", "=", region.shopify.id),
                    ("shopify_order_id", "not in", list(self.finished)),
                ]
            )
            for sale in sales:
                key = sale.shopify_order_id
                if sale.state == "sale":
                    self.mark(key, "confirmed", now)
                for picking in sale.picking_ids:
                    self._picking(key, picking, now)
                for invoice in sale.invoice_ids.filtered(lambda m: m.state == "posted"):
                    self.mark(key, "invoiced", now)
                    if invoice.payment_state in ("paid", "in_payment"):
                        self.mark(key, "paid", now)
                    elif invoice.id not in self.asked["pay"]:
                        self.asked["pay"].add(invoice.id)
                        self._book(invoice)
                        self.pending_tx += 1
            if self.pending_tx:
                self._upload(env)
            cr.commit()
        # done: paid, and the fulfillment is in Shopify
        self.finished = {
            key for key, s in self.seen.items() if "paid" in s and "fulfilled" in s
        }
        return len(self.finished)

    def _picking(self, key, picking, now):
        region = self.region
        if picking.wms_state in ("released", "acknowledged"):
            self.mark(key, "released", now)
            if picking.id not in self.asked["ship"]:
                self.asked["ship"].add(picking.id)
                region.ship(
                    picking,
                    [
                        {
                            "lines": [
                                {"sku": "MUG-WHITE", "quantity": 2},
                                {
                                    "sku": "VIAL-LOT",
                                    "quantity": 1,
                                    "lots": [{"lot": region.lot.name, "quantity": 1}],
                                },
                            ],
                            "packages": [
                                region.package(
                                    f"PKG-{picking.id}",
                                    [("MUG-WHITE", 2), ("VIAL-LOT", 1)],
                                )
                            ],
                        }
                    ],
                )
        if picking.state == "done":
            self.mark(key, "released", now)
            self.mark(key, "shipped", now)
            labels = picking.carrier_shipment_ids.filtered(
                lambda s: s.state == "bought"
            )
            if labels:
                self.mark(key, "labelled", now)
                if picking.id not in self.asked["deliver"]:
                    self.asked["deliver"].add(picking.id)
                    region.deliver(picking, signed_by="ANN LEE", interval=0)
            if picking.shopify_fulfillment_id:
                self.mark(key, "fulfilled", now)
            if picking.integration_delivery_state == "delivered":
                self.mark(key, "delivered", now)

    def _book(self, invoice):
        return self.region.bank.add_transactions(
            self.region.iban,
            [
                {
                    "amount": f"{invoice.amount_residual:.2f}",
                    "remittance_unstructured": invoice.payment_reference
                    or invoice.name,
                    "counterparty": {"name": "Ann Lee"},
                }
            ],
        )

    def _upload(self, env):
        """Finance uploads the bank's statement of what was booked since the
        last one."""
        region = self.region
        statement = region.bank.camt053(region.iban, after=self.last_tx)
        ids = [
            part.split(b"<", 1)[0].decode()
            for part in statement.split(b"<AcctSvcrRef>")[1:]
        ]
        if not ids:
            return
        self.last_tx = ids[-1]
        self.pending_tx = 0
        wizard = env["bank.statement.upload"].create(
            {
                "backend_id": region.bank_backend.id,
                "data_file": base64.b64encode(statement),
                "filename": f"camt053-{self.last_tx}.xml",
            }
        )
        wizard.action_import()


def through_the_flow(scratch, sandbox, count, timeout, rate=0):
    """Every order placed at once (``rate`` 0: a burst, the queues' worst
    case), or ``rate`` orders a minute, placed as the clock says (steady
    arrivals, as a shop's day brings them)."""
    region = setup(scratch, sandbox, count)
    pipeline = Pipeline(scratch, region, count)
    with scratch.server():
        started = time.monotonic()
        placed = 0
        paid = 0
        while paid < count and time.monotonic() - started < timeout:
            due = (
                count if not rate else int((time.monotonic() - started) * rate / 60) + 1
            )
            if placed < min(due, count):
                pipeline.place(min(due, count) - placed)
                placed = min(due, count)
            paid = pipeline.poll()
            time.sleep(0.2)
        elapsed = time.monotonic() - started
    return pipeline, paid, elapsed


def job_figures(scratch):
    """Where the jobs' time went, from queue_job's rows: per job function,
    p50/p95 of the wait from its creation to its (last) start and of the
    (last) run, the retries (queue_job counts the first run as 1), and how
    many had an eta; and the server log's
    concurrency errors."""
    rows = query(
        scratch.registry,
        """
        SELECT method_name, channel, state, retry, eta IS NOT NULL,
               EXTRACT(EPOCH FROM date_started - date_created),
               EXTRACT(EPOCH FROM date_done - date_started)
          FROM queue_job
        """,
    )
    by_method = {}
    for method, channel, state, retry, has_eta, wait, run in rows:
        by_method.setdefault((method, channel), []).append(
            (state, retry, has_eta, wait, run)
        )
    print("jobs (wait: created to started; run; seconds):")
    for (method, channel), jobs in sorted(by_method.items()):
        waits = [j[3] for j in jobs if j[3] is not None]
        runs = [j[4] for j in jobs if j[4] is not None]
        states = {}
        for job in jobs:
            states[job[0]] = states.get(job[0], 0) + 1
        line = f"  {method} [{channel}] {len(jobs)} {states}"
        line += f" retries {sum(max(j[1] - 1, 0) for j in jobs)}"
        line += f" eta {sum(j[2] for j in jobs)}"
        for name, values in (("wait", waits), ("run", runs)):
            if values:
                line += f" {name} p50/p95 {percentile(values, 50):.2f}"
                line += f"/{percentile(values, 95):.2f}"
        print(line)
    log = f"{scratch.tmp}/server.log"
    with open(log, errors="replace") as handle:
        text = handle.read()
    for needle in (
        "could not serialize",
        "could not obtain lock",
        "RetryableJobError",
        "ConcurrencyConflict",
        "Traceback",
    ):
        print(f"  server log: {text.count(needle)} x {needle!r}")
    print(f"  ({log})")


def with_the_orm(scratch, count):
    """The same documents, made and validated with the ORM directly."""
    from odoo import Command  # noqa: PLC0415

    with scratch.registry.cursor() as cr:
        env = environment(cr)
        company = env["res.company"].search([("name", "=", "Distribution EU")])
        env = environment(cr, allowed_company_ids=company.ids, tracking_disable=1)
        # a warehouse of its own, without WMS, and a carrier without API
        plain = env["stock.warehouse"].create({"name": "ORM", "code": "ORM"})
        Product = env["product.product"]
        mug = Product.search(
            [("default_code", "=", "MUG-WHITE"), ("company_id", "=", company.id)]
        )
        vial = Product.search(
            [("default_code", "=", "VIAL-LOT"), ("company_id", "=", company.id)]
        )
        lot = env["stock.lot"].create(
            {"name": "L-ORM", "product_id": vial.id, "company_id": company.id}
        )
        env["stock.quant"]._update_available_quantity(
            mug, plain.lot_stock_id, 2 * count
        )
        env["stock.quant"]._update_available_quantity(
            vial, plain.lot_stock_id, count, lot_id=lot
        )
        carrier = env["delivery.carrier"].create(
            {
                "name": "Fixed (ORM bench)",
                "delivery_type": "fixed",
                "fixed_price": 4.95,
                "product_id": Product.create(
                    {"name": "ORM shipping", "type": "service"}
                ).id,
                "company_id": company.id,
            }
        )
        partner = env["res.partner"].create({"name": "Ann Lee (ORM)"})
        journal = env["account.journal"].search(
            [("company_id", "=", company.id), ("type", "=", "bank")], limit=1
        )
        cr.commit()
    started = time.monotonic()
    for n in range(count):
        with scratch.registry.cursor() as cr:
            env = environment(cr, allowed_company_ids=company.ids, tracking_disable=1)
            sale = env["sale.order"].create(
                {
                    "partner_id": partner.id,
                    "warehouse_id": plain.id,
                    "order_line": [
                        Command.create(
                            {
                                "product_id": mug.id,
                                "product_uom_qty": 2,
                                "price_unit": 8,
                            }
                        ),
                        Command.create(
                            {
                                "product_id": vial.id,
                                "product_uom_qty": 1,
                                "price_unit": 30,
                            }
                        ),
                    ],
                }
            )
            sale.set_delivery_line(carrier.with_env(env), 4.95)
            sale.action_confirm()
            picking = sale.picking_ids
            picking.action_assign()
            package = env["stock.quant.package"].create({"name": f"ORM-{n}"})
            for move in picking.move_ids:
                move.quantity = move.product_uom_qty
                move.picked = True
            picking.move_line_ids.filtered(
                lambda ml: ml.product_id == vial
            ).lot_id = lot
            picking.move_line_ids.result_package_id = package
            picking.with_context(skip_backorder=True).button_validate()
            invoice = sale._create_invoices()
            invoice.action_post()
            line = env["account.bank.statement.line"].create(
                {
                    "journal_id": journal.id,
                    "date": date.today(),
                    "amount": invoice.amount_total,
                    "payment_ref": invoice.name,
                    "partner_id": partner.id,
                }
            )
            # the reconciliation the matcher applies to a certain match
            line._bank_reconcile_invoices(invoice)
            cr.commit()
    return time.monotonic() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="orders placed per minute, steadily (default 0: all at once)",
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--http-port", type=int, help="Odoo's (default: by pid)")
    parser.add_argument("--gevent-port", type=int, help="default: --http-port + 1")
    parser.add_argument("--sandbox-port", type=int, default=0, help="default: free")
    parser.add_argument("--db-prefix", default="integration_bench")
    args = parser.parse_args()
    # the channels `make run` writes (the rule of odoo.conf.example: a worker
    # left free for webhooks, each connector one job at a time)
    channels = queue_job_channels(args.workers)
    print(f"--workers {args.workers}, channels {channels}", flush=True)
    scratch = ScratchOdoo(
        MODULES,
        workers=args.workers,
        channels=channels,
        prefix=args.db_prefix,
        http_port=args.http_port,
        gevent_port=args.gevent_port,
    )
    webhooks = {"backoff_seconds": 0.2, "timeout": 30.0, "max_attempts": 6}
    try:
        with RunningSandbox(port=args.sandbox_port, webhook_config=webhooks) as sandbox:
            pipeline, paid, elapsed = through_the_flow(
                scratch, sandbox, args.orders, args.timeout, args.rate
            )
        print(
            f"through the flow: {paid}/{args.orders} orders paid and fulfilled in"
            f" {elapsed:.1f} s:"
            f" {60 * paid / elapsed:.1f} orders/min"
            + (
                f" (placed at {args.rate:g} a minute)"
                if args.rate
                else " (placed at once)"
            )
        )
        for before, after in STEPS:
            gaps = [
                seen[after] - seen[before]
                for seen in pipeline.seen.values()
                if before in seen and after in seen
            ]
            if gaps:
                print(
                    f"  {before:>9} -> {after:<9} p50 {percentile(gaps, 50):6.2f} s"
                    f"  p95 {percentile(gaps, 95):6.2f} s  ({len(gaps)})"
                )
        job_figures(scratch)
        direct = with_the_orm(scratch, args.orders)
        print(
            f"with the ORM directly: {args.orders} orders in {direct:.1f} s:"
            f" {60 * args.orders / direct:.1f} orders/min"
        )
        print(f"ratio: {(paid / elapsed) / (args.orders / direct):.2f}x")
    finally:
        if not args.keep_db:
            scratch.drop()


if __name__ == "__main__":
    main()
