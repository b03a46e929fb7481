"""Order to cash across the four connectors, through the sandbox: a Shopify
order by webhook, reservation, release to the WMS, the WMS's shipment
confirmations (a split, a lot, two packages), carrier labels, tracking to
delivered with proof, the invoice on proof of delivery, a camt.053 statement
paying it by reference, the fulfillment with tracking back in Shopify.
Webhooks, the outbox and the jobs do the work; the test only plays the
external systems (the sandbox's control API) and finance's upload."""

from odoo.tests import tagged
from odoo.tests.common import HttpCase

from odoo.addons.integration_core.tests.common import FAST_WEBHOOKS, trapped_jobs

from sandbox.testing import RunningSandbox

from .order_to_cash import SKU_LOT, SKU_PLAIN, Flow, Region

EU_IBAN = "BE71096123456769"
US_IBAN = "DE89370400440532013000"


class OrderToCashCase(HttpCase):
    """A sandbox and the regions of the class; each test holds the test
    cursor's lock (see ``Flow``) and starts from a reset sandbox."""

    regions = (("EU", EU_IBAN),)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sandbox = RunningSandbox(webhook_config=FAST_WEBHOOKS)
        cls.sandbox.start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls.region = {
            code: Region.create(cls.env, cls.sandbox, code, iban)
            for code, iban in cls.regions
        }

    def setUp(self):
        super().setUp()
        self.sandbox.reset(webhooks=FAST_WEBHOOKS)
        self.addCleanup(self.sandbox.clear_faults)
        trap = self.enterContext(trapped_jobs())
        lock = self.registry.test_lock
        lock.acquire()
        self.addCleanup(lock.release)
        self.flow = Flow(self.env, self.sandbox, trap, lock)
        for region in self.region.values():
            region.connect(self.base_url())
        self.flow.settle()

    # -- checks ------------------------------------------------------------------------
    def assertDeskEmpty(self, region):
        self.assertFalse(region.desk(), region.describe_desk())

    def assertTraceComplete(self, sale):
        """The order's trace (``sale.order._integration_trace()``, when the
        suite has it) names every step and none is missing or failed."""
        if not hasattr(sale, "_integration_trace"):
            return  # the trace is not there yet: only this check is skipped
        steps = sale._integration_trace()
        self.assertTrue(steps, "the trace is empty")
        for step in steps:
            state = step.get("state") or step.get("status")
            self.assertNotIn(
                state, ("missing", "failed", "dead", "pending", "todo"), step
            )

    def order_and_release(self, region, lines=None):
        """A Shopify order by webhook, confirmed and reserved, released to the
        WMS; returns (shopify order, sale order, delivery)."""
        order = region.place_order(lines)
        self.flow.settle()
        sale = region.sale_of(order)
        self.assertTrue(sale, "the orders/create webhook made no sale order")
        self.assertEqual(sale.state, "sale")
        picking = region.open_delivery(sale)
        self.assertEqual(len(picking), 1)
        return order, sale, picking


@tagged("post_install", "-at_install")
class TestOrderToCash(OrderToCashCase):
    def test_whole_flow_split_shipment_lot_two_packages(self):
        eu = self.region["EU"]
        order, sale, picking = self.order_and_release(eu)
        self.assertEqual(picking.state, "assigned")
        self.assertEqual(picking.carrier_id, eu.carrier)
        self.assertIn(picking.wms_state, ("released", "acknowledged"))
        released = eu.wms.order(picking.wms_order_ref or picking.name)
        self.assertEqual(
            sorted((line["sku"], line["quantity"]) for line in released["lines"]),
            [(SKU_PLAIN, 2), (SKU_LOT, 1)],
        )
        # the WMS ships it split in two packages: the lot's vial and a mug in
        # one, the other mug in the second
        lot = eu.lot.name
        eu.ship(
            picking,
            [
                {
                    "lines": [
                        {"sku": SKU_PLAIN, "quantity": 2},
                        {
                            "sku": SKU_LOT,
                            "quantity": 1,
                            "lots": [{"lot": lot, "quantity": 1}],
                        },
                    ],
                    "packages": [
                        eu.package("PKG-A", [(SKU_PLAIN, 1), (SKU_LOT, 1)]),
                        eu.package("PKG-B", [(SKU_PLAIN, 1)]),
                    ],
                }
            ],
        )
        self.flow.settle()
        pickings = sale.picking_ids.filtered(
            lambda p: p.picking_type_code == "outgoing"
        )
        self.assertEqual(set(pickings.mapped("state")), {"done"}, pickings)
        lines = pickings.move_line_ids
        self.assertEqual(
            lines.filtered(lambda ml: ml.product_id == eu.vial).lot_id, eu.lot
        )
        self.assertEqual(len(lines.result_package_id), 2)
        shipments = pickings.carrier_shipment_ids.filtered(
            lambda s: s.state == "bought"
        )
        self.assertEqual(len(shipments), 2, "one label per package")
        self.assertTrue(all(shipments.mapped("label_attachment_id")))
        for delivery in pickings:
            self.assertTrue(delivery.carrier_tracking_ref)
        # Shopify has the fulfillment(s) with the tracking numbers
        fulfillments = eu.shop.fulfillments(order["id"])
        self.assertTrue(fulfillments, "no fulfillment in Shopify")
        numbers = {
            number
            for fulfillment in fulfillments
            for number in fulfillment.get("tracking_numbers") or []
        }
        self.assertEqual(numbers, set(shipments.mapped("tracking_code")))
        # no invoice before the proof of delivery
        self.assertFalse(sale.invoice_ids)
        for delivery in pickings:
            eu.deliver(delivery, signed_by="ANN LEE")
        self.flow.settle()
        for delivery in pickings:
            self.assertEqual(delivery.integration_delivery_state, "delivered")
            self.assertEqual(delivery.integration_signed_by, "ANN LEE")
        invoice = sale.invoice_ids
        self.assertEqual(len(invoice), 1, "one invoice for the delivered quantities")
        self.assertEqual(invoice.state, "posted")
        self.assertEqual(f"{invoice.amount_total:.2f}", order["total_price"])
        # the customer pays by reference: a camt.053 from the bank API
        line = eu.pay(invoice)
        self.flow.settle()
        self.assertTrue(line.is_reconciled, line.bank_match_error)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertDeskEmpty(eu)
        self.assertTraceComplete(sale)
