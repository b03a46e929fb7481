"""Two confirmations of one order processed at the same time, in two real,
committed transactions (two job workers): each applied exactly once, no
lock or serialization error reaching the job's caller, no half-applied
picking.

Two orderings of each case: both jobs at once (one waits for the other's
order lock or meets its commit), and the dangerous one made certain: the
second job's snapshot begins before the first commits, and it takes the
order's lock only after that commit (it sees the order as it was)."""

import json
import threading
import uuid

from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import CommittedCase
from odoo.addons.integration_core.tools.signing import compute_signature

SECRET = "concurrency-wms-secret"


def shipment(ref, event_id, shipment_id, lines, sequence=1, final=True, count=1):
    data = {
        "shipment_id": shipment_id,
        "order_ref": ref,
        "sequence": sequence,
        "final": final,
        "lines": lines,
    }
    if final:
        data["shipment_count"] = count
    return {
        "event_id": event_id,
        "event_type": "shipment.confirmed",
        "occurred_at": "2026-12-01T10:00:00Z",
        "data": data,
    }


@tagged("post_install", "-at_install")
class TestConcurrentConfirmations(CommittedCase):
    def setUp(self):
        super().setUp()
        self.tag = uuid.uuid4().hex[:8]
        with self.registry.cursor() as cr:
            env = self._env(cr)
            warehouse = env["stock.warehouse"].search(
                [("company_id", "=", env.company.id)], limit=1
            )
            self.warehouse_id = warehouse.id
            self.previous_wms_id = warehouse.wms_backend_id.id
            backend = env["integration.backend"].create(
                {
                    "name": f"WMS concurrency {self.tag}",
                    "connector_type": "wms",
                    "webhook_secret": SECRET,
                    "batch_size": 1,  # each job its own message
                    "max_attempts": 5,
                }
            )
            self.backend_id = backend.id
            product = env["product.product"].create(
                {
                    "name": f"Cap {self.tag}",
                    "default_code": f"CAP-{self.tag}",
                    "type": "product",
                }
            )
            self.product_id, self.sku = product.id, product.default_code
            stock = warehouse.lot_stock_id
            env["stock.quant"]._update_available_quantity(product, stock, 3)
            customers = env.ref("stock.stock_location_customers")
            picking = env["stock.picking"].create(
                {
                    "picking_type_id": warehouse.out_type_id.id,
                    "location_id": stock.id,
                    "location_dest_id": customers.id,
                    "move_ids": [
                        (
                            0,
                            0,
                            {
                                "name": product.name,
                                "product_id": product.id,
                                "product_uom_qty": 3,
                                "product_uom": product.uom_id.id,
                                "location_id": stock.id,
                                "location_dest_id": customers.id,
                            },
                        )
                    ],
                }
            )
            picking.action_confirm()
            self.assertEqual(picking.state, "assigned")
            # released and acknowledged by the WMS (the release itself is
            # test_release's; here it is the state it leaves)
            warehouse.wms_backend_id = backend
            picking.write({"wms_state": "acknowledged", "wms_order_ref": picking.name})
            picking.move_ids.wms_line_id = str(picking.move_ids.id)
            self.assertEqual(picking.wms_backend_id, backend)
            self.picking_id, self.ref = picking.id, picking.name

    def tearDown(self):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            backend = env["integration.backend"].browse(self.backend_id)
            env["stock.warehouse"].browse(
                self.warehouse_id
            ).wms_backend_id = self.previous_wms_id
            messages = env["integration.message"].search(
                [("backend_id", "=", backend.id)]
            )
            env["queue.job"].search(
                [("uuid", "in", [u for u in messages.mapped("job_uuid") if u])]
            ).unlink()
            env["wms.shipment"].search([("backend_id", "=", backend.id)]).unlink()
            messages.unlink()
            env["integration.outbox"].search([("backend_id", "=", backend.id)]).unlink()
            backend.active = False
            env["product.product"].browse(self.product_id).active = False
            # nothing of this test's product is left in stock, whatever the
            # outcome (the snapshot tests compare the warehouse's with the WMS's)
            cr.execute(
                "DELETE FROM stock_quant WHERE product_id = %s", [self.product_id]
            )
        super().tearDown()

    # -- helpers ------------------------------------------------------------------
    def intake(self, events):
        ids = []
        with self.registry.cursor() as cr:
            env = self._env(cr)
            backend = env["integration.backend"].browse(self.backend_id)
            for event in events:
                body = json.dumps(event).encode()
                headers = {
                    "X-Integration-Signature": compute_signature(SECRET, body),
                    "X-Integration-Event": event["event_type"],
                }
                message, created = env["integration.message"]._intake_webhook(
                    backend, headers, body
                )
                self.assertTrue(created)
                ids.append(message.id)
        return ids

    def run_jobs_concurrently(self, message_ids, stale):
        """Each message's job in its own thread and transaction, as two job
        workers run them. ``stale``: the second one's snapshot begins
        before the first one runs, and it runs after the first committed."""
        started = threading.Barrier(len(message_ids))
        first_done = threading.Event()
        errors = []

        def job(message_id, index):
            try:
                with self.registry.cursor() as cr:
                    env = self._env(cr)
                    cr.execute("SELECT 1")  # the transaction's snapshot begins
                    started.wait(timeout=30)
                    if stale and index:
                        self.assertTrue(first_done.wait(timeout=120))
                    env["integration.message"].browse(message_id)._process_job()
            except Exception as exc:  # noqa: BLE001 - reported by the test
                errors.append(exc)
            finally:
                if not index:
                    first_done.set()

        threads = [
            threading.Thread(target=job, args=(message_id, index))
            for index, message_id in enumerate(message_ids)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=180)
        self.assertFalse(any(thread.is_alive() for thread in threads))
        # nothing reaches the job's caller: no lock error, no serialization
        # failure (queue_job would only postpone it, the batch would lose
        # its work)
        self.assertEqual(errors, [])

    def run_retries(self, message_ids):
        """What the job runner does next: the messages waiting for a retry
        (the one that met the other confirmation) run again, each in a fresh
        transaction."""
        for _round in range(5):
            with self.registry.cursor() as cr:
                env = self._env(cr)
                waiting = env["integration.message"].search(
                    [
                        ("id", "in", message_ids),
                        ("state", "=", "failed"),
                        ("next_retry_at", "!=", False),
                    ]
                )
                if not waiting:
                    return
                for message in waiting:
                    self.assertEqual(message.error_category, "transient")
                    self.assertIn(self.ref, message.error_message)
            for message_id in waiting.ids:
                with self.registry.cursor() as cr:
                    self._env(cr)["integration.message"].browse(
                        message_id
                    )._process_job()
        self.fail("retries did not settle")

    def end_state(self, message_ids):
        with self.registry.cursor() as cr:
            env = self._env(cr)
            messages = env["integration.message"].browse(message_ids)
            pickings = env["stock.picking"].search(
                [("wms_order_ref", "=", self.ref)], order="id"
            )
            shipments = env["wms.shipment"].search(
                [("backend_id", "=", self.backend_id)]
            )
            moves = pickings.move_ids
            done_lines = moves.filtered(lambda m: m.state == "done").move_line_ids
            return {
                "messages": sorted(messages.mapped("state")),
                "pickings": [
                    (
                        p.state,
                        p.wms_state,
                        sum(
                            p.move_ids.filtered(lambda m: m.state == "done").mapped(
                                "quantity"
                            )
                        ),
                    )
                    for p in pickings
                ],
                "shipments": sorted(shipments.mapped("external_id")),
                "shipped": sum(done_lines.mapped("quantity")),
                # no half-applied picking: every open move keeps its demand,
                # nothing picked or set aside without being done
                "open_moves": [
                    (m.product_uom_qty, m.picked)
                    for m in moves.filtered(lambda m: m.state not in ("done", "cancel"))
                ],
                "at_customer": sum(
                    env["stock.quant"]
                    .search(
                        [
                            ("product_id", "=", self.product_id),
                            (
                                "location_id",
                                "=",
                                env.ref("stock.stock_location_customers").id,
                            ),
                        ]
                    )
                    .mapped("quantity")
                ),
            }

    # -- the same shipment twice at once ---------------------------------------------
    def same_shipment_twice(self, stale):
        lines = [{"line_id": "x", "sku": self.sku, "quantity": 3}]
        # the WMS sent it again under a new event id (a resend, or its
        # events poll): intake keeps both, the shipment id is the same
        ids = self.intake(
            [
                shipment(self.ref, f"evt-{self.tag}-1", f"SHP-{self.tag}", lines),
                shipment(self.ref, f"evt-{self.tag}-2", f"SHP-{self.tag}", lines),
            ]
        )
        self.run_jobs_concurrently(ids, stale)
        self.run_retries(ids)
        state = self.end_state(ids)
        self.assertEqual(state["messages"], ["done", "ignored"])
        self.assertEqual(state["pickings"], [("done", "shipped", 3.0)])
        self.assertEqual(state["shipments"], [f"SHP-{self.tag}"])
        self.assertEqual(state["shipped"], 3.0)
        self.assertEqual(state["at_customer"], 3.0)
        self.assertEqual(state["open_moves"], [])

    def test_same_shipment_twice_at_once(self):
        self.same_shipment_twice(stale=False)

    def test_same_shipment_twice_second_one_sees_the_order_as_it_was(self):
        self.same_shipment_twice(stale=True)

    # -- two shipments of a split order at once --------------------------------------
    def split_shipments(self, stale, reverse=False):
        first = shipment(
            self.ref,
            f"evt-{self.tag}-a",
            f"SHP-{self.tag}-1",
            [{"line_id": "x", "sku": self.sku, "quantity": 1}],
            sequence=1,
            final=False,
        )
        second = shipment(
            self.ref,
            f"evt-{self.tag}-b",
            f"SHP-{self.tag}-2",
            [{"line_id": "x", "sku": self.sku, "quantity": 2}],
            sequence=2,
            final=True,
            count=2,
        )
        ids = self.intake([second, first] if reverse else [first, second])
        self.run_jobs_concurrently(ids, stale)
        self.run_retries(ids)
        state = self.end_state(ids)
        self.assertEqual(state["messages"], ["done", "done"])
        # the picking and its backorder, each done with its shipment's quantity
        pickings = state["pickings"]
        self.assertEqual(len(pickings), 2, pickings)
        self.assertEqual({p[:2] for p in pickings}, {("done", "shipped")})
        self.assertEqual(sorted(p[2] for p in pickings), [1.0, 2.0])
        self.assertEqual(state["shipments"], [f"SHP-{self.tag}-1", f"SHP-{self.tag}-2"])
        self.assertEqual(state["shipped"], 3.0)
        self.assertEqual(state["at_customer"], 3.0)
        self.assertEqual(state["open_moves"], [])

    def test_split_shipments_at_once(self):
        self.split_shipments(stale=False)

    def test_split_shipments_second_one_sees_the_order_as_it_was(self):
        self.split_shipments(stale=True)

    def test_split_shipments_last_one_first_and_stale(self):
        self.split_shipments(stale=True, reverse=True)
