"""Control API for the Shopify sandbox (``/_control/shopify/...``), a mixin.

No auth. Creates/configures shops, seeds catalog and stock, creates and
changes orders (firing the webhooks Shopify would fire) and reads back what
a connector pushed (inventory changes, fulfillments).
"""

import time

from ..core.util import ApiError, json_response, read_json
from .orders import OrderSpecError
from .state import ShopError
from .webhooks import TOPIC_ENUMS, topic_to_rest


def _spec_error(exc):
    return ApiError(422, {"error": str(exc)})


class ShopifyControlMixin:
    def shopify_control_routes(self):
        s = "/shops/<shop>"
        return [
            ("/shops", "ctl_shops", ["GET", "POST"]),
            (s, "ctl_shop", ["GET", "PATCH", "PUT"]),
            (f"{s}/tokens", "ctl_tokens", ["GET"]),
            (f"{s}/tokens/expire", "ctl_tokens_expire", ["POST"]),
            (f"{s}/locations", "ctl_locations", ["GET", "POST"]),
            (f"{s}/products", "ctl_products", ["GET", "POST"]),
            (f"{s}/inventory", "ctl_inventory", ["GET", "POST", "PUT"]),
            (f"{s}/inventory/changes", "ctl_inventory_changes", ["GET", "DELETE"]),
            (f"{s}/orders", "ctl_orders", ["GET", "POST"]),
            (f"{s}/orders/bulk", "ctl_orders_bulk", ["POST"]),
            (f"{s}/orders/<int:order_id>", "ctl_order", ["GET", "PATCH", "PUT"]),
            (f"{s}/orders/<int:order_id>/cancel", "ctl_order_cancel", ["POST"]),
            (
                f"{s}/orders/<int:order_id>/refunds",
                "ctl_order_refunds",
                ["GET", "POST"],
            ),
            (
                f"{s}/orders/<int:order_id>/fulfillment_orders",
                "ctl_order_fulfillment_orders",
                ["GET"],
            ),
            (f"{s}/fulfillments", "ctl_fulfillments", ["GET"]),
            (f"{s}/webhooks", "ctl_webhooks", ["GET", "POST", "DELETE"]),
            (f"{s}/webhooks/<int:sub_id>", "ctl_webhook", ["DELETE"]),
            (f"{s}/webhooks/deliveries", "ctl_shop_deliveries", ["GET"]),
        ]

    # -- shops ------------------------------------------------------------------
    def ctl_shops(self, request):
        if request.method == "GET":
            with self.lock:
                return json_response(
                    {"shops": [s.describe() for s in self.shops.values()]}
                )
        body = read_json(request)
        name = body.get("name") or "demo"
        with self.lock:
            shop = self.shop(name)
            try:
                shop.configure(body)
            except ShopError as exc:
                raise _spec_error(exc) from exc
            return json_response({"shop": shop.describe()}, 201)

    def ctl_shop(self, request, shop):
        with self.lock:
            obj = self.shop(shop)
            if request.method != "GET":
                try:
                    obj.configure(read_json(request))
                except ShopError as exc:
                    raise _spec_error(exc) from exc
            return json_response({"shop": obj.describe()})

    def ctl_tokens(self, request, shop):
        with self.lock:
            obj = self.shop(shop)
            now = time.time()
            return json_response(
                {
                    "tokens": [
                        {
                            "access_token": token,
                            "expires_in": max(0, int(expiry - now)),
                            "expired": expiry <= now,
                        }
                        for token, expiry in obj.tokens.items()
                    ]
                }
            )

    def ctl_tokens_expire(self, request, shop):
        body = read_json(request)
        with self.lock:
            count = self.shop(shop).expire_tokens(body.get("token"))
        return json_response({"expired": count})

    # -- catalog / stock --------------------------------------------------------------
    def ctl_locations(self, request, shop):
        with self.lock:
            obj = self.shop(shop)
            if request.method == "GET":
                return json_response(
                    {
                        "locations": [
                            loc.rest(obj.offset) for loc in obj.locations.values()
                        ]
                    }
                )
            loc = obj.add_location(read_json(request))
            return json_response({"location": loc.rest(obj.offset)}, 201)

    def ctl_products(self, request, shop):
        with self.lock:
            obj = self.shop(shop)
            if request.method == "GET":
                return json_response(
                    {"products": [obj.product_rest(p) for p in obj.products.values()]}
                )
            body = read_json(request)
            specs = body.get("products") if "products" in body else [body]
            try:
                products = [obj.add_product(spec) for spec in specs]
            except (ShopError, ValueError) as exc:
                raise _spec_error(exc) from exc
            result = [obj.product_rest(p) for p in products]
            if "products" in body:
                return json_response({"products": result}, 201)
            return json_response({"product": result[0]}, 201)

    def _find_levels(self, obj, sku=None, location=None):
        levels = list(obj.levels.values())
        if sku is not None:
            variant = obj.variant_by_sku(sku)
            item_id = variant.inventory_item_id if variant else None
            levels = [lvl for lvl in levels if lvl.item_id == item_id]
        if location is not None:
            loc = obj.find_location(location)
            loc_id = loc.id if loc else None
            levels = [lvl for lvl in levels if lvl.location_id == loc_id]
        return levels

    def ctl_inventory(self, request, shop):
        with self.lock:
            obj = self.shop(shop)
            if request.method == "GET":
                levels = self._find_levels(
                    obj, request.args.get("sku"), request.args.get("location")
                )
                return json_response(
                    {"inventory_levels": [obj.level_view(x) for x in levels]}
                )
            body = read_json(request)
            updates = body.get("levels") if "levels" in body else [body]
            result = []
            for upd in updates:
                variant = obj.variant_by_sku(upd.get("sku"))
                loc = obj.find_location(upd.get("location"))
                if variant is None or loc is None:
                    raise ApiError(422, {"error": f"unknown sku/location in {upd}"})
                level = obj.levels.get((variant.inventory_item_id, loc.id))
                if level is None:
                    raise ApiError(422, {"error": "item not stocked at location"})
                delta = int(upd["available"]) - level.available
                obj._change_level(level, delta, 0, "control")
                result.append(obj.level_view(level))
            return json_response({"inventory_levels": result})

    def ctl_inventory_changes(self, request, shop):
        with self.lock:
            obj = self.shop(shop)
            if request.method == "DELETE":
                obj.inventory_log = []
                return json_response({"changes": []})
            changes = obj.inventory_log
            source = request.args.get("source")
            if source:
                changes = [c for c in changes if c["source"].startswith(source)]
            if request.args.get("sku"):
                changes = [c for c in changes if c["sku"] == request.args["sku"]]
            return json_response({"changes": changes})

    # -- orders -----------------------------------------------------------------------
    def _ctl_order(self, obj, order_id):
        order = obj.get_order(order_id)
        if order is None:
            raise ApiError(404, {"error": f"order {order_id} not found"})
        return order

    def ctl_orders(self, request, shop):
        with self.lock:
            obj = self.shop(shop)
            if request.method == "GET":
                return json_response({"orders": [o.rest for o in obj.orders.values()]})
            try:
                order = obj.create_order(read_json(request))
            except (OrderSpecError, ShopError) as exc:
                raise _spec_error(exc) from exc
            return json_response({"order": order.rest}, 201)

    def ctl_orders_bulk(self, request, shop):
        body = read_json(request)
        count = int(body.get("count", 1))
        template = body.get("order") or body.get("template") or {}
        ids = []
        with self.lock:
            obj = self.shop(shop)
            try:
                for n in range(count):
                    spec = dict(template)
                    if body.get("vary_email") and (spec.get("customer") or {}).get(
                        "email"
                    ):
                        cust = dict(spec["customer"])
                        local, _, domain = cust["email"].partition("@")
                        cust["email"] = f"{local}+{n}@{domain}"
                        spec["customer"] = cust
                    ids.append(obj.create_order(spec).id)
            except (OrderSpecError, ShopError) as exc:
                raise _spec_error(exc) from exc
        return json_response({"count": len(ids), "order_ids": ids}, 201)

    def ctl_order(self, request, shop, order_id):
        with self.lock:
            obj = self.shop(shop)
            order = self._ctl_order(obj, order_id)
            if request.method != "GET":
                try:
                    obj.update_order(order, read_json(request))
                except (OrderSpecError, ValueError) as exc:
                    raise _spec_error(exc) from exc
            return json_response({"order": order.rest})

    def ctl_order_cancel(self, request, shop, order_id):
        with self.lock:
            obj = self.shop(shop)
            order = self._ctl_order(obj, order_id)
            try:
                obj.cancel_order(order, read_json(request))
            except OrderSpecError as exc:
                raise _spec_error(exc) from exc
            return json_response({"order": order.rest})

    def ctl_order_refunds(self, request, shop, order_id):
        with self.lock:
            obj = self.shop(shop)
            order = self._ctl_order(obj, order_id)
            if request.method == "GET":
                return json_response({"refunds": order.rest["refunds"]})
            try:
                refund = obj.create_refund(order, read_json(request))
            except OrderSpecError as exc:
                raise _spec_error(exc) from exc
            return json_response({"refund": refund, "order": order.rest}, 201)

    def ctl_order_fulfillment_orders(self, request, shop, order_id):
        with self.lock:
            obj = self.shop(shop)
            order = self._ctl_order(obj, order_id)
            return json_response(
                {
                    "fulfillment_orders": [
                        obj.fulfillment_order_rest(obj.fulfillment_orders[f])
                        for f in order.fo_ids
                    ]
                }
            )

    def ctl_fulfillments(self, request, shop):
        with self.lock:
            obj = self.shop(shop)
            items = [f.rest for f in obj.fulfillments.values()]
            order_id = request.args.get("order_id")
            if order_id:
                items = [f for f in items if str(f["order_id"]) == order_id]
            return json_response({"fulfillments": items})

    # -- webhook subscriptions ------------------------------------------------
    def ctl_webhooks(self, request, shop):
        with self.lock:
            obj = self.shop(shop)
            if request.method == "GET":
                return json_response(
                    {
                        "webhooks": [
                            s.rest(obj.offset) for s in obj.subscriptions.values()
                        ]
                    }
                )
            if request.method == "DELETE":
                obj.subscriptions = {}
                return json_response({"webhooks": []})
            body = read_json(request)
            topics = body.get("topics") or [body.get("topic")]
            address = body.get("address") or body.get("uri") or body.get("callbackUrl")
            if not address:
                raise ApiError(422, {"error": "address is required"})
            created = []
            for topic in topics:
                rest_topic = topic_to_rest(topic or "")
                if rest_topic is None:
                    raise ApiError(422, {"error": f"unknown topic {topic!r}"})
                created.append(
                    obj.add_subscription(
                        TOPIC_ENUMS[rest_topic],
                        address,
                        {"includeFields": body.get("include_fields") or []},
                        body.get("api_version") or obj.settings["webhook_api_version"],
                    )
                )
            return json_response(
                {"webhooks": [s.rest(obj.offset) for s in created]}, 201
            )

    def ctl_webhook(self, request, shop, sub_id):
        with self.lock:
            obj = self.shop(shop)
            if obj.subscriptions.pop(sub_id, None) is None:
                raise ApiError(404, {"error": "no such subscription"})
            return json_response({"deleted": sub_id})

    def ctl_shop_deliveries(self, request, shop):
        deliveries = self.ctx.dispatcher.list(
            include_body=request.args.get("include_body") in ("1", "true"),
            shop=shop,
            topic=request.args.get("topic"),
            state=request.args.get("state"),
        )
        return json_response({"deliveries": deliveries})
