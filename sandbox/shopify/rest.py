"""Shopify REST Admin API subset (read side + webhooks), as a mixin.

Cursor pagination follows Shopify: the ``Link`` header carries
``page_info`` tokens; a request with ``page_info`` may only add ``limit``
(and ``fields``).
"""

from urllib.parse import urlencode

from ..core.util import (
    ApiError,
    b64url_json,
    b64url_json_decode,
    json_response,
    parse_datetime,
)
from .cursors import CursorError, decode_cursor, encode_cursor, paginate
from .webhooks import TOPIC_ENUMS, topic_to_rest

PAGINATION_DOC = "https://shopify.dev/api/usage/pagination-rest"
ORDER_FILTERS = (
    "status",
    "ids",
    "since_id",
    "created_at_min",
    "created_at_max",
    "updated_at_min",
    "updated_at_max",
    "processed_at_min",
    "processed_at_max",
    "financial_status",
    "fulfillment_status",
    "order",
    "name",
)
ORDER_SORTS = {
    "created_at": lambda o: (int(o.created_at.timestamp()), o.id),
    "updated_at": lambda o: (int(o.updated_at.timestamp()), o.id),
    "processed_at": lambda o: (int(o.processed_at.timestamp()), o.id),
    "id": lambda o: (o.id,),
}


def _not_found():
    return ApiError(404, {"errors": "Not Found"})


def _limit(args, default=50):
    try:
        value = int(args.get("limit", default))
    except ValueError as exc:
        raise ApiError(400, {"errors": {"limit": "Invalid value."}}) from exc
    return max(1, min(250, value))


def _fields(obj, fields):
    if not fields:
        return obj
    wanted = [f.strip() for f in fields.split(",") if f.strip()]
    return {k: obj[k] for k in wanted if k in obj}


def _date_filter(value, name):
    try:
        return parse_datetime(value)
    except ValueError as exc:
        raise ApiError(400, {"errors": {name: "Invalid value."}}) from exc


def _order_matches(order, filters):  # noqa: C901 - one check per filter
    rest = order.rest
    status = filters.get("status", "open")
    if status == "open" and (rest["cancelled_at"] or rest["closed_at"]):
        return False
    if status == "closed" and not rest["closed_at"]:
        return False
    if status == "cancelled" and not rest["cancelled_at"]:
        return False
    if filters.get("ids"):
        ids = {int(i) for i in str(filters["ids"]).split(",") if i.strip().isdigit()}
        if order.id not in ids:
            return False
    if filters.get("since_id") and order.id <= int(filters["since_id"]):
        return False
    for field in ("created_at", "updated_at", "processed_at"):
        value = getattr(order, field)
        low = filters.get(f"{field}_min")
        high = filters.get(f"{field}_max")
        if low and value < _date_filter(low, f"{field}_min"):
            return False
        if high and value > _date_filter(high, f"{field}_max"):
            return False
    fin = filters.get("financial_status")
    if fin and fin != "any":
        if fin == "unpaid":
            if rest["financial_status"] not in (
                "pending",
                "authorized",
                "partially_paid",
            ):
                return False
        elif rest["financial_status"] != fin:
            return False
    ful = filters.get("fulfillment_status")
    if ful and ful != "any":
        status = rest["fulfillment_status"]
        wanted = {
            "shipped": {"fulfilled"},
            "fulfilled": {"fulfilled"},
            "partial": {"partial"},
            "unshipped": {None},
            "unfulfilled": {None, "partial"},
        }.get(ful, {ful})
        if status not in wanted:
            return False
    if filters.get("name"):
        if rest["name"].lstrip("#") != str(filters["name"]).lstrip("#"):
            return False
    return True


class ShopifyRestMixin:
    def rest_routes(self, api):
        return [
            (f"{api}/shop.json", "rest_shop", ["GET"]),
            (f"{api}/locations.json", "rest_locations", ["GET"]),
            (f"{api}/locations/<int:location_id>.json", "rest_location", ["GET"]),
            (f"{api}/orders.json", "rest_orders", ["GET"]),
            (f"{api}/orders/count.json", "rest_orders_count", ["GET"]),
            (f"{api}/orders/<int:order_id>.json", "rest_order", ["GET"]),
            (f"{api}/orders/<int:order_id>/refunds.json", "rest_refunds", ["GET"]),
            (
                f"{api}/orders/<int:order_id>/refunds/<int:refund_id>.json",
                "rest_refund",
                ["GET"],
            ),
            (
                f"{api}/orders/<int:order_id>/transactions.json",
                "rest_transactions",
                ["GET"],
            ),
            (
                f"{api}/orders/<int:order_id>/fulfillments.json",
                "rest_fulfillments",
                ["GET"],
            ),
            (
                f"{api}/orders/<int:order_id>/fulfillment_orders.json",
                "rest_fulfillment_orders",
                ["GET"],
            ),
            (f"{api}/products.json", "rest_products", ["GET"]),
            (f"{api}/products/<int:product_id>.json", "rest_product", ["GET"]),
            (f"{api}/variants/<int:variant_id>.json", "rest_variant", ["GET"]),
            (f"{api}/inventory_levels.json", "rest_inventory_levels", ["GET"]),
            (f"{api}/webhooks.json", "rest_webhooks", ["GET", "POST"]),
            (
                f"{api}/webhooks/<int:webhook_id>.json",
                "rest_webhook",
                ["GET", "DELETE"],
            ),
        ]

    # -- pagination ------------------------------------------------------------
    def _paged(self, request, items, key, filters, reverse, wrap, plural, fields=None):
        """Page ``items`` and add the Link header; returns a Response."""
        args = request.args
        limit = _limit(args)
        page_info = args.get("page_info")
        if page_info:
            try:
                state = b64url_json_decode(page_info)
                cursor = state["cursor"]
                direction = state["direction"]
                decode_cursor(cursor)
            except (ValueError, KeyError, CursorError) as exc:
                raise ApiError(
                    400, {"errors": {"page_info": "Invalid value."}}
                ) from exc
            if state.get("plural") != plural:
                raise ApiError(400, {"errors": {"page_info": "Invalid value."}})
            if direction == "next":
                page, has_next, has_prev = paginate(
                    items, key, first=limit, after=cursor, reverse=reverse
                )
            else:
                page, has_next, has_prev = paginate(
                    items, key, last=limit, before=cursor, reverse=reverse
                )
        else:
            page, has_next, has_prev = paginate(
                items, key, first=limit, reverse=reverse
            )
        links = []
        base = request.base_url

        def link(cursor, direction, rel):
            token = b64url_json(
                {
                    "cursor": cursor,
                    "direction": direction,
                    "filters": filters,
                    "plural": plural,
                }
            )
            query = {"limit": limit, "page_info": token}
            if fields:
                query["fields"] = fields
            links.append(f'<{base}?{urlencode(query)}>; rel="{rel}"')

        if page and page_info and has_prev:
            link(encode_cursor(tuple(key(page[0]))), "prev", "previous")
        if page and has_next:
            link(encode_cursor(tuple(key(page[-1]))), "next", "next")
        resp = json_response({plural: [_fields(wrap(i), fields) for i in page]})
        if links:
            resp.headers["Link"] = ", ".join(links)
        return resp

    def _page_filters(self, request, allowed):
        """Filters of a first page, or those saved in page_info."""
        args = request.args
        if args.get("page_info"):
            for name in args:
                if name not in ("page_info", "limit", "fields"):
                    raise ApiError(
                        400,
                        {
                            "errors": {
                                name: f"{name} cannot be passed when page_info is "
                                f"present. See {PAGINATION_DOC} for more "
                                "information."
                            }
                        },
                    )
            try:
                return b64url_json_decode(args["page_info"]).get("filters") or {}
            except ValueError as exc:
                raise ApiError(
                    400, {"errors": {"page_info": "Invalid value."}}
                ) from exc
        return {k: args[k] for k in allowed if args.get(k) not in (None, "")}

    # -- resources ------------------------------------------------------------------
    def rest_shop(self, request, shop, version):
        return self.rest_call(request, shop, version, lambda s: {"shop": s.shop_rest()})

    def rest_locations(self, request, shop, version):
        return self.rest_call(
            request,
            shop,
            version,
            lambda s: {
                "locations": [loc.rest(s.offset) for loc in s.locations.values()]
            },
        )

    def rest_location(self, request, shop, version, location_id):
        def handler(s):
            loc = s.locations.get(location_id)
            if loc is None:
                raise _not_found()
            return {"location": loc.rest(s.offset)}

        return self.rest_call(request, shop, version, handler)

    def _order_list(self, s, filters):
        return [o for o in s.orders.values() if _order_matches(o, filters)]

    def rest_orders(self, request, shop, version):
        def handler(s):
            filters = self._page_filters(request, ORDER_FILTERS)
            sort = filters.get("order") or (
                "id asc" if filters.get("since_id") else "created_at desc"
            )
            parts = sort.split()
            field = parts[0]
            if field not in ORDER_SORTS:
                raise ApiError(400, {"errors": {"order": "Invalid value."}})
            reverse = len(parts) > 1 and parts[1].lower() == "desc"
            return self._paged(
                request,
                self._order_list(s, filters),
                ORDER_SORTS[field],
                filters,
                reverse,
                lambda o: o.rest,
                "orders",
                request.args.get("fields"),
            )

        return self.rest_call(request, shop, version, handler)

    def rest_orders_count(self, request, shop, version):
        def handler(s):
            filters = {k: request.args[k] for k in ORDER_FILTERS if k in request.args}
            return {"count": len(self._order_list(s, filters))}

        return self.rest_call(request, shop, version, handler)

    def _order(self, s, order_id):
        order = s.orders.get(order_id)
        if order is None:
            raise _not_found()
        return order

    def rest_order(self, request, shop, version, order_id):
        return self.rest_call(
            request,
            shop,
            version,
            lambda s: {
                "order": _fields(
                    self._order(s, order_id).rest, request.args.get("fields")
                )
            },
        )

    def rest_refunds(self, request, shop, version, order_id):
        return self.rest_call(
            request,
            shop,
            version,
            lambda s: {"refunds": self._order(s, order_id).rest["refunds"]},
        )

    def rest_refund(self, request, shop, version, order_id, refund_id):
        def handler(s):
            for refund in self._order(s, order_id).rest["refunds"]:
                if refund["id"] == refund_id:
                    return {"refund": refund}
            raise _not_found()

        return self.rest_call(request, shop, version, handler)

    def rest_transactions(self, request, shop, version, order_id):
        return self.rest_call(
            request,
            shop,
            version,
            lambda s: {"transactions": self._order(s, order_id).transactions},
        )

    def rest_fulfillments(self, request, shop, version, order_id):
        return self.rest_call(
            request,
            shop,
            version,
            lambda s: {"fulfillments": self._order(s, order_id).rest["fulfillments"]},
        )

    def rest_fulfillment_orders(self, request, shop, version, order_id):
        def handler(s):
            order = self._order(s, order_id)
            return {
                "fulfillment_orders": [
                    s.fulfillment_order_rest(s.fulfillment_orders[f])
                    for f in order.fo_ids
                ]
            }

        return self.rest_call(request, shop, version, handler)

    def rest_products(self, request, shop, version):
        def handler(s):
            filters = self._page_filters(request, ("ids", "since_id", "status"))
            products = list(s.products.values())
            if filters.get("ids"):
                ids = {int(i) for i in filters["ids"].split(",") if i.strip().isdigit()}
                products = [p for p in products if p.id in ids]
            if filters.get("since_id"):
                products = [p for p in products if p.id > int(filters["since_id"])]
            if filters.get("status"):
                products = [p for p in products if p.status == filters["status"]]
            return self._paged(
                request,
                products,
                lambda p: (p.id,),
                filters,
                False,
                s.product_rest,
                "products",
                request.args.get("fields"),
            )

        return self.rest_call(request, shop, version, handler)

    def rest_product(self, request, shop, version, product_id):
        def handler(s):
            product = s.products.get(product_id)
            if product is None:
                raise _not_found()
            return {"product": s.product_rest(product)}

        return self.rest_call(request, shop, version, handler)

    def rest_variant(self, request, shop, version, variant_id):
        def handler(s):
            variant = s.variants.get(variant_id)
            if variant is None:
                raise _not_found()
            return {"variant": s.variant_rest(variant)}

        return self.rest_call(request, shop, version, handler)

    def rest_inventory_levels(self, request, shop, version):
        def handler(s):
            filters = self._page_filters(
                request, ("inventory_item_ids", "location_ids")
            )

            def ids(name):
                raw = str(filters.get(name, ""))
                return {int(i) for i in raw.split(",") if i.strip().isdigit()}

            items, locs = ids("inventory_item_ids"), ids("location_ids")
            if not items and not locs:
                raise ApiError(
                    422,
                    {
                        "errors": "Must specify at least one of inventory_item_ids "
                        "or location_ids"
                    },
                )
            levels = [
                lvl
                for (i, loc), lvl in s.levels.items()
                if (not items or i in items) and (not locs or loc in locs)
            ]
            return self._paged(
                request,
                levels,
                lambda lvl: (lvl.item_id, lvl.location_id),
                filters,
                False,
                s.level_rest,
                "inventory_levels",
            )

        return self.rest_call(request, shop, version, handler)

    def rest_webhooks(self, request, shop, version):
        def handler(s):
            if request.method == "GET":
                subs = list(s.subscriptions.values())
                if request.args.get("topic"):
                    subs = [x for x in subs if x.rest_topic == request.args["topic"]]
                return {"webhooks": [x.rest(s.offset) for x in subs]}
            body = request.get_json(silent=True, force=True) or {}
            data = body.get("webhook") or {}
            topic = topic_to_rest(data.get("topic") or "")
            errors = {}
            if topic is None:
                errors["topic"] = ["Invalid topic specified."]
            address = data.get("address")
            if not address:
                errors["address"] = ["can't be blank"]
            elif any(
                x.uri == address and x.rest_topic == topic
                for x in s.subscriptions.values()
            ):
                errors["address"] = ["for this topic has already been taken"]
            if errors:
                return json_response({"errors": errors}, 422)
            sub = s.add_subscription(
                TOPIC_ENUMS[topic],
                address,
                {
                    "format": (data.get("format") or "json").upper(),
                    "includeFields": data.get("fields") or [],
                    "metafieldNamespaces": data.get("metafield_namespaces") or [],
                },
                version,
            )
            return json_response({"webhook": sub.rest(s.offset)}, 201)

        return self.rest_call(request, shop, version, handler)

    def rest_webhook(self, request, shop, version, webhook_id):
        def handler(s):
            sub = s.subscriptions.get(webhook_id)
            if sub is None:
                raise _not_found()
            if request.method == "DELETE":
                del s.subscriptions[webhook_id]
                return {}
            return {"webhook": sub.rest(s.offset)}

        return self.rest_call(request, shop, version, handler)
