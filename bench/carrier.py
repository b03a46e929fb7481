"""Carrier connector benchmark: labels bought through delivery validations
against the bare API calls, and tracking events applied through the
connector against the same states written with the ORM directly.

1. Labels: N deliveries (one parcel each) validated one by one, one
   transaction each (``button_validate``: picking done, label bought at the
   sandbox's EasyPost-compatible API, label file attached), against the bare
   calls of a label in the same run (create the shipment, buy its rate,
   download the label file) from a plain HTTP client.
2. Tracking: E ``tracker.updated`` events (10 per parcel, each repeating the
   parcel's history as EasyPost's do) for E/10 parcels, through the connector
   (intake as a webhook stores it, one transaction per event; then processing
   as the jobs run it: up to *Messages per job* (50) messages per transaction,
   each message schema-checked, locked, its timeline merged and its status
   version-guarded) against writing the same states and timeline lines with
   the ORM directly, one transaction per event. The two sides run in
   alternating rounds (``--rounds``, 10) over the same events, after the
   intake of every webhook: on a shared machine both meet the same load.
   Goal: at least 0.85x.

Everything runs in this process on a scratch database (no HTTP server: the
webhook's own cost is measured by bench/intake_pipeline.py). Run:
``python3 bench/carrier.py [--labels 40] [--events 10000] [--keep-db]
[--db NAME]`` (``--db``: a database kept by an earlier run, used again).
"""

import argparse
import json
import re
import time

import requests
from common import ScratchOdoo, environment  # puts the repository on sys.path

from sandbox.carrier.control import CarrierControl
from sandbox.testing import RunningSandbox

SECRET = "bench-secret"
STEPS = [
    ("pre_transit", "label_created", "Shipping Label Created"),
    ("in_transit", "received_at_origin_facility", "Accepted at origin facility"),
    ("in_transit", "departed_facility", "Departed facility"),
    ("in_transit", "arrived_at_facility", "Arrived at sort facility"),
    ("in_transit", "departed_facility", "Departed sort facility"),
    ("in_transit", "arrived_at_facility", "Arrived at regional facility"),
    ("in_transit", "departed_facility", "Departed regional facility"),
    ("in_transit", "arrived_at_destination", "Arrived at destination facility"),
    ("out_for_delivery", "out_for_delivery", "Out for delivery"),
    ("delivered", "arrived_at_destination", "Delivered"),
]


def prepare(registry, remote, labels):
    from odoo import Command  # noqa: PLC0415

    with registry.cursor() as cr:
        env = environment(cr)
        env.ref("base.USD").active = True
        company = env.company
        company.partner_id.write(
            {
                "street": "1 Warehouse Way",
                "city": "Salt Lake City",
                "zip": "84101",
                "country_id": env.ref("base.us").id,
            }
        )
        backend = env["integration.backend"].create(
            {
                "name": "Carrier bench",
                "connector_type": "carrier",
                "base_url": remote.base_url,
                "api_key": remote.api_key,
                "webhook_secret": SECRET,
                "rate_limit": 0,
            }
        )
        customer = env["res.partner"].create(
            {
                "name": "Dana O'Neil",
                "street": "417 Montgomery St",
                "city": "San Francisco",
                "zip": "94104",
                "country_id": env.ref("base.us").id,
            }
        )
        shipping = env["product.product"].create(
            {"name": "Shipping", "type": "service", "invoice_policy": "order"}
        )
        carrier = env["delivery.carrier"].create(
            {
                "name": "Bench USPS",
                "delivery_type": "integration_carrier",
                "product_id": shipping.id,
                "integration_backend_id": backend.id,
                "integration_service": "USPS:Priority",
            }
        )
        product = env["product.product"].create(
            {"name": "Bench mug", "type": "product", "weight": 0.5}
        )
        warehouse = env["stock.warehouse"].search(
            [("company_id", "=", company.id)], limit=1
        )
        env["stock.quant"]._update_available_quantity(
            product, warehouse.lot_stock_id, labels * 10
        )
        picking_ids = []
        for _i in range(labels):
            order = env["sale.order"].create(
                {
                    "partner_id": customer.id,
                    "order_line": [
                        Command.create({"product_id": product.id, "product_uom_qty": 2})
                    ],
                }
            )
            order.set_delivery_line(carrier, 10.0)
            order.action_confirm()
            picking = order.picking_ids
            picking.action_assign()
            for move in picking.move_ids:
                move.quantity = move.product_uom_qty
                move.picked = True
            picking_ids.append(picking.id)
        return backend.id, customer.id, picking_ids


def labels_through_validation(registry, picking_ids):
    started = time.perf_counter()
    for picking_id in picking_ids:
        with registry.cursor() as cr:
            picking = environment(cr)["stock.picking"].browse(picking_id)
            picking.button_validate()
            assert picking.state == "done" and picking.carrier_tracking_ref
    return len(picking_ids) / (time.perf_counter() - started)


def labels_bare(remote, count):
    session = requests.Session()
    session.auth = (remote.api_key, "")
    spec = {
        "to_address": {
            "name": "Dana O'Neil",
            "street1": "417 Montgomery St",
            "city": "San Francisco",
            "zip": "94104",
            "country": "US",
        },
        "from_address": {
            "street1": "1 Warehouse Way",
            "city": "Salt Lake City",
            "zip": "84101",
            "country": "US",
        },
        "parcel": {"weight": 35.3},
        "options": {"label_format": "PDF"},
    }
    started = time.perf_counter()
    for index in range(count):
        shipment = session.post(
            f"{remote.base_url}/shipments",
            json={"shipment": dict(spec, reference=f"bare-{index}")},
            timeout=30,
        ).json()
        rate = next(r for r in shipment["rates"] if r["service"] == "Priority")
        bought = session.post(
            f"{remote.base_url}/shipments/{shipment['id']}/buy",
            json={"rate": {"id": rate["id"]}},
            timeout=30,
        ).json()
        label = requests.get(bought["postage_label"]["label_url"], timeout=30)
        assert label.content.startswith(b"%PDF")
    return count / (time.perf_counter() - started)


def tracking_events(parcels):
    """10 Event bodies per parcel, oldest first; each repeats the history."""
    base = 1_900_000_000
    bodies = []
    for parcel in range(parcels):
        code = f"BENCH{parcel:07d}"
        details = []
        for step, (status, detail, message) in enumerate(STEPS):
            at = time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + parcel * 60 + step * 3600)
            )
            details.append(
                {
                    "object": "TrackingDetail",
                    "message": message,
                    "status": status,
                    "status_detail": detail,
                    "datetime": at,
                    "source": "USPS",
                    "tracking_location": {
                        "object": "TrackingLocation",
                        "city": "DENVER",
                        "state": "CO",
                        "country": "US",
                        "zip": "80202",
                    },
                }
            )
            tracker = {
                "id": f"trk_bench{parcel:07d}",
                "object": "Tracker",
                "tracking_code": code,
                "status": status,
                "status_detail": detail,
                "signed_by": "DANA" if status == "delivered" else None,
                "updated_at": at,
                "tracking_details": list(details),
            }
            event = {
                "id": f"evt_bench{parcel:07d}_{step}",
                "object": "Event",
                "description": "tracker.updated",
                "result": tracker,
            }
            bodies.append((step, json.dumps(event).encode()))
    # interleave parcels the way a carrier's stream does: by step
    bodies.sort(key=lambda item: item[0])
    return [body for _step, body in bodies]


def make_parcels(registry, backend_id, customer_id, parcels, prefix):
    with registry.cursor() as cr:
        env = environment(cr)
        picking_type = env.ref("stock.picking_type_out")
        pickings = env["stock.picking"].create(
            [
                {"picking_type_id": picking_type.id, "partner_id": customer_id}
                for _i in range(parcels)
            ]
        )
        env["carrier.shipment"].create(
            [
                {
                    "backend_id": backend_id,
                    "picking_id": picking.id,
                    "reference": f"{prefix}-{index}",
                    "tracking_code": f"BENCH{index:07d}"
                    if prefix == "pipe"
                    else f"DIRECT{index:07d}",
                    "tracker_ext_id": f"trk_bench{index:07d}",
                    "shipment_ext_id": f"shp_bench{index:07d}",
                }
                for index, picking in enumerate(pickings)
            ]
        )


def intake_webhooks(registry, backend_id, bodies, batch):
    """Intake as the webhook does it: a message and its job per event, one
    transaction each. Returns the seconds it took."""
    started = time.perf_counter()
    with registry.cursor() as cr:
        environment(cr)["integration.backend"].browse(backend_id).batch_size = batch
    for body in bodies:
        with registry.cursor() as cr:
            env = environment(cr)
            data = json.loads(body)
            env["integration.message"]._intake(
                env["integration.backend"].browse(backend_id),
                "tracker.updated",
                data["id"],
                body,
                external_id=data["id"],
                reference=data["result"]["tracking_code"],
            )
    return time.perf_counter() - started


def process_queued(registry, backend_id, count):
    """The jobs as the runner runs them, until at least ``count`` messages
    are processed or none is left: the oldest job's message, plus up to
    *Messages per job* - 1 queued messages of the backend in the same
    transaction (the core's micro-batch). Returns (processed, seconds)."""
    started = time.perf_counter()
    processed = 0
    while processed < count:
        with registry.cursor() as cr:
            env = environment(cr)
            message = env["integration.message"].search(
                [("backend_id", "=", backend_id), ("state", "=", "received")],
                order="id",
                limit=1,
            )
            if not message:
                break
            job = env["queue.job"].search([("uuid", "=", message.job_uuid)])
            result = message.with_context(job_uuid=job.uuid)._process_job()
            job.write({"state": "done"})
        batched = re.search(r"\+(\d+) queued", result or "")
        processed += 1 + (int(batched.group(1)) if batched else 0)
    return processed, time.perf_counter() - started


def events_with_orm(registry, bodies):
    """The same states and timeline lines, written directly: no message, no
    schema, no lock, no dedupe; one transaction per event."""
    from odoo.addons.connector_carrier.tools import easypost as ep  # noqa: PLC0415

    started = time.perf_counter()
    for body in bodies:
        data = json.loads(body)
        tracker = data["result"]
        last = tracker["tracking_details"][-1]
        with registry.cursor() as cr:
            env = environment(cr)
            shipment = env["carrier.shipment"].search(
                [
                    (
                        "tracking_code",
                        "=",
                        tracker["tracking_code"].replace("BENCH", "DIRECT"),
                    )
                ],
                limit=1,
            )
            at = ep.parse_time(last["datetime"])
            env["carrier.tracking.event"].create(
                {
                    "shipment_id": shipment.id,
                    "key": f"{data['id']}",
                    "status": last["status"],
                    "status_detail": last["status_detail"],
                    "delivery_state": ep.delivery_state(
                        last["status"], last["status_detail"]
                    ),
                    "message": last["message"],
                    "location": ep.location_text(last["tracking_location"]),
                    "event_time": at,
                }
            )
            shipment.write(
                {
                    "status": tracker["status"],
                    "status_detail": tracker["status_detail"],
                    "delivery_state": ep.delivery_state(
                        tracker["status"], tracker["status_detail"]
                    ),
                    "status_at": at,
                    "status_message": last["message"],
                    "signed_by": tracker.get("signed_by"),
                }
            )
    return time.perf_counter() - started


def tracking_in_rounds(registry, backend_id, bodies, rounds):
    """The two sides in alternating rounds of the same events, so that both
    meet the same load on a shared machine (a run of minutes sees it change).
    Returns (connector seconds, direct seconds)."""
    per_round = -(-len(bodies) // rounds)
    connector = direct = 0.0
    for start in range(0, len(bodies), per_round):
        direct += events_with_orm(registry, bodies[start : start + per_round])
        _processed, seconds = process_queued(registry, backend_id, per_round)
        connector += seconds
    return connector, direct


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=40)
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--batch", type=int, default=50, help="messages per job")
    parser.add_argument(
        "--rounds", type=int, default=10, help="alternating rounds of the two sides"
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--db", help="a database kept by an earlier run")
    args = parser.parse_args()
    scratch = ScratchOdoo(
        ["connector_carrier"], workers=0, prefix="carrier_bench", dbname=args.db
    )
    registry = scratch.registry
    sandbox = RunningSandbox()
    sandbox.start()
    try:
        remote = CarrierControl(sandbox, "bench")
        backend_id, customer_id, picking_ids = prepare(registry, remote, args.labels)
        through = labels_through_validation(registry, picking_ids)
        bought = len(remote.purchases())
        bare = labels_bare(remote, args.labels)
        parcels = max(args.events // len(STEPS), 1)
        bodies = tracking_events(parcels)
        make_parcels(registry, backend_id, customer_id, parcels, "pipe")
        make_parcels(registry, backend_id, customer_id, parcels, "direct")
        intake = intake_webhooks(registry, backend_id, bodies, args.batch)
        processing, direct_seconds = tracking_in_rounds(
            registry, backend_id, bodies, args.rounds
        )
        pipeline = len(bodies) / processing
        direct = len(bodies) / direct_seconds
        with registry.cursor() as cr:
            env = environment(cr)
            done = env["integration.message"].search_count(
                [("backend_id", "=", backend_id), ("state", "=", "done")]
            )
            delivered = env["carrier.shipment"].search_count(
                [
                    ("backend_id", "=", backend_id),
                    ("reference", "like", "pipe-%"),
                    ("delivery_state", "=", "delivered"),
                ]
            )
            lines = env["carrier.tracking.event"].search_count(
                [
                    ("shipment_id.backend_id", "=", backend_id),
                    ("shipment_id.reference", "like", "pipe-%"),
                ]
            )
    finally:
        sandbox.stop()
        if not (args.keep_db or args.db):
            scratch.drop()
    print()
    print(
        f"labels: {args.labels} validations -> {bought} labels bought, "
        f"{through:.2f} labels/s; bare API calls (create, buy, download) "
        f"{bare:.2f} labels/s; validation / bare = {through / bare:.2f}x"
    )
    print(
        f"tracking: {len(bodies)} events for {parcels} parcels -> {done} messages "
        f"done, {delivered} parcels delivered, {lines} timeline lines"
    )
    print(
        f"  through the connector's jobs: {pipeline:.1f} events/s (processing "
        f"{processing:.1f} s, up to {args.batch} messages per job, {args.rounds} "
        f"rounds alternating with the direct writes; intake of the "
        f"webhooks before it: {len(bodies) / intake:.1f} events/s)"
    )
    print(f"  ORM writes directly:   {direct:.1f} events/s")
    ratio = pipeline / direct
    print(
        f"  connector / direct = {ratio:.2f}x "
        f"(goal >= 0.85x: {'met' if ratio >= 0.85 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
