"""Orders in: webhook and polling paths, deduplication, out-of-order
versions, customers, lines, taxes, discounts, shipping and totals."""

import json
from copy import deepcopy
from datetime import datetime, timedelta

from odoo.tests import tagged

from odoo.addons.integration_core.tests.common import trapped_jobs

from .common import ShopifyCase, ShopifyHttpCase, order_spec


def bumped(order, seconds=60, **changes):
    """A later version of an order body."""
    newer = deepcopy(order)
    moment = datetime.fromisoformat(order["updated_at"]) + timedelta(seconds=seconds)
    newer["updated_at"] = moment.isoformat()
    newer.update(changes)
    return newer


@tagged("post_install", "-at_install")
class TestOrderImport(ShopifyCase):
    def import_order(self, order, topic="orders/create"):
        with trapped_jobs() as trap:
            message, _created = self.intake_order(order, topic)
            self.perform_jobs(trap)
        message.invalidate_recordset()
        return message

    def test_order_maps_exactly_and_is_confirmed(self):
        order = self.shop.create_order(order_spec())
        message = self.import_order(order)
        self.assertEqual(message.state, "done", message.error_message)
        self.assertFalse(message.business_exception)
        # named as people know the order, not by its numeric id
        self.assertTrue(message.name.endswith(order["name"]), message.name)
        sale = self.sale_of(order)
        self.assertEqual(message.res_id, sale.id)
        self.assertEqual(sale.state, "sale")
        self.assertEqual(sale.client_order_ref, order["name"])
        self.assertEqual(sale.currency_id.name, "EUR")
        self.assertEqual(f"{sale.amount_total:.2f}", order["total_price"])
        self.assertEqual(f"{sale.amount_tax:.2f}", order["total_tax"])
        self.assertEqual(sale.warehouse_id, self.warehouse)
        shirt, mug, shipping = sale.order_line.sorted("sequence")
        self.assertEqual(shirt.product_id, self.products["TSHIRT-RED-XL"])
        self.assertEqual(shirt.product_uom_qty, 2)
        self.assertEqual(shirt.tax_id, self.tax_21)
        self.assertTrue(shirt.discount)  # the order discount, as a percentage
        shopify_shirt = order["line_items"][0]
        self.assertEqual(shirt.shopify_line_id, str(shopify_shirt["id"]))
        net = 2 * 19.99 - float(shopify_shirt["discount_allocations"][0]["amount"])
        self.assertAlmostEqual(shirt.price_subtotal, net, places=2)
        self.assertEqual(mug.product_id, self.products["MUG-WHITE"])
        self.assertTrue(shipping.is_delivery)
        self.assertEqual(shipping.price_unit, 4.95)
        self.assertEqual(shipping.product_id, self.backend.shopify_shipping_product_id)
        # customer and addresses
        partner = sale.partner_id
        self.assertEqual(partner.email, "ann@example.com")
        self.assertEqual(partner.name, "Ann Lee")
        self.assertEqual(sale.partner_invoice_id.parent_id, partner)
        self.assertEqual(sale.partner_invoice_id.type, "invoice")
        self.assertEqual(sale.partner_shipping_id.parent_id, partner)
        self.assertEqual(sale.partner_shipping_id.type, "delivery")
        self.assertEqual(sale.partner_shipping_id.city, "Gent")
        self.assertEqual(sale.partner_shipping_id.country_id, self.env.ref("base.be"))
        # binding with the applied version; the smart button finds the message
        binding = self.env["integration.binding"]._binding_of(self.backend, sale)
        self.assertEqual(binding.external_id, str(order["id"]))
        self.assertTrue(binding.external_updated_at)
        self.assertEqual(
            sale.integration_correlation_id, f"shopify-order-{order['id']}"
        )
        self.assertEqual(sale.integration_message_count, 1)
        self.assertTrue(sale.picking_ids)
        # its delivery carries the order's correlation id (what it sends too)
        self.assertEqual(
            sale.picking_ids.integration_correlation_id,
            sale.integration_correlation_id,
        )

    def test_returning_customer_is_never_a_second_partner(self):
        first = self.shop.create_order(order_spec())
        second = self.shop.create_order(
            order_spec(
                shipping_address={
                    "first_name": "Ann",
                    "last_name": "Lee",
                    "address1": "Veldstraat 2",
                    "city": "Gent",
                    "zip": "9000",
                    "country_code": "BE",
                }
            )
        )
        self.import_order(first)
        self.import_order(second)
        sale_1, sale_2 = self.sale_of(first), self.sale_of(second)
        self.assertEqual(sale_1.partner_id, sale_2.partner_id)
        self.assertEqual(sale_1.partner_invoice_id, sale_2.partner_invoice_id)
        self.assertNotEqual(sale_1.partner_shipping_id, sale_2.partner_shipping_id)
        self.assertEqual(
            self.env["res.partner"].search_count(
                [("email", "=ilike", "ann@example.com"), ("parent_id", "=", False)]
            ),
            1,
        )
        # an existing Odoo partner with that email is found, not duplicated
        existing = self.env["res.partner"].create(
            {"name": "Bob (Odoo)", "email": "BOB@example.com"}
        )
        third = self.shop.create_order(
            order_spec(customer={"email": "bob@example.com", "first_name": "Bob"})
        )
        self.import_order(third)
        self.assertEqual(self.sale_of(third).partner_id, existing)
        binding = self.env["integration.binding"]._binding_of(self.backend, existing)
        self.assertEqual(binding.external_id, str(third["customer"]["id"]))

    def test_unknown_sku_is_a_mapping_exception_and_nothing_is_made(self):
        spec = order_spec()
        spec["lines"].append(
            {"sku": "SOCKS-XL", "quantity": 1, "price": "5.00", "tax_rate": "0.21"}
        )
        order = self.shop.create_order(spec)
        partners = self.env["res.partner"].search_count([])
        message = self.import_order(order)
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.error_category, "mapping")
        self.assertEqual(
            message.error_message,
            f"Shopify order {order['name']}: SKU 'SOCKS-XL' is not mapped to a product",
        )
        self.assertEqual(
            (message.mapping_kind, message.mapping_code), ("product", "SOCKS-XL")
        )
        self.assertFalse(self.sale_of(order))
        self.assertFalse(
            self.env["sale.order"].search([("client_order_ref", "=", order["name"])])
        )
        self.assertEqual(self.env["res.partner"].search_count([]), partners)
        # map the SKU (value map), retry: the order is made
        self.map_value("product", "SOCKS-XL", self.products["CAP-BLUE"])
        with trapped_jobs() as trap:
            message.action_retry()
            self.perform_jobs(trap)
        self.assertEqual(message.state, "done")
        sale = self.sale_of(order)
        self.assertIn(self.products["CAP-BLUE"], sale.order_line.product_id)
        self.assertEqual(f"{sale.amount_total:.2f}", order["total_price"])

    def test_update_before_create_makes_one_order(self):
        order = self.shop.create_order(order_spec(financial_status="pending"))
        newer = bumped(order, financial_status="paid", note="Leave at the door")
        update = self.import_order(newer, "orders/updated")
        self.assertEqual(update.state, "done", update.error_message)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "sale")  # the newer version says paid
        create = self.import_order(order, "orders/create")
        self.assertEqual(create.state, "ignored")
        self.assertIn("older", create.ignore_reason)
        self.assertEqual(
            self.env["sale.order"].search_count(
                [("client_order_ref", "=", order["name"])]
            ),
            1,
        )
        self.assertEqual(sale.shopify_financial_status, "paid")

    def test_same_version_by_another_topic_is_applied_once(self):
        order = self.shop.create_order(order_spec())
        self.import_order(order, "orders/create")
        again = self.import_order(order, "orders/updated")
        self.assertEqual(again.state, "ignored")
        self.assertIn("already applied", again.ignore_reason)

    def test_payment_confirms_a_pending_quotation(self):
        order = self.shop.create_order(order_spec(financial_status="pending"))
        self.import_order(order)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "draft")
        paid = self.shop.update_order(order["id"], financial_status="paid")
        self.import_order(paid, "orders/updated")
        self.assertEqual(sale.state, "sale")
        # authorized confirms by default; "paid" policy waits
        self.backend.shopify_confirm_policy = "paid"
        authorized = self.shop.create_order(order_spec(financial_status="authorized"))
        self.import_order(authorized)
        self.assertEqual(self.sale_of(authorized).state, "draft")

    def test_total_difference_keeps_a_quotation_and_says_why(self):
        wrong = self._sale_tax(20.0)
        self.map_value("tax", "VAT 21%", wrong)
        order = self.shop.create_order(order_spec())
        message = self.import_order(order)
        self.assertEqual(message.state, "done")
        self.assertTrue(message.needs_attention)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "draft")
        difference = sale.amount_total - float(order["total_price"])
        self.assertIn(f"by {difference:.2f}", message.business_exception)
        self.assertIn("taxes differ", message.business_exception)
        self.assertIn("stays a quotation", message.business_exception)

    def test_unknown_tax_rate_is_a_mapping_exception(self):
        order = self.shop.create_order(
            order_spec(
                lines=[
                    {
                        "sku": "MUG-WHITE",
                        "quantity": 1,
                        "price": "8.00",
                        "taxes": [{"title": "Eco tax", "rate": "0.035"}],
                    }
                ]
            )
        )
        message = self.import_order(order)
        self.assertEqual(message.error_category, "mapping")
        self.assertEqual(message.mapping_code, "Eco tax 3.5%")
        self.assertIn("has no Odoo sales tax", message.error_message)

    def test_taxes_included_prices(self):
        included = self._sale_tax(21.0, included=True)
        order = self.shop.create_order(order_spec(taxes_included=True))
        message = self.import_order(order)
        self.assertFalse(message.business_exception, message.business_exception)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "sale")
        self.assertEqual(sale.order_line[0].tax_id, included)
        self.assertEqual(f"{sale.amount_total:.2f}", order["total_price"])

    def test_large_discount_becomes_a_discount_line_and_stays_exact(self):
        order = self.shop.create_order(
            order_spec(
                lines=[
                    {
                        "sku": "TSHIRT-RED-XL",
                        "quantity": 3,
                        "price": "699.95",
                        "tax_rate": "0.21",
                        "discount": "113.50",
                    },
                    {
                        "sku": "MUG-WHITE",
                        "quantity": 1,
                        "price": "8.00",
                        "tax_rate": "0.21",
                    },
                ],
                discount={"code": "BIG", "type": "fixed_amount", "value": "209.97"},
            )
        )
        message = self.import_order(order)
        sale = self.sale_of(order)
        self.assertEqual(
            f"{sale.amount_untaxed:.2f}", f"{float(order['subtotal_price']) + 4.95:.2f}"
        )
        if message.business_exception:
            # only a per-line tax rounding of a discount line may differ
            self.assertIn("taxes differ", message.business_exception)
        else:
            self.assertEqual(f"{sale.amount_total:.2f}", order["total_price"])

    def test_custom_line_and_guest_checkout(self):
        order = self.shop.create_order(
            order_spec(
                customer=None,
                email=None,
                billing_address={
                    "first_name": "Guest",
                    "last_name": "Buyer",
                    "address1": "Markt 1",
                    "city": "Brugge",
                    "zip": "8000",
                    "country_code": "BE",
                },
                lines=[
                    {"sku": "MUG-WHITE", "quantity": 1, "price": "8.00"},
                    {"title": "Gift wrap", "price": "2.00", "taxable": False},
                ],
                discount=None,
                shipping=None,
            )
        )
        message = self.import_order(order)
        self.assertEqual(message.state, "done", message.error_message)
        sale = self.sale_of(order)
        self.assertEqual(sale.partner_id.name, "Guest Buyer")
        wrap = sale.order_line.filtered(lambda line: line.name == "Gift wrap")
        self.assertEqual(wrap.product_id, self.backend.shopify_custom_product_id)
        self.assertEqual(f"{sale.amount_total:.2f}", order["total_price"])

    def test_carrier_value_map_sets_the_delivery_carrier(self):
        carrier = self.env["delivery.carrier"].create(
            {
                "name": "Bpost",
                "product_id": self.env["product.product"]
                .create({"name": "Bpost shipping", "type": "service"})
                .id,
            }
        )
        self.map_value("carrier_service", "STD", carrier)
        order = self.shop.create_order(order_spec())
        self.import_order(order)
        sale = self.sale_of(order)
        self.assertEqual(sale.carrier_id, carrier)
        delivery = sale.order_line.filtered("is_delivery")
        self.assertEqual(delivery.product_id, carrier.product_id)

    def test_flow_off_skips_orders(self):
        self.backend._sync_rule("sale_order").direction = "off"
        order = self.shop.create_order(order_spec())
        message = self.import_order(order)
        self.assertEqual(message.state, "ignored")
        self.assertFalse(self.sale_of(order))


@tagged("post_install", "-at_install")
class TestOrderPolling(ShopifyCase):
    def test_polling_queues_only_what_webhooks_missed(self):
        orders = [self.shop.create_order(order_spec()) for _i in range(3)]
        # the first order came by webhook and was applied
        with trapped_jobs() as trap:
            self.intake_order(orders[0])
            self.perform_jobs(trap)
        rule = self.backend._sync_rule("sale_order")
        rule.cursor = False
        with trapped_jobs() as trap:
            queued = self.backend._poll(rule)
            self.assertEqual(queued, 2)
            self.perform_jobs(trap)
        for order in orders:
            self.assertEqual(self.sale_of(order).state, "sale")
        polled = self.messages(message_type="orders/updated")
        self.assertEqual(len(polled), 2)
        self.assertEqual(set(polled.mapped("state")), {"done"})
        self.assertEqual(
            set(polled.mapped("idempotency_key")),
            {
                self.messages(external_id=str(o["id"]))[:1].idempotency_key
                for o in orders[1:]
            },
        )
        self.assertTrue(rule.cursor.endswith("Z"))
        # a webhook of a version polling already brought is a duplicate
        with trapped_jobs():
            _message, created = self.intake_order(orders[1], "orders/updated")
        self.assertFalse(created)
        # nothing new: the next run queues nothing
        with trapped_jobs():
            self.assertEqual(self.backend._poll(rule), 0)
        # an update after the watermark is picked up
        self.shop.update_order(orders[2]["id"], note="gift")
        with trapped_jobs() as trap:
            self.assertEqual(self.backend._poll(rule), 1)
            self.perform_jobs(trap)

    def test_polling_sees_a_change_within_the_same_second(self):
        order = self.shop.create_order(order_spec(financial_status="pending"))
        with trapped_jobs() as trap:
            self.intake_order(order)
            self.perform_jobs(trap)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "draft")
        # paid in the very second of the version Odoo applied
        self.shop.update_order(
            order["id"], financial_status="paid", updated_at=order["updated_at"]
        )
        rule = self.backend._sync_rule("sale_order")
        with trapped_jobs() as trap:
            self.assertEqual(self.backend._poll(rule), 1)
            self.perform_jobs(trap)
        self.assertEqual(sale.state, "sale")
        polled = self.messages(message_type="orders/updated")
        self.assertTrue(polled.idempotency_key.startswith(f"order:{order['id']}:"))
        self.assertEqual(polled.idempotency_key.count(":"), 5)  # with a digest
        with trapped_jobs():
            self.assertEqual(self.backend._poll(rule), 0)

    def test_polling_follows_link_pages(self):
        self.shop.create_orders(7, order_spec())
        rule = self.backend._sync_rule("sale_order")
        with trapped_jobs():
            with self.patch_page_size(3):
                queued = self.backend._poll(rule)
        self.assertEqual(queued, 7)
        pages = self.sandbox.requests_log(category="rest")["requests"]
        self.assertGreaterEqual(
            len([p for p in pages if "orders.json" in p["path"]]), 3
        )

    def patch_page_size(self, size):
        from unittest.mock import patch  # noqa: PLC0415

        from ..models import integration_backend  # noqa: PLC0415

        return patch.object(integration_backend, "POLL_PAGE_SIZE", size)


@tagged("post_install", "-at_install")
class TestOrderWebhooksEndToEnd(ShopifyHttpCase):
    def test_sandbox_orders_through_webhooks_with_duplicates(self):
        self.subscribe_all()
        self.sandbox.add_fault(
            system="shopify", match="webhook", kind="duplicate_delivery", count=2
        )
        with trapped_jobs() as trap:
            first = self.shop.create_order(order_spec())
            second = self.shop.create_order(order_spec())
            self.sandbox.drain(timeout=30)
            self.perform_jobs(trap)
        for order in (first, second):
            sale = self.sale_of(order)
            self.assertEqual(sale.state, "sale")
            self.assertEqual(f"{sale.amount_total:.2f}", order["total_price"])
        messages = self.messages(message_type="orders/create")
        self.assertEqual(len(messages), 2)
        self.assertEqual(sum(messages.mapped("duplicate_count")), 2)
        payload = json.loads(messages[0].payload)
        self.assertIn("line_items", payload)
