"""Benchmark of connector_shopify: orders in, stock out.

A real Odoo 17 HTTP server with prefork workers and queue_job's job runner on
a scratch database, and the repository's Shopify sandbox (in this process)
sending signed webhooks to it. From the same run it prints:

* orders per second from signed webhook to confirmed sale order: the sandbox
  creates N orders and delivers ``orders/create`` webhooks to Odoo; the clock
  runs from the first webhook received to the last sale order confirmed. Against
  it, the same orders created and confirmed with the ORM directly (partner by
  email, products by SKU, taxes, discounts, shipping line), in one process,
  one commit per order; goal: at least 0.85x;
* a stock export of M changed SKUs (default 10,000) to one Shopify location:
  the quant changes recorded in the outbox and flushed into one outbound
  message (its seconds apart), then calls made (GraphQL, REST) and seconds,
  through the outbound message's job code (``integration.message._process``),
  as the runner would run it. ``--rounds 0`` runs the stock export only.

    python3 bench/shopify_orders.py --orders 150 --rounds 3 --workers 2 --skus 10000
"""

import argparse
import datetime
import json
import statistics
import time

from common import ScratchOdoo, environment, query  # puts the repository on sys.path

from sandbox.shopify import specs
from sandbox.testing import RunningSandbox

TOKEN = "shpat_bench"
SECRET = "bench-webhook-secret"
SKUS = ["TSHIRT-RED-XL", "MUG-WHITE", "CAP-BLUE"]
QUIET = {
    "tracking_disable": True,
    "mail_create_nolog": True,
    "mail_create_nosubscribe": True,
    "mail_notrack": True,
}


def order_spec(round_index=0):
    """Every round has customers of its own (new partners and contacts on
    both sides of the comparison)."""
    return specs.order_spec(
        specs.customer(f"buyer.round{round_index}@bench.example", "Bench", "Buyer"),
        [
            ("TSHIRT-RED-XL", 2, "19.99"),
            ("MUG-WHITE", 1, "8.00"),
            ("CAP-BLUE", 1, "12.50"),
        ],
        discount="10.00",
    )


def prepare(registry, shop_url):
    """Backend, tax, products with stock, EUR: what a configured shop has."""
    with registry.cursor() as cr:
        env = environment(cr)
        env.ref("base.EUR").active = True
        warehouse = env["stock.warehouse"].search([], limit=1)
        env["account.tax"].create(
            {
                "name": "VAT 21%",
                "amount": 21.0,
                "amount_type": "percent",
                "type_tax_use": "sale",
                "sequence": 1,
            }
        )
        for sku in SKUS:
            product = env["product.product"].create(
                {"name": sku, "default_code": sku, "type": "product", "list_price": 1}
            )
            env["stock.quant"]._update_available_quantity(
                product, warehouse.lot_stock_id, 100000
            )
        backend = env["integration.backend"].create(
            {
                "name": "Shopify bench",
                "connector_type": "shopify",
                "base_url": shop_url,
                "api_key": TOKEN,
                "webhook_secret": SECRET,
                "shopify_warehouse_id": warehouse.id,
            }
        )
        env.cr.flush()  # the stock of the set-up is no change to export
        env["integration.outbox"].search([]).unlink()
        return backend.id


def message_states(registry, backend_id):
    """``(state, count, duplicates)`` of the backend's messages."""
    return query(
        registry,
        "SELECT state, count(*), sum(duplicate_count) FROM integration_message "
        "WHERE backend_id = %s GROUP BY state",
        [backend_id],
    )


def wait_confirmed(registry, backend_id, count, timeout):
    """The wall-clock time (epoch seconds) at which ``count`` Shopify orders
    are confirmed."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ((confirmed,),) = query(
            registry,
            "SELECT count(*) FROM sale_order "
            "WHERE shopify_backend_id = %s AND state = 'sale'",
            [backend_id],
        )
        if confirmed >= count:
            return time.time()
        time.sleep(0.2)
    states = {
        state: count for state, count, _dups in message_states(registry, backend_id)
    }
    raise SystemExit(f"only {confirmed}/{count} orders confirmed: messages {states}")


def pipeline_rate(registry, backend_id, shop, count, already):
    """Orders per second from the first signed webhook Odoo received to the
    last sale order confirmed, through intake, jobs and the import
    (``already``: orders of earlier rounds)."""
    ((last_id,),) = query(
        registry,
        "SELECT coalesce(max(id), 0) FROM integration_message WHERE backend_id = %s",
        [backend_id],
    )
    order_ids = shop.create_orders(
        count, order_spec(already // max(count, 1)), vary_email=True
    )
    finished = wait_confirmed(registry, backend_id, already + count, timeout=3600)
    ((first,),) = query(
        registry,
        "SELECT min(received_at) FROM integration_message "
        "WHERE backend_id = %s AND message_type = 'orders/create' AND id > %s",
        [backend_id, last_id],
    )
    first = first.replace(tzinfo=datetime.timezone.utc).timestamp()
    return count / (finished - first), order_ids


def direct_rate(registry, orders):
    """The same orders created and confirmed with the ORM, one process, one
    commit per order (same quiet context as the connector)."""
    with registry.cursor() as cr:
        env = environment(cr)
        env = env(context=dict(env.context, **QUIET))
        products = {
            p.default_code: p
            for p in env["product.product"].search([("default_code", "in", SKUS)])
        }
        tax = env["account.tax"].search([("name", "=", "VAT 21%")], limit=1)
        shipping = env.ref("connector_shopify.product_shopify_shipping")
        pricelist = env["product.pricelist"].search(
            [("currency_id.name", "=", "EUR")], limit=1
        )
        warehouse = env["stock.warehouse"].search([], limit=1)
        belgium = env.ref("base.be")
        Partner, Sale = env["res.partner"], env["sale.order"]
        started = time.perf_counter()
        for order in orders:
            customer = order["customer"]
            address = {
                "street": order["shipping_address"]["address1"],
                "city": order["shipping_address"]["city"],
                "zip": order["shipping_address"]["zip"],
                "country_id": belgium.id,
            }
            partner = Partner.search(
                [("email", "=ilike", f"direct.{customer['email']}")], limit=1
            ) or Partner.create(
                {
                    "name": f"{customer['first_name']} {customer['last_name']}",
                    "email": f"direct.{customer['email']}",
                    **address,
                }
            )
            # the same documents as the connector makes: the invoice and
            # delivery addresses as child contacts of the customer
            invoice, delivery = Partner.create(
                [
                    {
                        **address,
                        "name": partner.name,
                        "parent_id": partner.id,
                        "type": kind,
                    }
                    for kind in ("invoice", "delivery")
                ]
            )
            lines = []
            for item in order["line_items"]:
                gross = float(item["price"]) * item["quantity"]
                discount = sum(float(a["amount"]) for a in item["discount_allocations"])
                lines.append(
                    (
                        0,
                        0,
                        {
                            "product_id": products[item["sku"]].id,
                            "product_uom_qty": item["quantity"],
                            "price_unit": float(item["price"]),
                            "discount": round(discount / gross * 100, 2),
                            "tax_id": [(6, 0, tax.ids)],
                        },
                    )
                )
            for item in order["shipping_lines"]:
                lines.append(
                    (
                        0,
                        0,
                        {
                            "product_id": shipping.id,
                            "name": item["title"],
                            "product_uom_qty": 1,
                            "price_unit": float(item["price"]),
                            "tax_id": [(6, 0, tax.ids)],
                            "is_delivery": True,
                        },
                    )
                )
            sale = Sale.create(
                {
                    "partner_id": partner.id,
                    "partner_invoice_id": invoice.id,
                    "partner_shipping_id": delivery.id,
                    "client_order_ref": f"direct {order['name']}",
                    "pricelist_id": pricelist.id,
                    "warehouse_id": warehouse.id,
                    "order_line": lines,
                }
            )
            sale.action_confirm()
            cr.commit()
        return len(orders) / (time.perf_counter() - started)


def stock_export(registry, backend_id, sandbox, shop, skus):
    """Seconds and calls of one export of ``skus`` changed products."""
    codes = [f"BENCH-{n:05d}" for n in range(skus)]
    for start in range(0, skus, 1000):
        shop.client._call(
            "POST",
            f"/_control/shopify/shops/{shop.shop}/products",
            json={
                "products": [
                    {"title": code, "sku": code, "price": "1.00", "inventory": 0}
                    for code in codes[start : start + 1000]
                ]
            },
        )
    with registry.cursor() as cr:
        env = environment(cr)
        backend = env["integration.backend"].browse(backend_id)
        location = backend._shopify_fetch_locations()[:1]
        location.warehouse_ids = env["stock.warehouse"].search([], limit=1)
        stock = location.warehouse_ids.lot_stock_id
        products = env["product.product"].create(
            [{"name": code, "default_code": code, "type": "product"} for code in codes]
        )
        env.cr.flush()  # what the order rounds changed is not measured
        env["integration.outbox"].search([]).unlink()
        Quant = env["stock.quant"]
        for index, product in enumerate(products):
            Quant._update_available_quantity(product, stock, 1 + index % 50)
        # the outbox's flush of the stock rule, as its job runs it: the 10,000
        # recorded changes become one message (the rule's batch size)
        flush_started = time.perf_counter()
        (message,) = env["shopify.stock.exporter"]._queue_export(backend)
        flush_seconds = time.perf_counter() - flush_started
        message._cancel_pending_jobs()
        cr.commit()
        sandbox.clear_requests_log()
        started = time.perf_counter()
        message._process()
        cr.commit()
        seconds = time.perf_counter() - started
        log = sandbox.requests_log(target=shop.shop)
        calls = log["by_category"] if "by_category" in log else {}
        sent = len(shop.inventory_changes(source="graphql"))
        state = message.state
    return seconds, calls, log["count"], sent, state, flush_seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=150, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--channel-capacity",
        type=int,
        default=1,
        help="capacity of root.integration.shopify: 1 (recommended) imports "
        "orders one transaction at a time, since every order reserves stock "
        "on the same quants; more makes concurrent reservations conflict "
        "and retry",
    )
    parser.add_argument("--webhook-concurrency", type=int, default=4)
    parser.add_argument("--skus", type=int, default=10000)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    channels = (
        f"root:{args.workers},root.integration:{args.workers},"
        f"root.integration.shopify:{args.channel_capacity}"
    )
    scratch = ScratchOdoo(
        ["connector_shopify"],
        workers=args.workers,
        prefix="shopify_bench",
        channels=channels,
    )
    registry, base = scratch.registry, scratch.base
    sandbox = RunningSandbox(
        webhook_config={
            "concurrency": args.webhook_concurrency,
            "timeout": 60,
            "backoff_seconds": 0.5,
        }
    )
    sandbox.start()
    try:
        shop = sandbox.shopify("bench")
        shop.configure(access_token=TOKEN, webhook_secret=SECRET)
        backend_id = prepare(registry, shop.base_url)
        rounds = []
        with scratch.server():
            shop.subscribe("orders/create", f"{base}/integration/webhook/{backend_id}")
            for index in range(args.rounds):
                # the same load on both sides of each round; several rounds
                # because the machine's load changes over time
                pipeline, order_ids = pipeline_rate(
                    registry, backend_id, shop, args.orders, index * args.orders
                )
                orders = [shop.order(order_id) for order_id in order_ids]
                direct = direct_rate(registry, orders)
                rounds.append((pipeline, direct))
                print(
                    f"round {index + 1}: pipeline {pipeline:.2f} orders/s, direct "
                    f"{direct:.2f} orders/s, ratio {pipeline / direct:.2f}",
                    flush=True,
                )
        states = {
            state: (count, dups)
            for state, count, dups in message_states(registry, backend_id)
        }
        seconds, calls, call_count, sent, state, flush_seconds = stock_export(
            registry, backend_id, sandbox, shop, args.skus
        )
    finally:
        sandbox.stop()
        if not args.keep_db:
            scratch.drop()

    print()
    print(
        f"orders={args.orders} x {args.rounds} rounds, workers={args.workers} "
        f"(Odoo prefork + queue_job runner, shopify channel capacity "
        f"{args.channel_capacity}), webhook concurrency {args.webhook_concurrency}"
    )
    print(f"messages by state (count, duplicates): {json.dumps(states)}")
    if rounds:  # --rounds 0: the stock export only
        pipeline = statistics.median(p for p, _d in rounds)
        direct = statistics.median(d for _p, d in rounds)
        ratio = statistics.median(p / d for p, d in rounds)
        print(f"webhook -> confirmed sale order:   {pipeline:8.2f} orders/s (median)")
        print(f"ORM create + confirm directly:     {direct:8.2f} orders/s (median)")
        print(
            f"pipeline / direct = {ratio:.2f}x median of {len(rounds)} rounds "
            f"(goal >= 0.85x: {'met' if ratio >= 0.85 else 'NOT met'})"
        )
    print(
        f"stock export of {args.skus} changed SKUs: {seconds:.1f} s, "
        f"{call_count} calls {json.dumps(calls)}, {sent} quantities set, "
        f"message {state} (outbox flush into the message: {flush_seconds:.1f} s)"
    )


if __name__ == "__main__":
    main()
