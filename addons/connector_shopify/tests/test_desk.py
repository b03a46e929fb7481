"""A Shopify order on the exception desk, as an operations clerk with the desk
group only (no Sales rights): named and summarised as a business item, fixed
from the item in two clicks, and the confirmed order seen from it."""

from datetime import datetime, timezone

from odoo.exceptions import AccessError
from odoo.tests import Form, new_test_user, tagged

from odoo.addons.integration_core.tests.common import trapped_jobs

from ..tools.summary import line_suggestion, order_summary, order_title, readable_time
from .common import ShopifyCase, ShopifyHttpCase, order_spec, specs

UNKNOWN_SKU = "HOODIE-GREY-M"


def unknown_sku_order(shop):
    return shop.create_order(
        specs.order_spec(
            specs.customer("ann@example.com", "Ann", "Lee"),
            [(UNKNOWN_SKU, 1, "39.00"), ("MUG-WHITE", 2, "8.00")],
        )
    )


class ClerkMixin:
    @classmethod
    def setup_clerk(cls):
        cls.clerk = new_test_user(
            cls.env,
            login="shop_clerk",
            password="shop_clerk_pw",
            name="Chris Clerk",
            groups="base.group_user,integration_core.group_integration_user",
        )
        cls.hoodie = cls.env["product.product"].create(
            {
                "name": "Hoodie grey M",
                "default_code": "HD-GREY-M",
                "type": "product",
                "list_price": 39.0,
                "invoice_policy": "order",
            }
        )

    def import_order(self, order):
        with trapped_jobs() as trap:
            message, _created = self.intake_order(order)
            self.perform_jobs(trap)
        message.invalidate_recordset()
        return message


def test_order_summary_marks_the_offending_line():
    body = {
        "id": 1,
        "name": "#1003",
        "currency": "USD",
        "total_price": "62.00",
        "financial_status": "paid",
        "customer": {"first_name": "Ann", "last_name": "Lee", "email": "a@x"},
        "line_items": [
            {
                "sku": "HOODIE-GREY-M",
                "title": "Hoodie",
                "quantity": 1,
                "price": "39.00",
            },
            {"sku": "MUG-WHITE", "title": "Mug", "quantity": 2, "price": "8.00"},
        ],
    }
    summary = order_summary(body, "HOODIE-GREY-M")
    assert order_title(body) == "Shopify order #1003"
    assert readable_time("2026-12-01T15:00:45+01:00") == "2026-12-01 15:00 (UTC+01:00)"
    assert ("Customer", "Ann Lee - a@x") in summary["fields"]
    assert ("Total", "62.00 USD") in summary["fields"]
    assert summary["lines"]["marked"] == [0]
    assert line_suggestion(body, "HOODIE-GREY-M") == {
        "name": "Hoodie",
        "reference": "HOODIE-GREY-M",
        "price": 39.0,
    }
    assert order_summary("not an order") is None
    assert order_summary({"line_items": "x"})["lines"]["rows"] == []


@tagged("post_install", "-at_install")
class TestShopifyDesk(ClerkMixin, ShopifyCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_clerk()

    def test_item_reads_as_a_business_item(self):
        order = unknown_sku_order(self.shop)
        message = self.import_order(order)
        self.assertEqual(message.state, "failed")
        self.assertEqual(message.name, f"Shopify order {order['name']}")
        self.assertNotIn("Mapping:", message.error_message)
        self.assertIn(f"SKU '{UNKNOWN_SKU}' is not mapped", message.error_message)
        as_clerk = message.with_user(self.clerk)
        html = str(as_clerk.summary_html)
        self.assertIn("Ann Lee", html)
        self.assertIn(order["total_price"], html)
        self.assertIn("table-danger", html.split(UNKNOWN_SKU)[0][-200:])
        self.assertIn("Map and retry", as_clerk.next_step)

    def test_clerk_fixes_the_unknown_sku_in_two_clicks(self):
        order = unknown_sku_order(self.shop)
        message = self.import_order(order).with_user(self.clerk)
        # click 1: "Map and retry" on the item
        action = message.action_create_mapping()
        wizard = Form(
            self.env[action["res_model"]]
            .with_user(self.clerk)
            .with_context(**action["context"])
        )
        # the product is chosen directly, prefilled from the line's title
        self.assertEqual(wizard.target_field, "product_id")
        self.assertEqual(wizard.product_id, self.hoodie)
        self.assertEqual(wizard.new_reference, UNKNOWN_SKU)
        self.assertEqual(wizard.new_price, 39.0)
        # the clerk may not create products: said, with who can
        self.assertFalse(wizard.can_create)
        self.assertIn("not allowed to create a new product", wizard.rights_note)
        # click 2: "Map and retry" in the wizard
        result = wizard.save().action_confirm()
        self.assertEqual(result["params"]["type"], "success", result)
        self.assertEqual(message.state, "done")
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "sale")
        # the clerk cannot open the order, but sees it is confirmed
        with self.assertRaises(AccessError):
            sale.with_user(self.clerk).read(["name"])
        message.invalidate_recordset()
        self.assertEqual(message.res_name, sale.name)
        self.assertIn(f"{sale.name} (Sales Order)", str(message.summary_html))
        self.assertIn(sale.name, result["params"]["message"])
        self.assertIn(f"'{UNKNOWN_SKU}' mapped to", message.message_ids[0].body)

    def test_a_manager_with_product_rights_creates_it_prefilled(self):
        order = unknown_sku_order(self.shop)
        message = self.import_order(order)
        self.hoodie.active = False
        boss = new_test_user(
            self.env,
            login="sales_boss",
            groups="integration_core.group_integration_user,sales_team.group_sale_manager",
        )
        wizard = Form(
            self.env["integration.value.map.create"]
            .with_user(boss)
            .with_context(default_message_id=message.id)
        )
        self.assertTrue(wizard.can_create)
        self.assertFalse(wizard.product_id)
        self.assertEqual(wizard.new_name, order["line_items"][0]["title"])
        wizard.save().action_create_and_retry()
        product = self.env["product.product"].search(
            [("default_code", "=", UNKNOWN_SKU)]
        )
        self.assertEqual(product.list_price, 39.0)
        self.assertEqual(message.state, "done")
        self.assertIn("created", message.message_ids[0].body)

    def test_inactive_currency_offers_activation(self):
        eur = self.env.ref("base.EUR")
        eur.active = False
        order = self.shop.create_order(order_spec())
        message = self.import_order(order)
        self.assertEqual(message.mapping_kind, "currency")
        self.assertIn("currency EUR is not active", message.error_message)
        wizard = (
            self.env["integration.value.map.create"]
            .with_user(self.env.ref("base.user_admin"))
            .create({"message_id": message.id})
        )
        self.assertEqual(wizard.inactive_record_name, "EUR")
        wizard.action_activate_and_retry()
        self.assertTrue(eur.active)
        self.assertEqual(message.state, "done", message.error_message)

    def test_order_date_is_the_shopify_date(self):
        order = self.shop.create_order(order_spec())
        message = self.import_order(order)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "sale", message.error_message)
        created = datetime.fromisoformat(
            order.get("processed_at") or order["created_at"]
        )
        self.assertEqual(
            sale.date_order, created.astimezone(timezone.utc).replace(tzinfo=None)
        )


@tagged("post_install", "-at_install")
class TestShopifyDeskBrowser(ClerkMixin, ShopifyHttpCase):
    """The lists and the form as the browser loads them for the clerk, once an
    item points at a sale order the clerk cannot read."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.setup_clerk()

    def test_clerk_lists_and_fixes_from_the_browser(self):
        order = unknown_sku_order(self.shop)
        message = self.import_order(order)
        self.authenticate("shop_clerk", "shop_clerk_pw")
        spec = {
            "name": {},
            "res_name": {},
            "error_message": {},
            "age_display": {},
            "state": {},
        }

        def rows():
            return self.make_jsonrpc_request(
                "/web/dataset/call_kw/integration.message/web_search_read",
                {
                    "model": "integration.message",
                    "method": "web_search_read",
                    "args": [],
                    "kwargs": {
                        "domain": [("id", "=", message.id)],
                        "specification": spec,
                    },
                },
            )["records"]

        self.assertEqual(rows()[0]["state"], "failed")
        # the Overview's cards, business signals included (counts of orders
        # the clerk cannot read)
        cards = self.make_jsonrpc_request(
            "/web/dataset/call_kw/integration.backend/web_search_read",
            {
                "model": "integration.backend",
                "method": "web_search_read",
                "args": [],
                "kwargs": {
                    "domain": [("id", "=", self.backend.id)],
                    "specification": {
                        "health": {},
                        "count_exceptions": {},
                        "business_signals": {},
                        "throughput_chart": {},
                        "oldest_exception_age": {},
                    },
                },
            },
        )["records"]
        self.assertEqual(cards[0]["health"], "attention")
        self.assertEqual(cards[0]["count_exceptions"], 1)
        # the clerk's two clicks, as the web client sends them
        action = self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {
                "model": "integration.message",
                "method": "action_create_mapping",
                "args": [[message.id]],
                "kwargs": {},
            },
        )
        saved = self.make_jsonrpc_request(
            "/web/dataset/call_kw/integration.value.map.create/web_save",
            {
                "model": "integration.value.map.create",
                "method": "web_save",
                "args": [[], {"product_id": self.hoodie.id, "retry_similar": True}],
                "kwargs": {"context": action["context"], "specification": {}},
            },
        )
        result = self.make_jsonrpc_request(
            "/web/dataset/call_button",
            {
                "model": "integration.value.map.create",
                "method": "action_confirm",
                "args": [[saved[0]["id"]]],
                "kwargs": {"context": action["context"]},
            },
        )
        self.assertEqual(result["params"]["type"], "success", result)
        sale = self.sale_of(order)
        self.assertEqual(sale.state, "sale")
        # the Messages and Exceptions lists load with the order's name
        row = rows()[0]
        self.assertEqual(row["state"], "done")
        self.assertEqual(row["res_name"], sale.name)

    def test_tour_clerk_fixes_the_order_in_two_clicks(self):
        """In the browser: open the item, Map and retry, Map and retry; the
        form shows the done item and the confirmed order."""
        new_test_user(
            self.env,
            login="tour_clerk",
            groups="base.group_user,integration_core.group_integration_user",
        )
        order = unknown_sku_order(self.shop)
        self.import_order(order)
        self.start_tour(
            "/web#action=integration_core.action_integration_exceptions",
            "connector_shopify_desk_clerk",
            login="tour_clerk",
            timeout=120,
        )
        self.assertEqual(self.sale_of(order).state, "sale")
