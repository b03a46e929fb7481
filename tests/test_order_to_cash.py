"""Order to cash across the four connectors, through the sandbox: a Shopify
order by webhook, reservation, release to the WMS, the WMS's shipment
confirmation (split in two packages, with a lot), carrier labels, tracking to
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

# what the trace of an order shipped by the WMS, delivered by the carrier and
# paid through the bank shows (``integration_core/tools/trace.py``)
FLOW_STEPS = (
    "shopify.received",
    "sale.confirmed",
    "wms.reserved",
    "wms.released",
    "wms.shipped",
    "carrier.label",
    "shopify.fulfillment",
    "carrier.tracking",
    "carrier.delivered",
    "account.invoiced",
    "bank.payment",
    "bank.matched",
)


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
        """The order's trace (``sale.order._integration_trace_summary()``)
        is complete: every step of the flow is on it, none waits or is stuck."""
        trace = sale._integration_trace_summary()
        self.assertEqual(trace["state"], "complete", trace["headline"])
        kinds = {step["key"] for step in trace["steps"]}
        for kind in FLOW_STEPS:
            self.assertIn(kind, kinds, trace["steps"])
        self.assertFalse([s for s in trace["steps"] if s["status"] != "done"])

    def assertCorrelated(self, region, sale):
        """The order's correlation id is on its deliveries and invoices and on
        what Odoo sent about them (the release, the fulfillment)."""
        correlation = sale.integration_correlation_id
        self.assertTrue(correlation)
        for documents in (sale.picking_ids, sale.invoice_ids):
            self.assertEqual(
                set(documents.mapped("integration_correlation_id")), {correlation}
            )
        sent = self.env["integration.message"].search(
            [
                ("backend_id", "in", region.backends.ids),
                ("direction", "=", "out"),
                ("message_type", "in", ("wms.release", "fulfillment.create")),
            ]
        )
        self.assertEqual(
            sorted(sent.mapped("message_type")), ["fulfillment.create", "wms.release"]
        )
        self.assertEqual(set(sent.mapped("correlation_id")), {correlation})

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
    def test_whole_flow_shipped_in_two_packages_with_a_lot(self):
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
        self.assertCorrelated(eu, sale)
        self.assertTraceComplete(sale)

    # -- variants ------------------------------------------------------------------
    def ship_all(self, region, picking, ref="PKG-1", final=True, mugs=2, vials=1):
        lines = []
        contents = []
        if mugs:
            lines.append({"sku": SKU_PLAIN, "quantity": mugs})
            contents.append((SKU_PLAIN, mugs))
        if vials:
            lines.append(
                {
                    "sku": SKU_LOT,
                    "quantity": vials,
                    "lots": [{"lot": region.lot.name, "quantity": vials}],
                }
            )
            contents.append((SKU_LOT, vials))
        region.ship(
            picking,
            [{"lines": lines, "packages": [region.package(ref, contents)]}],
            final=final,
        )
        self.flow.settle()
        self.assertEqual(picking.state, "done")

    def invoice_lines(self, invoice):
        return sorted(
            (line.product_id.default_code or line.product_id.name, line.quantity)
            for line in invoice.invoice_line_ids
            if line.display_type == "product"
        )

    def test_partial_shipment_backorder_shipped_later_two_invoices(self):
        eu = self.region["EU"]
        order, sale, picking = self.order_and_release(eu)
        self.ship_all(eu, picking, "PKG-1", final=False, mugs=1)
        backorder = eu.open_delivery(sale)
        self.assertEqual(len(backorder), 1)
        self.assertEqual(backorder.wms_order_ref, picking.wms_order_ref or picking.name)
        eu.deliver(picking, signed_by="ANN LEE")
        self.flow.settle()
        first = picking.integration_invoice_id
        self.assertEqual(first.state, "posted")
        self.assertEqual(
            self.invoice_lines(first),
            sorted([(SKU_PLAIN, 1.0), (SKU_LOT, 1.0), (eu.shipping_product.name, 1.0)]),
        )
        # the rest, shipped later under the same WMS order
        self.ship_all(eu, backorder, "PKG-2", final=True, mugs=1, vials=0)
        eu.deliver(backorder, signed_by="ANN LEE")
        self.flow.settle()
        second = backorder.integration_invoice_id
        self.assertEqual(self.invoice_lines(second), [(SKU_PLAIN, 1.0)])
        self.assertEqual(sale.invoice_ids, first | second)
        self.assertEqual(
            f"{first.amount_total + second.amount_total:.2f}", order["total_price"]
        )
        self.assertEqual(len(eu.shop.fulfillments(order["id"])), 2)
        for invoice in (first, second):
            line = eu.pay(invoice)
            self.flow.settle()
            self.assertTrue(line.is_reconciled, line.bank_match_error)
            self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertDeskEmpty(eu)
        self.assertTraceComplete(sale)

    def test_delivery_failure_on_the_desk_then_redelivered_resolves_itself(self):
        eu = self.region["EU"]
        _order, sale, picking = self.order_and_release(eu)
        self.ship_all(eu, picking)
        eu.deliver(picking, walk="failure")
        self.flow.settle()
        self.assertEqual(picking.integration_delivery_state, "failure")
        (item,) = eu.desk()
        self.assertEqual(item.message_type, "carrier.delivery.failure")
        self.assertIn("address not found", item.error_message)
        self.assertFalse(sale.invoice_ids, "no invoice without a proof of delivery")
        eu.deliver(
            picking,
            walk=None,
            status="delivered",
            status_detail="arrived_at_destination",
            message="Delivered",
            signed_by="NEIGHBOUR",
        )
        self.flow.settle()
        self.assertEqual(picking.integration_delivery_state, "delivered")
        self.assertFalse(item.needs_attention)
        self.assertDeskEmpty(eu)
        self.assertEqual(sale.invoice_ids.state, "posted")

    def test_wrong_payment_reference_is_a_ranked_candidate_to_confirm(self):
        eu = self.region["EU"]
        _order, sale, picking = self.order_and_release(eu)
        self.ship_all(eu, picking)
        eu.deliver(picking, signed_by="ANN LEE")
        self.flow.settle()
        invoice = sale.invoice_ids
        line = eu.pay(invoice, reference="Payment for my mugs, thanks")
        self.flow.settle()
        self.assertFalse(line.is_reconciled)
        (item,) = eu.desk()
        self.assertEqual(item.message_type, "bank.line.unmatched")
        best = line.bank_match_candidate_ids.sorted("rank")[:1]
        self.assertEqual(best.move_id, invoice)
        self.assertEqual(best.rank, 1)
        best.action_confirm()
        self.flow.settle()
        self.assertTrue(line.is_reconciled)
        self.assertIn(invoice.payment_state, ("paid", "in_payment"))
        self.assertDeskEmpty(eu)

    def test_shopify_cancellation_before_release_sends_nothing_to_the_wms(self):
        eu = self.region["EU"]
        # more vials than in stock: not fully reserved, so not released
        order = eu.place_order([(SKU_PLAIN, 1, "8.00"), (SKU_LOT, 500, "30.00")])
        self.flow.settle()
        sale = eu.sale_of(order)
        picking = eu.open_delivery(sale)
        self.assertEqual(picking.wms_state, "waiting")
        eu.shop.cancel_order(order["id"], reason="customer")
        self.flow.settle()
        self.assertEqual(sale.state, "cancel")
        self.assertEqual(picking.state, "cancel")
        outbound = self.env["integration.message"].search(
            [("backend_id", "=", eu.wms_backend.id), ("direction", "=", "out")]
        )
        self.assertFalse(outbound, outbound.mapped("message_type"))
        self.assertFalse(eu.wms.state()["orders"])
        self.assertDeskEmpty(eu)

    def test_shopify_cancellation_after_release_is_the_two_phase_cancel(self):
        eu = self.region["EU"]
        order, sale, picking = self.order_and_release(eu)
        ref = picking.wms_order_ref or picking.name
        eu.shop.cancel_order(order["id"], reason="customer")
        self.flow.settle()
        self.assertEqual(sale.state, "cancel")
        self.assertEqual(picking.state, "cancel")
        self.assertEqual(picking.wms_state, "cancelled")
        self.assertEqual(eu.wms.order(ref)["status"], "cancelled")
        cancel = self.env["integration.message"].search(
            [
                ("backend_id", "=", eu.wms_backend.id),
                ("message_type", "=", "wms.cancel"),
            ]
        )
        self.assertEqual(cancel.state, "done", cancel.error_message)
        self.assertFalse(sale.invoice_ids)
        self.assertDeskEmpty(eu)


# Every model of the suite that holds one company's data, and how to find
# the company of a record (as superuser)
COMPANY_OF = {
    "integration.backend": "company_id",
    "integration.sync.rule": "company_id",
    "integration.message": "company_id",
    "integration.binding": "company_id",
    "integration.value.map": "company_id",
    "integration.call.log": "company_id",
    "integration.outbox": "backend_id.company_id",
    "shopify.location": "backend_id.company_id",
    "shopify.inventory.item": "backend_id.company_id",
    "shopify.inventory.level": "backend_id.company_id",
    "wms.shipment": "backend_id.company_id",
    "wms.shipment.package": "shipment_id.backend_id.company_id",
    "carrier.shipment": "backend_id.company_id",
    "carrier.tracking.event": "picking_id.company_id",
    "bank.match.candidate": "company_id",
    "sale.order": "company_id",
    "stock.picking": "company_id",
    "account.move": "company_id",
    "account.bank.statement.line": "company_id",
}


@tagged("post_install", "-at_install")
class TestTwoRegions(OrderToCashCase):
    """Two companies (regions of one distributor), each with its own four
    backends, running the flow at the same time."""

    regions = (("EU", EU_IBAN), ("US", US_IBAN))

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from odoo import Command
        from odoo.tests.common import new_test_user

        cls.users = {}
        for code, region in cls.region.items():
            cls.users[code] = new_test_user(
                cls.env,
                login=f"ops_{code.lower()}",
                groups="integration_core.group_integration_manager,"
                "sales_team.group_sale_salesman_all_leads,stock.group_stock_user,"
                "account.group_account_invoice",
                company_id=region.company.id,
                company_ids=[Command.set(region.company.ids)],
            )

    def run_flow(self, regions, wrong_reference=()):
        """The whole flow in every region at once; returns {code: sale}."""
        orders = {code: region.place_order() for code, region in regions.items()}
        self.flow.settle()
        sales = {code: regions[code].sale_of(order) for code, order in orders.items()}
        pickings = {}
        for code, region in regions.items():
            self.assertEqual(sales[code].state, "sale", code)
            self.assertEqual(sales[code].company_id, region.company)
            pickings[code] = region.open_delivery(sales[code])
            self.assertIn(pickings[code].wms_state, ("released", "acknowledged"))
        for code, region in regions.items():
            self.ship_all(region, pickings[code], f"PKG-{code}")
        for code, region in regions.items():
            region.deliver(pickings[code], signed_by=f"SIGNED {code}")
        self.flow.settle()
        for code, region in regions.items():
            invoice = sales[code].invoice_ids
            self.assertEqual(invoice.state, "posted", code)
            self.assertEqual(invoice.company_id, region.company)
            region.pay(
                invoice, reference="no reference" if code in wrong_reference else None
            )
        self.flow.settle()
        return orders, sales

    ship_all = TestOrderToCash.ship_all

    def test_the_same_flow_in_two_companies_each_sees_only_its_own(self):
        eu, us = self.region["EU"], self.region["US"]
        orders, sales = self.run_flow(self.region, wrong_reference=("US",))
        self.assertIn(sales["EU"].invoice_ids.payment_state, ("paid", "in_payment"))
        self.assertDeskEmpty(eu)
        # the US payment's reference was wrong: one bank line on the US desk
        (us_item,) = us.desk()
        self.assertEqual(us_item.message_type, "bank.line.unmatched")
        self.assertEqual(us_item.company_id, us.company)
        # one more order each, left unreleased (more vials than in stock):
        # the EU one once, the US one twice
        eu.place_order([(SKU_LOT, 500, "30.00")], email="eve@example.com")
        for _n in range(2):
            us.place_order([(SKU_LOT, 500, "30.00")], email="uma@example.com")
        self.flow.settle()
        for code in self.region:
            other = (set(self.region) - {code}).pop()
            self.assertNothingOf(self.users[code], self.region[other].company)
        # each company's overview counts only its own
        self.assertOverview("EU", exceptions=0, unreleased=1, unmatched=0)
        self.assertOverview("US", exceptions=1, unreleased=2, unmatched=1)

    def assertNothingOf(self, user, company):
        """``user`` finds nothing of ``company`` in any model of the suite,
        nor reads it by id, while that company has some of it."""
        leaks = []
        for model, path in COMPANY_OF.items():
            Model = self.env[model].with_user(user).with_company(user.company_id)
            if not Model.check_access_rights("read", raise_exception=False):
                continue
            mine = Model.search([])
            theirs = (
                self.env[model]
                .search([])
                .filtered(lambda r, p=path: r.mapped(p) == company)
            )
            seen = mine.sudo().filtered(lambda r, p=path: r.mapped(p) == company)
            if seen:
                leaks.append(f"{model}: {len(seen)} of {company.name} listed")
            readable = theirs.with_user(user)
            try:
                readable.read(["display_name"])
            except Exception:  # noqa: BLE001 - AccessError is the right answer
                continue
            if theirs:
                leaks.append(f"{model}: {len(theirs)} of {company.name} readable")
        self.assertEqual(leaks, [], "\n".join(leaks))

    def assertOverview(self, code, exceptions, unreleased, unmatched):
        region = self.region[code]
        user = self.users[code]
        backends = self.env["integration.backend"].with_user(user).search([])
        self.assertEqual(backends, region.backends.with_user(user))
        self.assertEqual(sum(backends.mapped("count_exceptions")), exceptions)
        # thresholds at 0: the orders of this test are minutes old
        backends.sudo().write(
            {"wms_signal_release_hours": 0, "carrier_signal_delivery_days": 0}
        )
        signals = {}
        for backend in backends:
            for row in backend.with_user(user)._business_signal_rows():
                signals[row["key"]] = signals.get(row["key"], 0) + row["count"]
        self.assertEqual(signals.get("not_released"), unreleased, signals)
        self.assertEqual(signals.get("unmatched_lines"), unmatched, signals)
        self.assertEqual(signals.get("not_delivered"), 0, signals)
