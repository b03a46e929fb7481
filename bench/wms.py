"""WMS connector benchmark.

1. Shipment confirmations per second, from a signed webhook body to a
   validated delivery (two lines, one lot-tracked, a package, a backorder for
   the rest): signature check, intake, the message's processing (schema,
   parsing, lots, package, validation with backorder), one commit per
   confirmation; against validating the same deliveries with the ORM directly
   (the same quantities, lot and package set by hand), in the same run.
   Both run in this one process on the same database: the webhook side here
   is the controller's work without HTTP and the job's work without the job
   runner (``bench/intake_pipeline.py`` measures those for the core).
2. Reconciling stock snapshots of 1,000 and 10,000 product-lot lines against
   Odoo's quants (parse, checksum, as-of correction, comparison), against
   reading the same quants with one ``read_group``.

    python3 bench/wms.py [--deliveries 100] [--rounds 3] [--keep-db]
"""

import argparse
import json
import statistics
import time

from common import ScratchOdoo, environment

from sandbox.testing import RunningSandbox
from sandbox.wms.control import WmsControl
from sandbox.wms.system import snapshot_checksum

TOKEN = "bench-wms-token"
SECRET = "bench-wms-secret"


def prepare(registry, base_url):
    with registry.cursor() as cr:
        env = environment(cr)
        warehouse = env["stock.warehouse"].search([], limit=1)
        backend = env["integration.backend"].create(
            {
                "name": "Bench WMS",
                "connector_type": "wms",
                "base_url": base_url,
                "api_key": TOKEN,
                "webhook_secret": SECRET,
                "rate_limit": 0,
            }
        )
        warehouse.wms_backend_id = backend
        Product = env["product.product"]
        Product.create(
            [
                {"name": "Bench cap", "default_code": "BENCH-CAP", "type": "product"},
                {
                    "name": "Bench vial",
                    "default_code": "BENCH-VIAL",
                    "type": "product",
                    "tracking": "lot",
                },
            ]
        )
        return backend.id, warehouse.id


def prepare_recon(registry, base_url):
    with registry.cursor() as cr:
        env = environment(cr)
        warehouse = env["stock.warehouse"].create({"name": "Recon", "code": "REC"})
        backend = env["integration.backend"].create(
            {
                "name": "Bench WMS (reconcile)",
                "connector_type": "wms",
                "base_url": base_url,
            }
        )
        warehouse.wms_backend_id = backend
        return backend.id, warehouse.id


def deliveries(registry, warehouse_id, count, tag):
    """``count`` reserved deliveries of 3 caps and 2 vials; their ids."""
    with registry.cursor() as cr:
        env = environment(cr)
        warehouse = env["stock.warehouse"].browse(warehouse_id)
        stock = warehouse.lot_stock_id
        customers = env.ref("stock.stock_location_customers")
        cap = env["product.product"].search([("default_code", "=", "BENCH-CAP")])
        vial = env["product.product"].search([("default_code", "=", "BENCH-VIAL")])
        lot = env["stock.lot"].create(
            {"name": f"ODOO-{tag}", "product_id": vial.id, "company_id": env.company.id}
        )
        Quant = env["stock.quant"]
        Quant._update_available_quantity(cap, stock, 3 * count)
        Quant._update_available_quantity(vial, stock, 2 * count, lot_id=lot)
        partner = env["res.partner"].create({"name": f"Bench customer {tag}"})
        pickings = env["stock.picking"].create(
            [
                {
                    "picking_type_id": warehouse.out_type_id.id,
                    "partner_id": partner.id,
                    "location_id": stock.id,
                    "location_dest_id": customers.id,
                    "move_ids": [
                        (
                            0,
                            0,
                            {
                                "name": product.name,
                                "product_id": product.id,
                                "product_uom_qty": quantity,
                                "product_uom": product.uom_id.id,
                                "location_id": stock.id,
                                "location_dest_id": customers.id,
                            },
                        )
                        for product, quantity in ((cap, 3), (vial, 2))
                    ],
                }
                for _n in range(count)
            ]
        )
        pickings.action_confirm()
        return pickings.ids


def release(registry, backend_id, picking_ids):
    with registry.cursor() as cr:
        env = environment(cr)
        backend = env["integration.backend"].browse(backend_id)
        Exporter = env["wms.release.exporter"]
        for picking in env["stock.picking"].browse(picking_ids):
            problem = Exporter._send(backend, picking)
            assert not problem and picking.wms_state == "released", problem
        return env["stock.picking"].browse(picking_ids).mapped("name")


def shipment_bodies(wms, names):
    """Each delivery shipped by the WMS: 2 caps of 3 and 2 vials of one lot
    in one package; the bodies exactly as the WMS signed them."""
    bodies = []
    for name in names:
        (event,) = wms.ship(
            name,
            shipments=[
                {
                    "lines": [
                        {"sku": "BENCH-CAP", "quantity": 2},
                        {
                            "sku": "BENCH-VIAL",
                            "quantity": 2,
                            "lots": [
                                {
                                    "lot": "WMS-LOT-1",
                                    "quantity": 2,
                                    "expiry_date": "2028-01-31",
                                }
                            ],
                        },
                    ]
                }
            ],
            final=False,
        )
        bodies.append(json.dumps(event, separators=(",", ":")).encode())
    return bodies


def pipeline_rate(registry, backend_id, bodies):
    from odoo.addons.integration_core.tools.signing import (  # noqa: PLC0415
        compute_signature,
    )

    signed = [
        (body, {"X-Integration-Signature": compute_signature(SECRET, body)})
        for body in bodies
    ]
    with registry.cursor() as cr:
        env = environment(cr)
        backend = env["integration.backend"].browse(backend_id)
        Message = env["integration.message"]
        started = time.perf_counter()
        for body, headers in signed:
            assert backend._webhook_verify(headers, body)
            message, _created = Message._intake_webhook(backend, headers, body)
            cr.commit()  # the webhook is answered here
            message._process()
            assert message.state == "done", (
                message.error_message or message.ignore_reason
            )
            cr.commit()
        return len(bodies) / (time.perf_counter() - started)


def direct_rate(registry, picking_ids):
    with registry.cursor() as cr:
        env = environment(cr)
        pickings = env["stock.picking"].browse(picking_ids)
        vial = env["product.product"].search([("default_code", "=", "BENCH-VIAL")])
        Lot, Package = env["stock.lot"], env["stock.quant.package"]
        MoveLine = env["stock.move.line"]
        started = time.perf_counter()
        for n, picking in enumerate(pickings):
            lot = Lot.search(
                [("name", "=", "DIRECT-LOT-1"), ("product_id", "=", vial.id)], limit=1
            ) or Lot.create(
                {
                    "name": "DIRECT-LOT-1",
                    "product_id": vial.id,
                    "company_id": env.company.id,
                }
            )
            package = Package.create({"name": f"DIRECT-PKG-{picking.id}-{n}"})
            for move in picking.move_ids:
                move.move_line_ids.unlink()
                MoveLine.create(
                    {
                        "move_id": move.id,
                        "picking_id": picking.id,
                        "product_id": move.product_id.id,
                        "product_uom_id": move.product_uom.id,
                        "location_id": move.location_id.id,
                        "location_dest_id": move.location_dest_id.id,
                        "lot_id": lot.id if move.product_id == vial else False,
                        "quantity": 2,
                        "result_package_id": package.id,
                        "picked": True,
                    }
                )
                move.picked = True
            picking.with_context(cancel_backorder=False)._action_done()
            assert picking.state == "done" and picking.backorder_ids
            cr.commit()
        return len(pickings) / (time.perf_counter() - started)


# -- reconciliation ------------------------------------------------------------------
def stock_lines(registry, warehouse_id, count, start):
    """``count`` product-lot quants (products of 2 lots each) put in stock;
    the snapshot lines saying the same."""
    with registry.cursor() as cr:
        env = environment(cr)
        stock = env["stock.warehouse"].browse(warehouse_id).lot_stock_id
        products = env["product.product"].create(
            [
                {
                    "name": f"Recon {n}",
                    "default_code": f"RECON-{n:06d}",
                    "type": "product",
                    "tracking": "lot",
                }
                for n in range(start, start + count // 2)
            ]
        )
        lots = env["stock.lot"].create(
            [
                {
                    "name": f"L{k}-{p.id}",
                    "product_id": p.id,
                    "company_id": env.company.id,
                }
                for p in products
                for k in (1, 2)
            ]
        )
        Quant = env["stock.quant"]
        lines = []
        for lot in lots:
            quantity = 1 + lot.id % 7
            Quant._update_available_quantity(
                lot.product_id, stock, quantity, lot_id=lot
            )
            lines.append(
                {
                    "sku": lot.product_id.default_code,
                    "lot": lot.name,
                    "location": "A-01",
                    "quantity": quantity,
                }
            )
        cr.commit()
        return lines


def reconcile_time(registry, backend_id, warehouse_id, lines, tag, tries=2):
    """Best of ``tries`` of each, alternating: the snapshot's processing
    (schema, checksum, comparison; nothing differs, nothing is written but
    the message) and one read_group of the same quants, each on a cold ORM
    cache."""
    reconciles, reads, rows = [], [], []
    for attempt in range(tries):
        event = {
            "event_id": f"bench-snapshot-{tag}-{attempt}",
            "event_type": "stock.snapshot",
            "occurred_at": "2030-01-01T00:00:00Z",
            "data": {
                "snapshot_id": f"bench-{tag}-{attempt}",
                "as_of": "2030-01-01T00:00:00Z",
                "line_count": len(lines),
                "checksum": snapshot_checksum(lines),
                "lines": lines,
            },
        }
        body = json.dumps(event).encode()
        with registry.cursor() as cr:
            env = environment(cr)
            backend = env["integration.backend"].browse(backend_id)
            stock = env["stock.warehouse"].browse(warehouse_id).lot_stock_id
            env.invalidate_all()
            started = time.perf_counter()
            rows = env["stock.quant"].read_group(
                [("location_id", "child_of", stock.id)],
                ["quantity:sum"],
                ["product_id", "lot_id"],
                lazy=False,
            )
            reads.append(time.perf_counter() - started)
            message, _created = env["integration.message"]._intake(
                backend, "wms.snapshot", event["event_id"], body, enqueue=False
            )
            env.invalidate_all()
            started = time.perf_counter()
            message._process()
            reconciles.append(time.perf_counter() - started)
            assert message.state == "done" and not message.business_exception, (
                message.error_message or message.business_exception
            )
            cr.rollback()
    return min(reconciles), min(reads), len(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=100, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()

    scratch = ScratchOdoo(["connector_wms"], workers=0, prefix="wms_bench")
    registry = scratch.registry
    sandbox = RunningSandbox()
    sandbox.start()
    rounds, recon = [], {}
    try:
        wms = WmsControl(sandbox, "BENCH")
        wms.configure(token=TOKEN, webhook_secret=SECRET)
        backend_id, warehouse_id = prepare(registry, wms.base_url)
        for index in range(args.rounds):
            piped = deliveries(registry, warehouse_id, args.deliveries, f"p{index}")
            direct = deliveries(registry, warehouse_id, args.deliveries, f"d{index}")
            bodies = shipment_bodies(wms, release(registry, backend_id, piped))
            pipeline = pipeline_rate(registry, backend_id, bodies)
            orm = direct_rate(registry, direct)
            rounds.append((pipeline, orm))
            print(
                f"round {index + 1}: webhook -> validated {pipeline:.2f}/s, ORM "
                f"directly {orm:.2f}/s, ratio {pipeline / orm:.2f}",
                flush=True,
            )
        # a warehouse (and WMS) of its own: a snapshot is compared with
        # every quant of the mapped warehouses
        recon_backend, recon_warehouse = prepare_recon(registry, wms.base_url)
        lines = stock_lines(registry, recon_warehouse, 1000, 0)
        recon[1000] = reconcile_time(
            registry, recon_backend, recon_warehouse, lines, "1k"
        )
        lines += stock_lines(registry, recon_warehouse, 9000, 500)
        recon[10000] = reconcile_time(
            registry, recon_backend, recon_warehouse, lines, "10k"
        )
    finally:
        sandbox.stop()
        if not args.keep_db:
            scratch.drop()

    print()
    if rounds:  # --rounds 0: the reconciliation only
        print_rounds(args, rounds)
    print_reconcile(recon)


def print_rounds(args, rounds):
    pipeline = statistics.median(p for p, _o in rounds)
    orm = statistics.median(o for _p, o in rounds)
    ratio = statistics.median(p / o for p, o in rounds)
    print(
        f"{args.deliveries} deliveries x {args.rounds} rounds, one process, one "
        "commit per confirmation"
    )
    print(f"signed webhook -> validated delivery: {pipeline:8.2f}/s (median)")
    print(f"ORM validation directly:              {orm:8.2f}/s (median)")
    print(
        f"pipeline / direct = {ratio:.2f}x (goal >= 1.0x: "
        f"{'met' if ratio >= 1.0 else 'NOT met'})"
    )


def print_reconcile(recon):
    for size, (reconcile, read, rows) in recon.items():
        print(
            f"snapshot of {size} lines: reconcile {reconcile:.3f} s, one read_group "
            f"{read:.3f} s ({rows} groups), {reconcile / read:.1f}x (goal <= 3x: "
            f"{'met' if reconcile <= 3 * read else 'NOT met'})"
        )
    scale = recon[10000][0] / recon[1000][0]
    print(
        f"reconcile 10k / 1k = {scale:.1f}x (goal <= 12x: "
        f"{'met' if scale <= 12 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
