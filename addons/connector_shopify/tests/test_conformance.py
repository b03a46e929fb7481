"""Conformance: every order-shaped payload of the shared real Shopify samples
maps to an order whose total is the payload's, or to a named exception.

The samples are not ours and are not copied into the repository: the test
reads them from ``$INTEGRATION_CONFORMANCE_DIR/shopify`` (default:
``<repository>/../shared/conformance/shopify``) and is skipped without them.
"""

import json
import os
from decimal import Decimal
from pathlib import Path

from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import REPO, trapped_jobs

from ..tools.money import shop_amount
from .common import ShopifyCase

CONFORMANCE = (
    Path(
        os.environ.get("INTEGRATION_CONFORMANCE_DIR")
        or REPO.parent / "shared/conformance"
    )
    / "shopify"
)

# Payloads that cannot make an order equal to their total, and why: the
# message must end with exactly this kind of problem.
EXPECTED_EXCEPTIONS = {
    # GET orders.json?fields=created_at,id,name,total_price: no lines at all
    "order__test_3__GET__orders_json_fields_created_at_2Cid_2Cname_2Ctotal_price"
    ".json": (
        "validation",
        "The order has no date of last change.",
    ),
    # GET orders/450789469.json?fields=id,line_items,name,total_price: no updated_at
    "order__test_7__GET__orders_450789469_json_fields_id_2Cline_items_2Cname_2C"
    "total_price.json": (
        "validation",
        "The order has no date of last change.",
    ),
    # python_api fixtures (older API shape): order-level tax 11.94 without any
    # tax line, and a total_price (409.94) its own lines do not make
    "order.json": ("business", "total_price says 409.94"),
    # python_api orders.json: a summary without line items
    "orders.json": ("validation", "The order has no lines."),
}
# Shopify's documentation order #1001 (id 450789469, in most REST examples)
# charges 3.98 of "State Tax" at rate 0.06 on lines of 195.66: its tax
# amounts are not its rates, so no Odoo tax of 6% can make its total.
EXPECTED_BY_ORDER_ID = {
    450789469: ("business", "tax amounts are not its rates applied to the lines"),
}


def order_payloads():
    """``[(file name, order dict)]`` of every order-shaped payload."""
    found = []
    for path in sorted(CONFORMANCE.rglob("*.json")):
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("order"), dict):
            orders = [data["order"]]
        elif isinstance(data.get("orders"), list):
            orders = [o for o in data["orders"] if isinstance(o, dict)]
        elif "line_items" in data and "total_price" in data:
            orders = [data]  # a webhook body
        else:
            orders = []
        found += [(path.name, order) for order in orders]
    return found


@tagged("post_install", "-at_install")
class TestConformance(ShopifyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not CONFORMANCE.is_dir():
            cls.skipTest(cls, f"no conformance samples at {CONFORMANCE}")

    def setUp(self):  # no sandbox needed
        super(ShopifyCase, self).setUp()

    def prepare(self, order):
        """Products for the payload's SKUs, sales taxes for its rates, its
        currency active: what a configured database would have."""
        env = self.env
        included = bool(order.get("taxes_included"))
        for line in order.get("line_items") or []:
            sku = (line.get("sku") or "").strip()
            if sku and not env["product.product"].search([("default_code", "=", sku)]):
                env["product.product"].create(
                    {
                        "name": line.get("name") or sku,
                        "default_code": sku,
                        "type": "product",
                    }
                )
        for part in (order.get("line_items") or []) + (
            order.get("shipping_lines") or []
        ):
            for tax in part.get("tax_lines") or []:
                percent = float(Decimal(str(tax["rate"])) * 100)
                if not env["account.tax"].search(
                    [
                        ("type_tax_use", "=", "sale"),
                        ("amount", "=", percent),
                        ("price_include", "=", included),
                        ("company_id", "=", env.company.id),
                    ]
                ):
                    self._sale_tax(percent, included)
        currency = (
            env["res.currency"]
            .with_context(active_test=False)
            .search([("name", "=", order.get("currency") or "USD")])
        )
        currency.active = True

    def run_payload(self, name, order, index):
        backend = self.backend.copy({"name": f"Conformance {index}"})
        self.prepare(order)
        with trapped_jobs() as trap:
            message, _created = self.intake_order(
                order, "orders/create", backend=backend
            )
            self.perform_jobs(trap)
        message.invalidate_recordset()
        return message, self.env["integration.binding"]._find(
            backend, "sale.order", order.get("id")
        )

    def test_every_order_sample_maps_to_its_total_or_a_named_exception(self):
        payloads = order_payloads()
        self.assertGreaterEqual(len(payloads), 20)
        for index, (name, order) in enumerate(payloads):
            with self.subTest(sample=name, order=order.get("name")):
                message, sale = self.run_payload(name, order, index)
                expected = EXPECTED_EXCEPTIONS.get(name) or EXPECTED_BY_ORDER_ID.get(
                    order.get("id")
                )
                if expected:
                    category, text = expected
                    problem = message.error_message or message.business_exception
                    if category == "business":
                        self.assertEqual(message.state, "done")
                        self.assertIn(text, message.business_exception or "")
                    else:
                        self.assertEqual(message.error_category, category)
                        self.assertIn(text, problem or "")
                    continue
                self.assertEqual(message.state, "done", message.error_message)
                self.assertTrue(sale)
                total = shop_amount(order, "total_price")
                self.assertEqual(
                    f"{sale.amount_total:.2f}",
                    f"{total:.2f}",
                    message.business_exception,
                )
                self.assertNotIn(
                    "differs from Shopify", message.business_exception or ""
                )
                self.assertEqual(sale.client_order_ref, order["name"])
                if order.get("cancelled_at"):
                    self.assertEqual(sale.state, "cancel")
