"""Admin GraphQL API: schema (schema.graphql), resolvers and execution.

Resolvers are plain classes whose attributes/methods carry the GraphQL field
names (graphql-core's default resolver reads attributes and calls methods
with the field arguments). Objects are views over the REST-shaped state in
state.py, so both APIs always agree.
"""

import os
import re
from datetime import datetime

from graphql import GraphQLError, build_schema, execute, parse, validate
from graphql.error import GraphQLSyntaxError

from ..core.util import format_utc, parse_datetime
from .cost import find_operation, query_cost
from .cursors import CursorError, connection
from .money import ZERO, fmt, q2, to_decimal
from .orders import gid, line_net, paid_amount, refund_total
from .search import SearchQuery, SearchSyntaxError
from .state import money_bag, parse_gid, parse_level_gid, rest_set_to_bag
from .webhooks import TOPICS

with open(os.path.join(os.path.dirname(__file__), "schema.graphql")) as _fh:
    SDL = _fh.read()
SCHEMA = build_schema(SDL)
COUNTRY_CODES = set(SCHEMA.get_type("CountryCode").values)
MAX_INPUT_SIZE = 250


def _dt(value):
    if value is None:
        return None
    if isinstance(value, datetime):
        return format_utc(value)
    return format_utc(parse_datetime(value))


def _epoch(value):
    return int(value.timestamp())


def _conn(items, key, args, wrap):
    try:
        return connection(items, key, args, wrap)
    except CursorError as exc:
        raise GraphQLError(str(exc), extensions={"code": "BAD_REQUEST"}) from exc


def _search(info, text, fields, default=None):
    try:
        query = SearchQuery(text, fields, default)
    except SearchSyntaxError as exc:
        raise GraphQLError(
            f"Invalid search query: {exc}", extensions={"code": "BAD_REQUEST"}
        ) from exc
    if query.warnings:
        info.context.setdefault("search", []).append(
            {
                "path": [str(p) for p in info.path.as_list()],
                "query": text,
                "warnings": query.warnings,
            }
        )
    return query


def _first_n(values, first):
    return values if first is None else values[:first]


def _bag(money_set_value):
    return rest_set_to_bag(money_set_value)


def _tax_lines(tax_lines):
    return [
        {
            "title": t["title"],
            "rate": t["rate"],
            "ratePercentage": round(t["rate"] * 100, 6),
            "priceSet": _bag(t["price_set"]),
            "channelLiable": t.get("channel_liable", False),
        }
        for t in tax_lines
    ]


def _discount_application(app, index, currency):
    if app["value_type"] == "percentage":
        value = {
            "__typename": "PricingPercentageValue",
            "percentage": float(app["value"]),
        }
    else:
        value = {
            "__typename": "MoneyV2",
            "amount": fmt(app["value"]),
            "currencyCode": currency,
        }
    data = {
        "allocationMethod": app["allocation_method"].upper(),
        "index": index,
        "targetSelection": app["target_selection"].upper(),
        "targetType": app["target_type"].upper(),
        "value": value,
    }
    if app["type"] == "discount_code":
        data["__typename"] = "DiscountCodeApplication"
        data["code"] = app.get("code", "")
    elif app["type"] == "automatic":
        data["__typename"] = "AutomaticDiscountApplication"
        data["title"] = app.get("title") or ""
    else:
        data["__typename"] = "ManualDiscountApplication"
        data["title"] = app.get("title") or ""
        data["description"] = app.get("description")
    return data


def _allocations(order_rest, allocations):
    apps = order_rest["discount_applications"]
    return [
        {
            "allocatedAmountSet": _bag(a["amount_set"]),
            "discountApplication": _discount_application(
                apps[a["discount_application_index"]],
                a["discount_application_index"],
                order_rest["currency"],
            ),
        }
        for a in allocations
    ]


def _positional(items):
    """Cursor key for lists kept in order: (position, id)."""
    index = {id(item): n for n, item in enumerate(items)}
    return lambda item: (index[id(item)], _item_id(item))


def _item_id(item):
    if isinstance(item, dict):
        return item.get("id") or 0
    return getattr(item, "id", 0) or 0


# ---------------------------------------------------------------------------
class GShop:
    __typename = "Shop"

    def __init__(self, shop):
        s = shop.settings
        self.id = gid("Shop", shop.id)
        self.name = s["shop_title"]
        self.email = s["email"]
        self.contactEmail = s["email"]
        self.myshopifyDomain = shop.domain
        self.url = f"https://{shop.domain}"
        self.currencyCode = shop.currency
        self.enabledPresentmentCurrencies = [shop.currency]
        self.ianaTimezone = s["iana_timezone"]
        self.timezoneAbbreviation = "UTC" + s["timezone_offset"]
        self.timezoneOffset = s["timezone_offset"].replace(":", "")
        self.timezoneOffsetMinutes = shop.offset
        self.taxesIncluded = bool(s["taxes_included"])
        self.primaryDomain = {
            "__typename": "Domain",
            "id": gid("Domain", shop.id),
            "host": shop.domain,
            "url": f"https://{shop.domain}",
            "sslEnabled": True,
        }
        self.createdAt = _dt(shop.created_at)
        self.updatedAt = _dt(shop.created_at)


class GLocation:
    __typename = "Location"

    def __init__(self, shop, loc):
        self._shop = shop
        self._loc = loc
        self.id = gid("Location", loc.id)
        self.legacyResourceId = str(loc.id)
        self.name = loc.name
        self.isActive = loc.active
        self.fulfillsOnlineOrders = loc.fulfills_online_orders
        self.shipsInventory = True
        a = loc.address
        self.address = {
            "address1": a["address1"],
            "address2": a["address2"],
            "city": a["city"],
            "country": a["country"],
            "countryCode": a["country_code"],
            "phone": a["phone"],
            "province": a["province"],
            "provinceCode": a["province_code"],
            "zip": a["zip"],
            "formatted": [
                x for x in (a["address1"], a["city"], a["zip"], a["country"]) if x
            ],
        }
        self.createdAt = _dt(loc.created_at)
        self.updatedAt = _dt(loc.updated_at)

    def inventoryLevels(self, info, **args):
        levels = [
            lvl
            for (_i, loc_id), lvl in self._shop.levels.items()
            if loc_id == self._loc.id
        ]
        return _conn(
            levels,
            lambda lvl: (lvl.item_id,),
            args,
            lambda lvl: GLevel(self._shop, lvl),
        )

    def inventoryLevel(self, info, inventoryItemId):
        item_id = parse_gid(inventoryItemId, "InventoryItem")
        level = self._shop.levels.get((item_id, self._loc.id))
        return GLevel(self._shop, level) if level else None


class GLevel:
    __typename = "InventoryLevel"

    def __init__(self, shop, level):
        self._shop = shop
        self._level = level
        self.id = (
            f"gid://shopify/InventoryLevel/{level.location_id}"
            f"?inventory_item_id={level.item_id}"
        )
        self.canDeactivate = True
        self.createdAt = _dt(level.created_at)
        self.updatedAt = _dt(level.updated_at)

    @property
    def item(self):
        return GItem(self._shop, self._shop.items[self._level.item_id])

    @property
    def location(self):
        return GLocation(self._shop, self._shop.locations[self._level.location_id])

    def quantities(self, info, names):
        lvl = self._level
        return [
            {
                "__typename": "InventoryQuantity",
                "id": f"gid://shopify/InventoryQuantity/{lvl.location_id}"
                f"?inventory_item_id={lvl.item_id}&name={name}",
                "name": name,
                "quantity": lvl.quantity(name),
                "updatedAt": _dt(lvl.updated_at),
            }
            for name in names
        ]


class GItem:
    __typename = "InventoryItem"

    def __init__(self, shop, item):
        self._shop = shop
        self._item = item
        variant = shop.variants.get(item.variant_id)
        self.id = gid("InventoryItem", item.id)
        self.legacyResourceId = str(item.id)
        self.sku = variant.sku if variant else None
        self.tracked = item.tracked
        self.requiresShipping = item.requires_shipping
        self.createdAt = _dt(item.created_at)
        self.updatedAt = _dt(item.updated_at)

    @property
    def variant(self):
        return GVariant(self._shop, self._shop.variants[self._item.variant_id])

    @property
    def locationsCount(self):
        count = sum(1 for (i, _l) in self._shop.levels if i == self._item.id)
        return {"count": count, "precision": "EXACT"}

    def inventoryLevel(self, info, locationId):
        loc_id = parse_gid(locationId, "Location")
        level = self._shop.levels.get((self._item.id, loc_id))
        return GLevel(self._shop, level) if level else None

    def inventoryLevels(self, info, **args):
        args.pop("query", None)
        levels = [
            lvl for (i, _l), lvl in self._shop.levels.items() if i == self._item.id
        ]
        return _conn(
            levels,
            lambda lvl: (lvl.location_id,),
            args,
            lambda lvl: GLevel(self._shop, lvl),
        )


class GVariant:
    __typename = "ProductVariant"

    def __init__(self, shop, variant):
        self._shop = shop
        self._variant = variant
        product = shop.products[variant.product_id]
        self.id = gid("ProductVariant", variant.id)
        self.legacyResourceId = str(variant.id)
        self.sku = variant.sku
        self.title = variant.title
        self.displayName = (
            product.title
            if variant.title == "Default Title"
            else f"{product.title} - {variant.title}"
        )
        self.price = fmt(variant.price)
        self.compareAtPrice = (
            fmt(variant.compare_at_price) if variant.compare_at_price else None
        )
        self.barcode = variant.barcode
        self.position = variant.position
        self.taxable = variant.taxable
        self.inventoryQuantity = shop.total_available(variant.inventory_item_id)
        self.createdAt = _dt(variant.created_at)
        self.updatedAt = _dt(variant.updated_at)

    @property
    def inventoryItem(self):
        return GItem(self._shop, self._shop.items[self._variant.inventory_item_id])

    @property
    def product(self):
        return GProduct(self._shop, self._shop.products[self._variant.product_id])


class GProduct:
    __typename = "Product"

    def __init__(self, shop, product):
        self._shop = shop
        self._product = product
        self.id = gid("Product", product.id)
        self.legacyResourceId = str(product.id)
        self.title = product.title
        self.handle = product.handle
        self.status = product.status.upper()
        self.vendor = product.vendor
        self.productType = product.product_type
        self.tags = list(product.tags)
        self.createdAt = _dt(product.created_at)
        self.updatedAt = _dt(product.updated_at)
        self.tracksInventory = True
        self.totalInventory = sum(
            shop.total_available(shop.variants[v].inventory_item_id)
            for v in product.variant_ids
        )
        self.variantsCount = {"count": len(product.variant_ids), "precision": "EXACT"}

    def variants(self, info, **args):
        variants = [self._shop.variants[v] for v in self._product.variant_ids]
        return _conn(
            variants,
            lambda v: (v.position, v.id),
            args,
            lambda v: GVariant(self._shop, v),
        )


class GAddress:
    __typename = "MailingAddress"

    def __init__(self, data):
        self._data = data
        key = data.get("id") or abs(hash(tuple(sorted(map(str, data.items()))))) % (
            10**12
        )
        self.id = f"gid://shopify/MailingAddress/{key}?model_name=Address"
        for gql, rest in (
            ("address1", "address1"),
            ("address2", "address2"),
            ("city", "city"),
            ("company", "company"),
            ("country", "country"),
            ("firstName", "first_name"),
            ("lastName", "last_name"),
            ("name", "name"),
            ("phone", "phone"),
            ("province", "province"),
            ("provinceCode", "province_code"),
            ("zip", "zip"),
            ("latitude", "latitude"),
            ("longitude", "longitude"),
        ):
            setattr(self, gql, data.get(rest))
        code = (data.get("country_code") or "").upper()
        self.countryCodeV2 = code if code in COUNTRY_CODES else ("ZZ" if code else None)

    def formatted(self, info, withName=False, withCompany=True):
        d = self._data
        lines = []
        if withName and d.get("name"):
            lines.append(d["name"])
        if withCompany and d.get("company"):
            lines.append(d["company"])
        for part in (
            d.get("address1"),
            d.get("address2"),
            " ".join(x for x in (d.get("zip"), d.get("city")) if x),
            d.get("country"),
        ):
            if part:
                lines.append(part)
        return lines


class GCustomer:
    __typename = "Customer"

    def __init__(self, shop, data):
        self._shop = shop
        self._data = data
        self.id = gid("Customer", data["id"])
        self.legacyResourceId = str(data["id"])
        self.email = data.get("email")
        self.defaultEmailAddress = (
            {"emailAddress": data["email"]} if data.get("email") else None
        )
        self.firstName = data.get("first_name")
        self.lastName = data.get("last_name")
        names = [data.get("first_name"), data.get("last_name")]
        self.displayName = " ".join(n for n in names if n) or (data.get("email") or "")
        self.phone = data.get("phone")
        self.note = data.get("note")
        tags = data.get("tags") or ""
        self.tags = [t.strip() for t in tags.split(",") if t.strip()]
        self.createdAt = _dt(data.get("created_at"))
        self.updatedAt = _dt(data.get("updated_at"))
        self.defaultAddress = (
            GAddress(data["default_address"]) if data.get("default_address") else None
        )

    @property
    def numberOfOrders(self):
        return str(
            sum(
                1
                for o in self._shop.orders.values()
                if (o.rest.get("customer") or {}).get("id") == self._data["id"]
            )
        )


class GLineItem:
    __typename = "LineItem"

    def __init__(self, shop, order, line):
        self._shop = shop
        self._order = order
        self._line = line
        rest = order.rest
        cur = rest["currency"]
        self.id = line["admin_graphql_api_id"]
        self.name = line["name"]
        self.title = line["title"]
        self.variantTitle = line["variant_title"]
        self.sku = line["sku"]
        self.vendor = line["vendor"]
        self.quantity = line["quantity"]
        self.currentQuantity = line["current_quantity"]
        self.unfulfilledQuantity = line["fulfillable_quantity"]
        self.refundableQuantity = line["current_quantity"]
        self.nonFulfillableQuantity = line["quantity"] - line["current_quantity"]
        self.requiresShipping = line["requires_shipping"]
        self.taxable = line["taxable"]
        self.isGiftCard = line["gift_card"]
        qty = line["quantity"]
        price = to_decimal(line["price"])
        explicit = to_decimal(line["total_discount"])
        net = line_net(line)
        self.originalUnitPriceSet = _bag(line["price_set"])
        self.originalTotalSet = money_bag(price * qty, cur)
        self.discountedTotalSet = money_bag(price * qty - explicit, cur)
        self.discountedUnitPriceSet = money_bag(q2((price * qty - explicit) / qty), cur)
        self.discountedUnitPriceAfterAllDiscountsSet = money_bag(q2(net / qty), cur)
        self.totalDiscountSet = money_bag(price * qty - net, cur)
        self.discountAllocations = _allocations(rest, line["discount_allocations"])
        self.customAttributes = [
            {"key": p.get("name"), "value": p.get("value")}
            for p in line.get("properties") or []
        ]

    def taxLines(self, info, first=None):
        return _first_n(_tax_lines(self._line["tax_lines"]), first)

    @property
    def variant(self):
        v = self._shop.variants.get(self._line["variant_id"])
        return GVariant(self._shop, v) if v else None

    @property
    def product(self):
        p = self._shop.products.get(self._line["product_id"])
        return GProduct(self._shop, p) if p else None


class GShippingLine:
    __typename = "ShippingLine"

    def __init__(self, order, ship):
        rest = order.rest
        self.id = gid("ShippingLine", ship["id"])
        self.title = ship["title"]
        self.code = ship["code"]
        self.source = ship["source"]
        self.carrierIdentifier = ship["carrier_identifier"]
        self.custom = False
        self.isRemoved = False
        self.originalPriceSet = _bag(ship["price_set"])
        self.discountedPriceSet = _bag(ship["discounted_price_set"])
        self.currentDiscountedPriceSet = _bag(ship["discounted_price_set"])
        self.taxLines = _tax_lines(ship["tax_lines"])
        self.discountAllocations = _allocations(rest, ship["discount_allocations"])


class GTransaction:
    __typename = "OrderTransaction"

    def __init__(self, shop, order, txn):
        self._shop = shop
        self._order = order
        self._txn = txn
        self.id = txn["admin_graphql_api_id"]
        self.kind = txn["kind"].upper()
        self.status = txn["status"].upper()
        self.gateway = txn["gateway"]
        self.test = bool(txn.get("test"))
        self.amountSet = money_bag(txn["amount"], txn["currency"])
        self.createdAt = _dt(txn["created_at"])
        self.processedAt = _dt(txn["processed_at"])
        self.paymentId = txn.get("payment_id")

    @property
    def parentTransaction(self):
        parent = next(
            (t for t in self._order.transactions if t["id"] == self._txn["parent_id"]),
            None,
        )
        return GTransaction(self._shop, self._order, parent) if parent else None

    @property
    def order(self):
        return GOrder(self._shop, self._order)


class GRefund:
    __typename = "Refund"

    def __init__(self, shop, order, refund):
        self._shop = shop
        self._order = order
        self._refund = refund
        self.id = refund["admin_graphql_api_id"]
        self.legacyResourceId = str(refund["id"])
        self.createdAt = _dt(refund["created_at"])
        self.updatedAt = _dt(refund["processed_at"])
        self.note = refund["note"]
        self.totalRefundedSet = money_bag(refund_total(refund), order.rest["currency"])

    @property
    def order(self):
        return GOrder(self._shop, self._order)

    def refundLineItems(self, info, **args):
        items = self._refund["refund_line_items"]
        lines = {li["id"]: li for li in self._order.rest["line_items"]}
        cur = self._order.rest["currency"]

        def wrap(rli):
            location = self._shop.locations.get(rli["location_id"])
            line = lines[rli["line_item_id"]]
            return {
                "id": gid("RefundLineItem", rli["id"]),
                "lineItem": GLineItem(self._shop, self._order, line),
                "quantity": rli["quantity"],
                "restockType": rli["restock_type"].upper(),
                "restocked": rli["restock_type"] != "no_restock",
                "location": GLocation(self._shop, location) if location else None,
                "priceSet": _bag(line["price_set"]),
                "subtotalSet": money_bag(
                    rli["subtotal_set"]["shop_money"]["amount"], cur
                ),
                "totalTaxSet": money_bag(
                    rli["total_tax_set"]["shop_money"]["amount"], cur
                ),
            }

        return _conn(items, _positional(items), args, wrap)

    def refundShippingLines(self, info, **args):
        adjustments = [
            a
            for a in self._refund.get("order_adjustments", [])
            if a["kind"] == "shipping_refund"
        ]
        ships = self._order.rest["shipping_lines"]
        cur = self._order.rest["currency"]

        def wrap(adj):
            return {
                "id": gid("RefundShippingLine", adj["id"]),
                "shippingLine": GShippingLine(self._order, ships[0]) if ships else None,
                "subtotalAmountSet": money_bag(-to_decimal(adj["amount"]), cur),
                "taxAmountSet": money_bag(-to_decimal(adj["tax_amount"]), cur),
            }

        return _conn(adjustments, _positional(adjustments), args, wrap)

    def transactions(self, info, **args):
        txns = self._refund["transactions"]
        return _conn(
            txns,
            _positional(txns),
            args,
            lambda t: GTransaction(self._shop, self._order, t),
        )


class GFulfillmentOrderLine:
    __typename = "FulfillmentOrderLineItem"

    def __init__(self, shop, fo, ln):
        self._shop = shop
        self._fo = fo
        self._ln = ln
        order = shop.orders[fo.order_id]
        self._line = next(
            li for li in order.rest["line_items"] if li["id"] == ln.line_item_id
        )
        self.id = gid("FulfillmentOrderLineItem", ln.id)
        self.totalQuantity = ln.total
        self.remainingQuantity = ln.remaining
        self.sku = self._line["sku"]
        self.inventoryItemId = (
            gid("InventoryItem", ln.inventory_item_id) if ln.inventory_item_id else None
        )
        self.productTitle = self._line["title"]
        self.variantTitle = self._line["variant_title"]
        self.requiresShipping = self._line["requires_shipping"]

    @property
    def lineItem(self):
        return GLineItem(self._shop, self._shop.orders[self._fo.order_id], self._line)

    @property
    def variant(self):
        v = self._shop.variants.get(self._ln.variant_id)
        return GVariant(self._shop, v) if v else None


class GFulfillmentOrder:
    __typename = "FulfillmentOrder"

    def __init__(self, shop, fo):
        self._shop = shop
        self._fo = fo
        order = shop.orders[fo.order_id]
        loc = shop.locations[fo.location_id]
        self.id = gid("FulfillmentOrder", fo.id)
        self.status = fo.status
        self.requestStatus = fo.request_status
        self.orderId = gid("Order", fo.order_id)
        self.orderName = order.rest["name"]
        self.createdAt = _dt(fo.created_at)
        self.updatedAt = _dt(fo.updated_at)
        code = loc.address["country_code"]
        self.assignedLocation = {
            "location": GLocation(shop, loc),
            "name": loc.name,
            "address1": loc.address["address1"],
            "address2": loc.address["address2"],
            "city": loc.address["city"],
            "countryCode": code if code in COUNTRY_CODES else "ZZ",
            "phone": loc.address["phone"],
            "province": loc.address["province"],
            "zip": loc.address["zip"],
        }
        self.supportedActions = (
            [{"action": "CREATE_FULFILLMENT", "externalUrl": None}]
            if fo.status in ("OPEN", "IN_PROGRESS")
            else []
        )

    @property
    def order(self):
        return GOrder(self._shop, self._shop.orders[self._fo.order_id])

    def lineItems(self, info, **args):
        lines = self._fo.lines
        return _conn(
            lines,
            _positional(lines),
            args,
            lambda ln: GFulfillmentOrderLine(self._shop, self._fo, ln),
        )

    def fulfillments(self, info, **args):
        items = [self._shop.fulfillments[f] for f in self._fo.fulfillment_ids]
        return _conn(
            items, lambda f: (f.id,), args, lambda f: GFulfillment(self._shop, f)
        )


class GFulfillment:
    __typename = "Fulfillment"

    def __init__(self, shop, fulfillment):
        self._shop = shop
        self._f = fulfillment
        rest = fulfillment.rest
        self.id = rest["admin_graphql_api_id"]
        self.legacyResourceId = str(rest["id"])
        self.name = rest["name"]
        self.status = rest["status"].upper()
        self.displayStatus = (
            "CANCELED" if rest["status"] == "cancelled" else "FULFILLED"
        )
        self.createdAt = _dt(rest["created_at"])
        self.updatedAt = _dt(rest["updated_at"])
        self.totalQuantity = sum(li["quantity"] for li in rest["line_items"])

    @property
    def location(self):
        loc = self._shop.locations.get(self._f.rest["location_id"])
        return GLocation(self._shop, loc) if loc else None

    @property
    def order(self):
        return GOrder(self._shop, self._shop.orders[self._f.order_id])

    def trackingInfo(self, info, first=None):
        rest = self._f.rest
        numbers = rest["tracking_numbers"] or []
        urls = rest["tracking_urls"] or []
        count = max(len(numbers), len(urls), 1 if rest["tracking_company"] else 0)
        result = [
            {
                "company": rest["tracking_company"],
                "number": numbers[i] if i < len(numbers) else None,
                "url": urls[i] if i < len(urls) else None,
            }
            for i in range(count)
        ]
        return _first_n(result, first)

    def fulfillmentLineItems(self, info, **args):
        order = self._shop.orders[self._f.order_id]
        lines = {li["id"]: li for li in order.rest["line_items"]}
        items = self._f.rest["line_items"]
        cur = order.rest["currency"]

        def wrap(item):
            line = lines[item["id"]]
            price = to_decimal(line["price"])
            unit_net = line_net(line) / line["quantity"]
            return {
                "__typename": "FulfillmentLineItem",
                "id": f"gid://shopify/FulfillmentLineItem/{self._f.id}{item['id']}",
                "lineItem": GLineItem(self._shop, order, line),
                "quantity": item["quantity"],
                "originalTotalSet": money_bag(price * item["quantity"], cur),
                "discountedTotalSet": money_bag(q2(unit_net * item["quantity"]), cur),
            }

        return _conn(items, _positional(items), args, wrap)

    def fulfillmentOrders(self, info, **args):
        fos = [self._shop.fulfillment_orders[f] for f in self._f.fo_ids]
        return _conn(
            fos, lambda fo: (fo.id,), args, lambda fo: GFulfillmentOrder(self._shop, fo)
        )


class GOrder:
    __typename = "Order"

    def __init__(self, shop, order):
        self._shop = shop
        self._order = order
        rest = order.rest
        self.id = rest["admin_graphql_api_id"]
        self.legacyResourceId = str(rest["id"])
        self.name = rest["name"]
        self.number = rest["order_number"]
        self.email = rest["email"]
        self.phone = rest["phone"]
        self.note = rest["note"]
        self.poNumber = rest.get("po_number")
        self.tags = [t.strip() for t in (rest["tags"] or "").split(",") if t.strip()]
        self.test = bool(rest["test"])
        self.confirmed = bool(rest["confirmed"])
        self.closed = rest["closed_at"] is not None
        self.closedAt = _dt(order.closed_at)
        self.createdAt = _dt(order.created_at)
        self.updatedAt = _dt(order.updated_at)
        self.processedAt = _dt(order.processed_at)
        self.cancelledAt = _dt(order.cancelled_at)
        self.cancelReason = (rest["cancel_reason"] or "").upper() or None
        self.displayFinancialStatus = (rest["financial_status"] or "").upper() or None
        self.displayFulfillmentStatus = {
            "fulfilled": "FULFILLED",
            "partial": "PARTIALLY_FULFILLED",
        }.get(rest["fulfillment_status"], "UNFULFILLED")
        paid = paid_amount(order.transactions)
        self.fullyPaid = to_decimal(rest["total_outstanding"]) <= 0
        self.unpaid = paid <= 0 and not any(
            t["kind"] == "refund" for t in order.transactions
        )
        self.currencyCode = rest["currency"]
        self.presentmentCurrencyCode = rest["presentment_currency"]
        self.taxesIncluded = rest["taxes_included"]
        self.sourceName = rest["source_name"]
        self.paymentGatewayNames = list(rest["payment_gateway_names"])
        self.statusPageUrl = rest["order_status_url"]
        self.customAttributes = [
            {"key": a.get("name"), "value": a.get("value")}
            for a in rest["note_attributes"]
        ]
        for gql, key in (
            ("subtotalPriceSet", "subtotal_price_set"),
            ("totalPriceSet", "total_price_set"),
            ("totalTaxSet", "total_tax_set"),
            ("totalDiscountsSet", "total_discounts_set"),
            ("totalShippingPriceSet", "total_shipping_price_set"),
            ("currentSubtotalPriceSet", "current_subtotal_price_set"),
            ("currentTotalPriceSet", "current_total_price_set"),
            ("currentTotalTaxSet", "current_total_tax_set"),
            ("currentTotalDiscountsSet", "current_total_discounts_set"),
        ):
            setattr(self, gql, _bag(rest[key]))
        cur = rest["currency"]
        refunded = sum((refund_total(r) for r in rest["refunds"]), ZERO)
        self.totalRefundedSet = money_bag(refunded, cur)
        self.totalOutstandingSet = money_bag(rest["total_outstanding"], cur)
        self.totalReceivedSet = money_bag(max(paid, ZERO), cur)
        self.subtotalLineItemsQuantity = sum(
            li["quantity"] for li in rest["line_items"]
        )
        self.taxLines = _tax_lines(rest["tax_lines"])
        codes = [d["code"] for d in rest["discount_codes"] if d["code"]]
        self.discountCodes = codes
        self.discountCode = codes[0] if codes else None

    def discountApplications(self, info, **args):
        rest = self._order.rest
        apps = [
            _discount_application(app, n, rest["currency"])
            for n, app in enumerate(rest["discount_applications"])
        ]
        return _conn(apps, lambda a: (a["index"],), args, lambda a: a)

    def lineItems(self, info, **args):
        lines = self._order.rest["line_items"]
        return _conn(
            lines,
            _positional(lines),
            args,
            lambda li: GLineItem(self._shop, self._order, li),
        )

    @property
    def shippingLine(self):
        ships = self._order.rest["shipping_lines"]
        return GShippingLine(self._order, ships[0]) if ships else None

    def shippingLines(self, info, includeRemovals=False, **args):
        ships = self._order.rest["shipping_lines"]
        return _conn(
            ships, _positional(ships), args, lambda s: GShippingLine(self._order, s)
        )

    @property
    def customer(self):
        data = self._order.rest["customer"]
        return GCustomer(self._shop, data) if data else None

    @property
    def billingAddress(self):
        data = self._order.rest["billing_address"]
        return GAddress(data) if data else None

    @property
    def shippingAddress(self):
        data = self._order.rest["shipping_address"]
        return GAddress(data) if data else None

    def refunds(self, info, first=None):
        return _first_n(
            [GRefund(self._shop, self._order, r) for r in self._order.rest["refunds"]],
            first,
        )

    def fulfillments(self, info, first=None):
        return _first_n(
            [
                GFulfillment(self._shop, self._shop.fulfillments[f])
                for f in self._order.fulfillment_ids
            ],
            first,
        )

    def fulfillmentOrders(self, info, query=None, displayable=False, **args):
        fos = [self._shop.fulfillment_orders[f] for f in self._order.fo_ids]
        if displayable:
            fos = [fo for fo in fos if fo.status not in ("CLOSED", "CANCELLED")]
        if query:
            search = _search(
                info,
                query,
                {
                    "status": lambda fo: fo.status.lower(),
                    "assigned_location_id": lambda fo: fo.location_id,
                },
            )
            fos = [fo for fo in fos if search.matches(fo)]
        return _conn(
            fos, lambda fo: (fo.id,), args, lambda fo: GFulfillmentOrder(self._shop, fo)
        )

    def transactions(self, info, first=None, capturable=None, manuallyResolvable=None):
        txns = self._order.transactions
        if capturable:
            txns = [t for t in txns if t["kind"] == "authorization"]
        return _first_n([GTransaction(self._shop, self._order, t) for t in txns], first)


class GWebhookSubscription:
    __typename = "WebhookSubscription"

    def __init__(self, sub):
        self.id = gid("WebhookSubscription", sub.id)
        self.legacyResourceId = str(sub.id)
        self.topic = sub.topic
        self.format = sub.format
        self.uri = sub.uri
        self.callbackUrl = sub.uri
        self.endpoint = {"__typename": "WebhookHttpEndpoint", "callbackUrl": sub.uri}
        self.includeFields = list(sub.include_fields)
        self.metafieldNamespaces = list(sub.metafield_namespaces)
        self.filter = sub.filter
        self.apiVersion = {
            "handle": sub.api_version,
            "displayName": sub.api_version,
            "supported": True,
        }
        self.createdAt = _dt(sub.created_at)
        self.updatedAt = _dt(sub.updated_at)


class GAdjustmentGroup:
    __typename = "InventoryAdjustmentGroup"

    def __init__(self, shop, group):
        self._shop = shop
        self._group = group
        self.id = group["id"]
        self.createdAt = group["createdAt"]
        self.reason = group["reason"]
        self.referenceDocumentUri = group["referenceDocumentUri"]

    def changes(
        self, info, inventoryItemIds=None, locationIds=None, quantityNames=None
    ):
        items = {parse_gid(i, "InventoryItem") for i in inventoryItemIds or []}
        locations = {parse_gid(i, "Location") for i in locationIds or []}
        result = []
        for change in self._group["changes"]:
            if items and change["item_id"] not in items:
                continue
            if locations and change["location_id"] not in locations:
                continue
            if quantityNames and change["name"] not in quantityNames:
                continue
            result.append(
                {
                    "name": change["name"],
                    "delta": change["delta"],
                    "quantityAfterChange": change["quantityAfterChange"],
                    "ledgerDocumentUri": change["ledgerDocumentUri"],
                    "item": GItem(self._shop, self._shop.items[change["item_id"]]),
                    "location": GLocation(
                        self._shop, self._shop.locations[change["location_id"]]
                    ),
                }
            )
        return result


# ---------------------------------------------------------------------------
ORDER_SORT = {
    "CREATED_AT": lambda o: (_epoch(o.created_at), o.id),
    "UPDATED_AT": lambda o: (_epoch(o.updated_at), o.id),
    "PROCESSED_AT": lambda o: (_epoch(o.processed_at), o.id),
    "ORDER_NUMBER": lambda o: (o.rest["order_number"], o.id),
    "TOTAL_PRICE": lambda o: (int(to_decimal(o.rest["total_price"]) * 100), o.id),
    "FINANCIAL_STATUS": lambda o: (o.rest["financial_status"] or "", o.id),
    "TOTAL_ITEMS_QUANTITY": lambda o: (
        sum(li["quantity"] for li in o.rest["line_items"]),
        o.id,
    ),
}


def _order_status(order):
    rest = order.rest
    values = []
    if rest["cancelled_at"]:
        values.append("cancelled")
    if rest["closed_at"]:
        values.append("closed")
    if not values:
        values.append("open")
    return values


def _fulfillment_aliases(order):
    status = order.rest["fulfillment_status"]
    if status == "fulfilled":
        return ["fulfilled", "shipped"]
    if status == "partial":
        return ["partial", "partially_fulfilled"]
    return ["unfulfilled", "unshipped"]


ORDER_FIELDS = {
    "updated_at": lambda o: o.updated_at,
    "created_at": lambda o: o.created_at,
    "processed_at": lambda o: o.processed_at,
    "id": lambda o: o.id,
    "name": lambda o: [o.rest["name"], o.rest["name"].lstrip("#")],
    "financial_status": lambda o: o.rest["financial_status"],
    "fulfillment_status": _fulfillment_aliases,
    "status": _order_status,
    "email": lambda o: o.rest["email"],
    "tag": lambda o: [t.strip() for t in (o.rest["tags"] or "").split(",")],
    "sku": lambda o: [li["sku"] for li in o.rest["line_items"]],
    "customer_id": lambda o: (o.rest["customer"] or {}).get("id"),
    "test": lambda o: bool(o.rest["test"]),
    "cancelled_at": lambda o: o.cancelled_at,
}

VARIANT_FIELDS = {
    "sku": lambda v: v.sku,
    "id": lambda v: v.id,
    "product_id": lambda v: v.product_id,
    "barcode": lambda v: v.barcode,
    "title": lambda v: v.title,
    "inventory_item_id": lambda v: v.inventory_item_id,
    "created_at": lambda v: v.created_at,
    "updated_at": lambda v: v.updated_at,
}


class Root:
    """Root value for queries and mutations."""

    def __init__(self, shop, version):
        self._shop = shop
        self._version = version

    # -- queries ---------------------------------------------------------------
    @property
    def shop(self):
        return GShop(self._shop)

    @property
    def currentAppInstallation(self):
        return {
            "__typename": "AppInstallation",
            "id": gid("AppInstallation", self._shop.id),
            "accessScopes": [
                {"handle": s, "description": s}
                for s in self._shop.settings["scope"].split(",")
                if s
            ],
        }

    def node(self, info, id):  # noqa: A002 - GraphQL argument name
        return self._lookup(id)

    def nodes(self, info, ids):
        return [self._lookup(i) for i in ids]

    def _lookup(self, value):  # noqa: C901 - one branch per type
        shop = self._shop
        level = parse_level_gid(value)
        if level is not None:
            lvl = shop.levels.get((level[1], level[0]))
            return GLevel(shop, lvl) if lvl else None
        match = re.match(r"^gid://shopify/([A-Za-z]+)/(\d+)", str(value))
        if not match:
            raise GraphQLError(
                f"Invalid global id '{value}'",
                extensions={"code": "argumentLiteralsIncompatible"},
            )
        kind, num = match.group(1), int(match.group(2))
        if kind == "Order" and num in shop.orders:
            return GOrder(shop, shop.orders[num])
        if kind == "Location" and num in shop.locations:
            return GLocation(shop, shop.locations[num])
        if kind == "Product" and num in shop.products:
            return GProduct(shop, shop.products[num])
        if kind == "ProductVariant" and num in shop.variants:
            return GVariant(shop, shop.variants[num])
        if kind == "InventoryItem" and num in shop.items:
            return GItem(shop, shop.items[num])
        if kind == "FulfillmentOrder" and num in shop.fulfillment_orders:
            return GFulfillmentOrder(shop, shop.fulfillment_orders[num])
        if kind == "Fulfillment" and num in shop.fulfillments:
            return GFulfillment(shop, shop.fulfillments[num])
        if kind == "WebhookSubscription" and num in shop.subscriptions:
            return GWebhookSubscription(shop.subscriptions[num])
        if kind == "Customer" and num in shop.customers:
            return GCustomer(shop, shop.customers[num])
        if kind == "Shop" and num == shop.id:
            return GShop(shop)
        if kind == "Refund":
            for order in shop.orders.values():
                for refund in order.rest["refunds"]:
                    if refund["id"] == num:
                        return GRefund(shop, order, refund)
        if kind == "LineItem":
            for order in shop.orders.values():
                for line in order.rest["line_items"]:
                    if line["id"] == num:
                        return GLineItem(shop, order, line)
        return None

    def _typed(self, value, kind):
        node = self._lookup(value)
        return node if node is not None and node.__class__.__name__ == kind else None

    def location(self, info, id=None):  # noqa: A002
        if id is None:
            return GLocation(
                self._shop, self._shop.locations[self._shop.default_location_id]
            )
        return self._typed(id, "GLocation")

    def locations(self, info, query=None, includeInactive=False, **args):
        args.pop("sortKey", None)
        args.pop("includeLegacy", None)
        locs = list(self._shop.locations.values())
        if not includeInactive:
            locs = [loc for loc in locs if loc.active]
        if query:
            search = _search(
                info,
                query,
                {"name": lambda loc: loc.name, "id": lambda loc: loc.id},
                lambda loc: loc.name,
            )
            locs = [loc for loc in locs if search.matches(loc)]
        return _conn(
            locs,
            lambda loc: (loc.name.lower(), loc.id),
            args,
            lambda loc: GLocation(self._shop, loc),
        )

    def order(self, info, id):  # noqa: A002
        return self._typed(id, "GOrder")

    def _orders(self, info, query):
        orders = list(self._shop.orders.values())
        if query:
            search = _search(
                info,
                query,
                ORDER_FIELDS,
                lambda o: f"{o.rest['name']} {o.rest['email']}",
            )
            orders = [o for o in orders if search.matches(o)]
        return orders

    def orders(
        self, info, query=None, sortKey="PROCESSED_AT", savedSearchId=None, **args
    ):
        orders = self._orders(info, query)
        key = ORDER_SORT.get(sortKey, lambda o: (o.id,))
        return _conn(orders, key, args, lambda o: GOrder(self._shop, o))

    def ordersCount(self, info, query=None, limit=10000):
        count = len(self._orders(info, query))
        if limit is not None and count > limit:
            return {"count": limit, "precision": "AT_LEAST"}
        return {"count": count, "precision": "EXACT"}

    def product(self, info, id):  # noqa: A002
        return self._typed(id, "GProduct")

    def products(self, info, query=None, sortKey="ID", **args):
        shop = self._shop
        products = list(shop.products.values())
        if query:
            fields = {
                "title": lambda p: p.title,
                "handle": lambda p: p.handle,
                "status": lambda p: p.status,
                "vendor": lambda p: p.vendor,
                "product_type": lambda p: p.product_type,
                "id": lambda p: p.id,
                "sku": lambda p: [shop.variants[v].sku for v in p.variant_ids],
                "created_at": lambda p: p.created_at,
                "updated_at": lambda p: p.updated_at,
                "tag": lambda p: p.tags,
            }
            search = _search(info, query, fields, lambda p: p.title)
            products = [p for p in products if search.matches(p)]
        keys = {
            "TITLE": lambda p: (p.title.lower(), p.id),
            "CREATED_AT": lambda p: (_epoch(p.created_at), p.id),
            "UPDATED_AT": lambda p: (_epoch(p.updated_at), p.id),
        }
        return _conn(
            products,
            keys.get(sortKey, lambda p: (p.id,)),
            args,
            lambda p: GProduct(shop, p),
        )

    def productVariant(self, info, id):  # noqa: A002
        return self._typed(id, "GVariant")

    def productVariants(self, info, query=None, sortKey="ID", **args):
        shop = self._shop
        variants = list(shop.variants.values())
        if query:
            search = _search(
                info, query, VARIANT_FIELDS, lambda v: f"{v.sku or ''} {v.title}"
            )
            variants = [v for v in variants if search.matches(v)]
        keys = {
            "SKU": lambda v: (v.sku or "", v.id),
            "TITLE": lambda v: (v.title.lower(), v.id),
            "POSITION": lambda v: (v.position, v.id),
        }
        return _conn(
            variants,
            keys.get(sortKey, lambda v: (v.id,)),
            args,
            lambda v: GVariant(shop, v),
        )

    def inventoryItem(self, info, id):  # noqa: A002
        return self._typed(id, "GItem")

    def inventoryItems(self, info, query=None, **args):
        shop = self._shop
        items = list(shop.items.values())
        if query:
            fields = {
                "sku": lambda i: shop.variants[i.variant_id].sku,
                "id": lambda i: i.id,
                "created_at": lambda i: i.created_at,
                "updated_at": lambda i: i.updated_at,
            }
            search = _search(info, query, fields)
            items = [i for i in items if search.matches(i)]
        return _conn(items, lambda i: (i.id,), args, lambda i: GItem(shop, i))

    def inventoryLevel(self, info, id):  # noqa: A002
        return self._typed(id, "GLevel")

    def fulfillmentOrder(self, info, id):  # noqa: A002
        return self._typed(id, "GFulfillmentOrder")

    def fulfillment(self, info, id):  # noqa: A002
        return self._typed(id, "GFulfillment")

    def refund(self, info, id):  # noqa: A002
        return self._typed(id, "GRefund")

    def customer(self, info, id):  # noqa: A002
        return self._typed(id, "GCustomer")

    def webhookSubscription(self, info, id):  # noqa: A002
        return self._typed(id, "GWebhookSubscription")

    def _subscriptions(self, topics=None, format=None, uri=None, callbackUrl=None):  # noqa: A002
        subs = list(self._shop.subscriptions.values())
        if topics:
            subs = [s for s in subs if s.topic in topics]
        if format:
            subs = [s for s in subs if s.format == format]
        address = uri or callbackUrl
        if address:
            subs = [s for s in subs if s.uri == address]
        return subs

    def webhookSubscriptions(
        self,
        info,
        topics=None,
        format=None,  # noqa: A002
        uri=None,
        callbackUrl=None,
        sortKey="CREATED_AT",
        query=None,
        **args,
    ):
        subs = self._subscriptions(topics, format, uri, callbackUrl)
        return _conn(subs, lambda s: (s.id,), args, GWebhookSubscription)

    def webhookSubscriptionsCount(self, info, query=None):
        return {"count": len(self._shop.subscriptions), "precision": "EXACT"}

    # -- mutations ---------------------------------------------------------------
    def inventorySetQuantities(self, info, input):  # noqa: A002
        size = len(input["quantities"])
        if size > MAX_INPUT_SIZE:
            raise GraphQLError(
                f"The input array size of {size} is greater than the maximum "
                f"allowed of {MAX_INPUT_SIZE}.",
                extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
            )
        group, errors = self._shop.set_quantities(input, self._version)
        return {
            "inventoryAdjustmentGroup": GAdjustmentGroup(self._shop, group)
            if group
            else None,
            "userErrors": errors,
        }

    def inventoryAdjustQuantities(self, info, input):  # noqa: A002
        size = len(input["changes"])
        if size > MAX_INPUT_SIZE:
            raise GraphQLError(
                f"The input array size of {size} is greater than the maximum "
                f"allowed of {MAX_INPUT_SIZE}.",
                extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
            )
        group, errors = self._shop.adjust_quantities(input)
        return {
            "inventoryAdjustmentGroup": GAdjustmentGroup(self._shop, group)
            if group
            else None,
            "userErrors": errors,
        }

    def fulfillmentCreate(self, info, fulfillment, message=None):
        result, errors = self._shop.create_fulfillment(fulfillment)
        return {
            "fulfillment": GFulfillment(self._shop, result) if result else None,
            "userErrors": errors,
        }

    fulfillmentCreateV2 = fulfillmentCreate

    def fulfillmentTrackingInfoUpdate(
        self, info, fulfillmentId, trackingInfoInput, notifyCustomer=None
    ):
        f = self._shop.fulfillments.get(parse_gid(fulfillmentId, "Fulfillment"))
        if f is None:
            return {
                "fulfillment": None,
                "userErrors": [
                    {"field": ["fulfillmentId"], "message": "Fulfillment not found."}
                ],
            }
        self._shop.update_tracking(f, trackingInfoInput, notifyCustomer)
        return {"fulfillment": GFulfillment(self._shop, f), "userErrors": []}

    fulfillmentTrackingInfoUpdateV2 = fulfillmentTrackingInfoUpdate

    def fulfillmentCancel(self, info, id):  # noqa: A002
        f = self._shop.fulfillments.get(parse_gid(id, "Fulfillment"))
        if f is None:
            return {
                "fulfillment": None,
                "userErrors": [{"field": ["id"], "message": "Fulfillment not found."}],
            }
        result, errors = self._shop.cancel_fulfillment(f)
        return {
            "fulfillment": GFulfillment(self._shop, f) if result else None,
            "userErrors": errors,
        }

    def _check_address(self, address, topic=None, exclude=None):
        if not address:
            return [
                {
                    "field": ["webhookSubscription", "callbackUrl"],
                    "message": "Address can't be blank",
                }
            ]
        if not re.match(r"^https?://[^\s/]+", address):
            return [
                {
                    "field": ["webhookSubscription", "callbackUrl"],
                    "message": "Address is invalid",
                }
            ]
        for sub in self._shop.subscriptions.values():
            if sub.id != exclude and sub.topic == topic and sub.uri == address:
                return [
                    {
                        "field": ["webhookSubscription", "callbackUrl"],
                        "message": "Address for this topic has already been taken",
                    }
                ]
        return []

    def webhookSubscriptionCreate(self, info, topic, webhookSubscription):
        data = webhookSubscription
        address = data.get("uri") or data.get("callbackUrl")
        errors = self._check_address(address, topic)
        if topic not in TOPICS:
            errors.append({"field": ["topic"], "message": "Topic is not supported"})
        if errors:
            return {"webhookSubscription": None, "userErrors": errors}
        sub = self._shop.add_subscription(topic, address, data, self._version)
        return {"webhookSubscription": GWebhookSubscription(sub), "userErrors": []}

    def webhookSubscriptionUpdate(self, info, id, webhookSubscription):  # noqa: A002
        sub = self._shop.subscriptions.get(parse_gid(id, "WebhookSubscription"))
        if sub is None:
            return {
                "webhookSubscription": None,
                "userErrors": [
                    {"field": ["id"], "message": "Webhook subscription does not exist"}
                ],
            }
        data = webhookSubscription
        address = data.get("uri") or data.get("callbackUrl")
        if address:
            errors = self._check_address(address, sub.topic, exclude=sub.id)
            if errors:
                return {"webhookSubscription": None, "userErrors": errors}
            sub.uri = address
        if data.get("format"):
            sub.format = data["format"]
        if "includeFields" in data:
            sub.include_fields = list(data["includeFields"] or [])
        if "filter" in data:
            sub.filter = data["filter"]
        return {"webhookSubscription": GWebhookSubscription(sub), "userErrors": []}

    def webhookSubscriptionDelete(self, info, id):  # noqa: A002
        sub_id = parse_gid(id, "WebhookSubscription")
        if sub_id not in self._shop.subscriptions:
            return {
                "deletedWebhookSubscriptionId": None,
                "userErrors": [
                    {"field": ["id"], "message": "Webhook subscription does not exist"}
                ],
            }
        del self._shop.subscriptions[sub_id]
        return {"deletedWebhookSubscriptionId": id, "userErrors": []}


# ---------------------------------------------------------------------------
class GraphQLRequest:
    """Parsed, validated request with its requested cost."""

    def __init__(self, query, variables=None, operation_name=None):
        self.query = query
        self.variables = variables or {}
        self.operation_name = operation_name
        if not isinstance(self.variables, dict):
            self.errors = [{"message": "Variables must be a JSON object"}]
            return
        self.errors = []
        self.document = None
        self.operation = None
        self.requested_cost = 0
        if not isinstance(query, str) or not query.strip():
            self.errors = [{"message": "No query string was present"}]
            return
        try:
            self.document = parse(query)
        except GraphQLSyntaxError as exc:
            self.errors = [exc.formatted]
            return
        problems = validate(SCHEMA, self.document)
        if problems:
            self.errors = [p.formatted for p in problems]
            return
        self.operation = find_operation(self.document, operation_name)
        if self.operation is None:
            self.errors = [{"message": "An operation name is required"}]
            return
        self.requested_cost = query_cost(
            SCHEMA, self.document, self.operation, self.variables
        )

    @property
    def is_mutation(self):
        return (
            self.operation is not None and self.operation.operation.value == "mutation"
        )

    def execute(self, shop, version):
        context = {"shop": shop, "version": version}
        result = execute(
            SCHEMA,
            self.document,
            root_value=Root(shop, version),
            context_value=context,
            variable_values=self.variables,
            operation_name=self.operation_name,
        )
        body = {}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        body["data"] = result.data
        actual = query_cost(
            SCHEMA, self.document, self.operation, self.variables, result.data or {}
        )
        return body, actual, context.get("search")
