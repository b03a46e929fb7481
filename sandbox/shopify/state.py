"""In-memory state of simulated Shopify shops and the operations on it.

Every method here is called with the ShopifySystem lock held. Orders are
kept in their REST JSON shape (the single source of truth); GraphQL views
are derived from it in graphql_api.py.
"""

import re
import secrets
import time

from ..core.ratelimit import LeakyBucket
from ..core.util import format_datetime, format_utc, parse_datetime, utcnow
from .money import ZERO, fmt, q2, to_decimal
from .orders import (
    CANCEL_REASONS,
    OrderSpecError,
    build_order,
    build_refund,
    gid,
    paid_amount,
    refresh_order_totals,
    refund_total,
    sale_transaction,
)
from .webhooks import build_delivery, filter_fields, new_event, topic_to_rest

DEFAULT_VERSION = "2026-07"
DEFAULT_SCOPES = (
    "read_orders,write_orders,read_all_orders,read_products,write_products,"
    "read_inventory,write_inventory,read_locations,read_customers,"
    "read_fulfillments,write_fulfillments,read_merchant_managed_fulfillment_orders,"
    "write_merchant_managed_fulfillment_orders,read_assigned_fulfillment_orders,"
    "write_assigned_fulfillment_orders"
)
SET_REASONS = {
    "correction",
    "cycle_count_available",
    "damaged",
    "movement_created",
    "movement_updated",
    "movement_received",
    "movement_canceled",
    "other",
    "promotion",
    "quality_control",
    "received",
    "reservation_created",
    "reservation_deleted",
    "reservation_updated",
    "restock",
    "safety_stock",
    "shrinkage",
}
MAX_QUANTITY = 1_000_000_000
SHOP_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
GID_RE = re.compile(r"^gid://shopify/([A-Za-z]+)/(\d+)(\?.*)?$")
COUNTRIES = {
    "BE": "Belgium",
    "NL": "Netherlands",
    "FR": "France",
    "DE": "Germany",
    "LU": "Luxembourg",
    "GB": "United Kingdom",
    "US": "United States",
    "CA": "Canada",
    "ES": "Spain",
    "IT": "Italy",
}


class ShopError(ValueError):
    """Invalid control-API input (answered 422)."""


def parse_gid(value, kind):
    """Numeric id of ``gid://shopify/<kind>/<id>`` or None."""
    match = GID_RE.match(str(value or ""))
    if not match or match.group(1) != kind:
        return None
    return int(match.group(2))


def parse_level_gid(value):
    """(location_id, inventory_item_id) of an InventoryLevel gid or None."""
    match = re.match(
        r"^gid://shopify/InventoryLevel/(\d+)\?inventory_item_id=(\d+)$",
        str(value or ""),
    )
    if not match:
        return None
    return int(match.group(1)), int(match.group(2))


def parse_offset(text):
    match = re.match(r"^([+-])(\d{2}):?(\d{2})$", str(text))
    if not match:
        raise ShopError("timezone_offset must look like +01:00")
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return minutes if match.group(1) == "+" else -minutes


def level_gid(location_id, item_id):
    return f"gid://shopify/InventoryLevel/{location_id}?inventory_item_id={item_id}"


# ---------------------------------------------------------------------------
class Location:
    def __init__(self, id_, spec, now):
        self.id = id_
        self.name = spec.get("name") or f"Location {id_}"
        self.active = bool(spec.get("active", True))
        self.fulfills_online_orders = bool(spec.get("fulfills_online_orders", True))
        country_code = spec.get("country_code") or "BE"
        self.address = {
            "address1": spec.get("address1"),
            "address2": spec.get("address2"),
            "city": spec.get("city"),
            "zip": spec.get("zip"),
            "province": spec.get("province"),
            "province_code": spec.get("province_code"),
            "country_code": country_code,
            "country": spec.get("country") or COUNTRIES.get(country_code, country_code),
            "phone": spec.get("phone"),
        }
        self.created_at = self.updated_at = now

    def rest(self, offset):
        a = self.address
        return {
            "id": self.id,
            "name": self.name,
            "address1": a["address1"],
            "address2": a["address2"],
            "city": a["city"],
            "zip": a["zip"],
            "province": a["province"],
            "country": a["country_code"],
            "phone": a["phone"],
            "created_at": format_datetime(self.created_at, offset),
            "updated_at": format_datetime(self.updated_at, offset),
            "country_code": a["country_code"],
            "country_name": a["country"],
            "province_code": a["province_code"],
            "legacy": False,
            "active": self.active,
            "admin_graphql_api_id": gid("Location", self.id),
            "localized_country_name": a["country"],
            "localized_province_name": a["province"],
        }


class Product:
    def __init__(self, id_, spec, now):
        self.id = id_
        self.title = spec.get("title") or "Sandbox product"
        self.handle = spec.get("handle") or re.sub(
            r"[^a-z0-9]+", "-", self.title.lower()
        ).strip("-")
        self.vendor = spec.get("vendor") or "Sandbox"
        self.product_type = spec.get("product_type") or ""
        self.status = (spec.get("status") or "active").lower()
        tags = spec.get("tags") or []
        self.tags = (
            [t.strip() for t in tags.split(",")] if isinstance(tags, str) else tags
        )
        self.variant_ids = []
        self.created_at = self.updated_at = now


class Variant:
    def __init__(self, id_, product, spec, item_id, position, now):
        self.id = id_
        self.product_id = product.id
        self.sku = spec.get("sku")
        self.title = spec.get("title") or "Default Title"
        self.price = q2(to_decimal(spec.get("price", "0"), "price"))
        compare = spec.get("compare_at_price")
        self.compare_at_price = q2(to_decimal(compare)) if compare else None
        self.barcode = spec.get("barcode")
        self.grams = int(spec.get("grams", 0))
        self.taxable = bool(spec.get("taxable", True))
        self.inventory_item_id = item_id
        self.position = position
        self.created_at = self.updated_at = now


class InventoryItem:
    def __init__(self, id_, variant_id, spec, now):
        self.id = id_
        self.variant_id = variant_id
        self.tracked = bool(spec.get("tracked", True))
        self.requires_shipping = bool(spec.get("requires_shipping", True))
        self.created_at = self.updated_at = now


class Level:
    def __init__(self, item_id, location_id, available, now):
        self.item_id = item_id
        self.location_id = location_id
        self.available = int(available)
        self.committed = 0
        self.created_at = self.updated_at = now

    @property
    def on_hand(self):
        return self.available + self.committed

    def quantity(self, name):
        if name == "available":
            return self.available
        if name == "on_hand":
            return self.on_hand
        if name == "committed":
            return self.committed
        return 0


class Order:
    def __init__(self, rest, created, processed):
        self.rest = rest
        self.id = rest["id"]
        self.created_at = created
        self.updated_at = created
        self.processed_at = processed
        self.cancelled_at = None
        self.closed_at = None
        self.transactions = []
        self.fo_ids = []
        self.fulfillment_ids = []


class FulfillmentOrderLine:
    def __init__(self, id_, line, inventory_item_id):
        self.id = id_
        self.line_item_id = line["id"]
        self.variant_id = line["variant_id"]
        self.inventory_item_id = inventory_item_id
        self.total = line["quantity"]
        self.remaining = line["quantity"]


class FulfillmentOrder:
    def __init__(self, id_, order, location_id, lines, now):
        self.id = id_
        self.order_id = order.id
        self.location_id = location_id
        self.status = "OPEN"
        self.request_status = "UNSUBMITTED"
        self.lines = lines
        self.fulfillment_ids = []
        self.created_at = self.updated_at = now

    def line(self, line_id):
        return next((ln for ln in self.lines if ln.id == line_id), None)


class Fulfillment:
    def __init__(self, id_, order, rest, fo_ids, now):
        self.id = id_
        self.order_id = order.id
        self.rest = rest
        self.fo_ids = fo_ids
        self.created_at = self.updated_at = now


class Subscription:
    def __init__(self, id_, topic, uri, spec, api_version, now):
        self.id = id_
        self.topic = topic  # GraphQL enum value, e.g. ORDERS_CREATE
        self.uri = uri
        self.format = spec.get("format") or "JSON"
        self.include_fields = list(spec.get("includeFields") or [])
        self.metafield_namespaces = list(spec.get("metafieldNamespaces") or [])
        self.filter = spec.get("filter")
        self.api_version = api_version
        self.created_at = self.updated_at = now

    @property
    def rest_topic(self):
        return topic_to_rest(self.topic)

    def rest(self, offset):
        return {
            "id": self.id,
            "address": self.uri,
            "topic": self.rest_topic,
            "created_at": format_datetime(self.created_at, offset),
            "updated_at": format_datetime(self.updated_at, offset),
            "format": self.format.lower(),
            "fields": self.include_fields,
            "metafield_namespaces": self.metafield_namespaces,
            "api_version": self.api_version,
            "private_metafield_namespaces": [],
            "admin_graphql_api_id": gid("WebhookSubscription", self.id),
        }


# ---------------------------------------------------------------------------
class Shop:
    def __init__(self, name, ctx):
        if not SHOP_NAME_RE.match(name):
            raise ShopError("shop names are lowercase letters, digits and dashes")
        self.ctx = ctx
        self.name = name
        self.domain = f"{name}.myshopify.com"
        self.id = ctx.ids.next()
        self.created_at = utcnow()
        self.settings = {
            "access_token": "shpat_sandbox",
            "webhook_secret": "sandbox-webhook-secret",
            "client_id": "sandbox-client-id",
            "client_secret": "sandbox-client-secret",
            "scope": DEFAULT_SCOPES,
            "token_ttl": 86399,
            "currency": "EUR",
            "timezone_offset": "+01:00",
            "iana_timezone": "Europe/Brussels",
            "shop_title": name.replace("-", " ").title(),
            "email": f"owner@{name}.example.com",
            "taxes_included": False,
            "max_query_cost": 1000,
            "auto_create_products": True,
            "webhook_api_version": DEFAULT_VERSION,
        }
        self.offset = 60
        self.gql_bucket = LeakyBucket(1000, 50)
        self.rest_bucket = LeakyBucket(40, 2)
        self.tokens = {}  # client-credentials token -> expiry (epoch seconds)
        self.locations = {}
        self.products = {}
        self.variants = {}
        self.items = {}
        self.levels = {}  # (item_id, location_id) -> Level
        self.customers = {}
        self.orders = {}
        self.fulfillment_orders = {}
        self.fulfillments = {}
        self.subscriptions = {}
        self.next_order_number = 1001
        self.inventory_log = []
        self.default_location_id = self.add_location({"name": "Sandbox Warehouse"}).id

    # -- configuration ------------------------------------------------------
    def configure(self, spec):  # noqa: C901 - flat list of settings
        spec = dict(spec or {})
        throttle = spec.pop("graphql_throttle", None) or {}
        rest_limit = spec.pop("rest_limit", None) or {}
        spec.pop("name", None)
        locations = spec.pop("locations", None)
        if "timezone_offset" in spec:
            self.offset = parse_offset(spec["timezone_offset"])
        if "currency" in spec:
            spec["currency"] = str(spec["currency"]).upper()
        for key in ("maximum_available", "restore_rate"):
            if key in spec:
                throttle[key] = spec.pop(key)
        for key in ("bucket_size", "leak_rate"):
            if key in spec:
                rest_limit[key] = spec.pop(key)
        unknown = set(spec) - set(self.settings)
        if unknown:
            raise ShopError(f"unknown shop settings: {sorted(unknown)}")
        self.settings.update(spec)
        if throttle:
            self.gql_bucket.configure(
                throttle.get("maximum_available"), throttle.get("restore_rate")
            )
            if throttle.get("reset", True):
                self.gql_bucket.reset()
            if "currently_available" in throttle:
                self.gql_bucket.reset()
                self.gql_bucket.try_consume(
                    self.gql_bucket.capacity - float(throttle["currently_available"])
                )
        if rest_limit:
            self.rest_bucket.configure(
                rest_limit.get("bucket_size"), rest_limit.get("leak_rate")
            )
            self.rest_bucket.reset()
        for loc in locations or []:
            self.add_location(loc)

    def describe(self):
        data = {k: v for k, v in self.settings.items()}
        data.update(
            {
                "name": self.name,
                "id": self.id,
                "domain": self.domain,
                "default_location_id": self.default_location_id,
                "graphql_throttle": {
                    "maximum_available": self.gql_bucket.capacity,
                    "restore_rate": self.gql_bucket.rate,
                    "currently_available": int(self.gql_bucket.available),
                },
                "rest_limit": {
                    "bucket_size": self.rest_bucket.capacity,
                    "leak_rate": self.rest_bucket.rate,
                    "used": int(round(self.rest_bucket.used)),
                },
                "client_credentials_tokens": len(self.tokens),
                "counts": {
                    "locations": len(self.locations),
                    "products": len(self.products),
                    "orders": len(self.orders),
                    "webhook_subscriptions": len(self.subscriptions),
                },
            }
        )
        return data

    @property
    def currency(self):
        return self.settings["currency"]

    def new_id(self):
        return self.ctx.ids.next()

    # -- auth ---------------------------------------------------------------
    def check_token(self, token):
        if not token:
            return False
        if secrets.compare_digest(
            token.encode("utf-8"), self.settings["access_token"].encode("utf-8")
        ):
            return True
        expiry = self.tokens.get(token)
        return expiry is not None and expiry > time.time()

    def issue_token(self, client_id, client_secret):
        if not (
            secrets.compare_digest(
                str(client_id or "").encode(), self.settings["client_id"].encode()
            )
            and secrets.compare_digest(
                str(client_secret or "").encode(),
                self.settings["client_secret"].encode(),
            )
        ):
            return None
        token = "shpat_" + secrets.token_hex(16)
        ttl = int(self.settings["token_ttl"])
        self.tokens[token] = time.time() + ttl
        return {
            "access_token": token,
            "scope": self.settings["scope"],
            "expires_in": ttl,
        }

    def expire_tokens(self, token=None):
        count = 0
        for key in list(self.tokens):
            if token is None or key == token:
                self.tokens[key] = 0
                count += 1
        return count

    # -- events -------------------------------------------------------------
    def emit(self, topic, payload):
        """Queue ``topic`` (e.g. orders/create) for every matching subscription."""
        subs = [s for s in self.subscriptions.values() if s.rest_topic == topic]
        if not subs:
            return []
        event_id, at = new_event()
        created = []
        for sub in subs:
            body, headers = build_delivery(
                self.domain,
                self.settings["webhook_secret"],
                topic,
                filter_fields(payload, sub.include_fields),
                sub.api_version,
                event_id,
                at,
            )
            created += self.ctx.dispatcher.enqueue(
                "shopify",
                topic,
                sub.uri,
                body,
                headers,
                headers["X-Shopify-Webhook-Id"],
                {
                    "shop": self.name,
                    "event_id": event_id,
                    "subscription_id": sub.id,
                    "target": self.name,
                },
            )
        return created

    # -- locations / products / inventory ----------------------------------
    def add_location(self, spec):
        loc = Location(self.new_id(), spec or {}, utcnow())
        self.locations[loc.id] = loc
        for item in self.items.values():
            if (spec or {}).get("stock_all_items", True):
                self.levels.setdefault(
                    (item.id, loc.id), Level(item.id, loc.id, 0, utcnow())
                )
        return loc

    def find_location(self, ref):
        """Location by id, gid or name (None if absent)."""
        if ref is None:
            return self.locations[self.default_location_id]
        if isinstance(ref, int) or str(ref).isdigit():
            return self.locations.get(int(ref))
        loc_id = parse_gid(ref, "Location")
        if loc_id:
            return self.locations.get(loc_id)
        return next((v for v in self.locations.values() if v.name == ref), None)

    def variant_by_sku(self, sku):
        if sku is None:
            return None
        return next((v for v in self.variants.values() if v.sku == sku), None)

    def add_product(self, spec):
        if not isinstance(spec, dict):
            raise ShopError("a product must be a JSON object")
        now = utcnow()
        product = Product(self.new_id(), spec, now)
        variants = spec.get("variants") or [
            {k: spec[k] for k in ("sku", "price", "inventory", "barcode") if k in spec}
        ]
        self.products[product.id] = product
        for position, vspec in enumerate(variants, start=1):
            if vspec.get("sku") and self.variant_by_sku(vspec["sku"]):
                raise ShopError(f"SKU {vspec['sku']!r} already exists")
            variant_id = self.new_id()
            item = InventoryItem(self.new_id(), variant_id, vspec, now)
            variant = Variant(variant_id, product, vspec, item.id, position, now)
            self.variants[variant.id] = variant
            self.items[item.id] = item
            product.variant_ids.append(variant.id)
            inventory = vspec.get("inventory")
            if inventory is None:
                inventory = {}
            elif not isinstance(inventory, dict):
                inventory = {str(self.default_location_id): inventory}
            for loc in self.locations.values():
                qty = inventory.get(str(loc.id), inventory.get(loc.name, 0))
                self.levels[(item.id, loc.id)] = Level(item.id, loc.id, qty, now)
            for ref in inventory:
                if self.find_location(ref) is None:
                    raise ShopError(f"unknown location {ref!r}")
        self.emit("products/create", self.product_rest(product))
        return product

    def product_rest(self, product):
        off = self.offset
        return {
            "id": product.id,
            "title": product.title,
            "body_html": "",
            "vendor": product.vendor,
            "product_type": product.product_type,
            "created_at": format_datetime(product.created_at, off),
            "handle": product.handle,
            "updated_at": format_datetime(product.updated_at, off),
            "published_at": format_datetime(product.created_at, off),
            "status": product.status,
            "tags": ", ".join(product.tags),
            "admin_graphql_api_id": gid("Product", product.id),
            "variants": [
                self.variant_rest(self.variants[v]) for v in product.variant_ids
            ],
            "options": [{"name": "Title", "position": 1, "values": ["Default Title"]}],
            "images": [],
            "image": None,
        }

    def variant_rest(self, variant):
        off = self.offset
        return {
            "id": variant.id,
            "product_id": variant.product_id,
            "title": variant.title,
            "price": fmt(variant.price),
            "sku": variant.sku,
            "position": variant.position,
            "compare_at_price": fmt(variant.compare_at_price)
            if variant.compare_at_price
            else None,
            "barcode": variant.barcode,
            "grams": variant.grams,
            "taxable": variant.taxable,
            "inventory_item_id": variant.inventory_item_id,
            "inventory_quantity": self.total_available(variant.inventory_item_id),
            "inventory_management": "shopify",
            "created_at": format_datetime(variant.created_at, off),
            "updated_at": format_datetime(variant.updated_at, off),
            "admin_graphql_api_id": gid("ProductVariant", variant.id),
        }

    def total_available(self, item_id):
        return sum(
            lvl.available for (i, _l), lvl in self.levels.items() if i == item_id
        )

    def level_rest(self, level):
        return {
            "inventory_item_id": level.item_id,
            "location_id": level.location_id,
            "available": level.available,
            "updated_at": format_datetime(level.updated_at, self.offset),
            "admin_graphql_api_id": level_gid(level.location_id, level.item_id),
        }

    def level_view(self, level):
        """Control-API view of an inventory level (all quantities)."""
        item = self.items[level.item_id]
        variant = self.variants.get(item.variant_id)
        return {
            "sku": variant.sku if variant else None,
            "variant_id": item.variant_id,
            "inventory_item_id": level.item_id,
            "inventory_item_gid": gid("InventoryItem", level.item_id),
            "location_id": level.location_id,
            "location_gid": gid("Location", level.location_id),
            "location_name": self.locations[level.location_id].name,
            "available": level.available,
            "committed": level.committed,
            "on_hand": level.on_hand,
            "updated_at": format_utc(level.updated_at),
        }

    def _change_level(self, level, available_delta=0, committed_delta=0, source=""):
        if not (available_delta or committed_delta):
            return
        level.available += available_delta
        level.committed += committed_delta
        level.updated_at = utcnow()
        if available_delta:
            self._log_inventory(level, "available", available_delta, source, None, None)
            self.emit("inventory_levels/update", self.level_rest(level))

    def _log_inventory(self, level, name, delta, source, reason, reference):
        item = self.items[level.item_id]
        variant = self.variants.get(item.variant_id)
        self.inventory_log.append(
            {
                "at": format_utc(utcnow()),
                "source": source,
                "sku": variant.sku if variant else None,
                "inventory_item_id": level.item_id,
                "location_id": level.location_id,
                "name": name,
                "delta": delta,
                "quantity_after": level.quantity(name),
                "reason": reason,
                "reference_document_uri": reference,
            }
        )

    def set_quantities(self, inp, api_version):  # noqa: C901 - mirrors Shopify checks
        """inventorySetQuantities; returns (group dict | None, user errors)."""
        errors = []

        def err(code, message, *field):
            errors.append({"code": code, "field": list(field), "message": message})

        name = inp.get("name")
        if name not in ("available", "on_hand"):
            err(
                "INVALID_NAME",
                "The quantity name must be either 'available' or 'on_hand'.",
                "input",
                "name",
            )
        if inp.get("reason") not in SET_REASONS:
            err("INVALID_REASON", "The specified reason is invalid.", "input", "reason")
        new_cas = api_version >= "2026-04"
        plan = []
        seen = set()
        for i, q in enumerate(inp.get("quantities") or []):
            path = ("input", "quantities", str(i))
            item_id = parse_gid(q.get("inventoryItemId"), "InventoryItem")
            loc_id = parse_gid(q.get("locationId"), "Location")
            if item_id not in self.items:
                err(
                    "INVALID_INVENTORY_ITEM",
                    "The specified inventory item could not be found.",
                    *path,
                    "inventoryItemId",
                )
                continue
            if loc_id not in self.locations:
                err(
                    "INVALID_LOCATION",
                    "The specified location could not be found.",
                    *path,
                    "locationId",
                )
                continue
            level = self.levels.get((item_id, loc_id))
            if level is None:
                err(
                    "ITEM_NOT_STOCKED_AT_LOCATION",
                    "The specified inventory item is not stocked at the location.",
                    *path,
                    "locationId",
                )
                continue
            if (item_id, loc_id) in seen:
                err(
                    "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                    "The combination of inventoryItemId and locationId must be unique.",
                    *path,
                )
                continue
            seen.add((item_id, loc_id))
            quantity = q["quantity"]
            if quantity > MAX_QUANTITY:
                err(
                    "INVALID_QUANTITY_TOO_HIGH",
                    "The quantity can't be higher than 1,000,000,000.",
                    *path,
                    "quantity",
                )
                continue
            if quantity < -MAX_QUANTITY:
                err(
                    "INVALID_QUANTITY_TOO_LOW",
                    "The quantity can't be lower than -1,000,000,000.",
                    *path,
                    "quantity",
                )
                continue
            if name == "on_hand" and quantity < 0:
                err(
                    "INVALID_QUANTITY_NEGATIVE",
                    "The quantity can't be negative.",
                    *path,
                    "quantity",
                )
                continue
            current = level.quantity(name) if name else 0
            if "changeFromQuantity" in q:
                expected = q["changeFromQuantity"]
                if expected is not None and expected != current:
                    err(
                        "CHANGE_FROM_QUANTITY_STALE",
                        "The changeFromQuantity value does not match persisted value.",
                        *path,
                        "changeFromQuantity",
                    )
                    continue
            elif inp.get("ignoreCompareQuantity"):
                pass
            elif q.get("compareQuantity") is not None:
                if q["compareQuantity"] != current:
                    err(
                        "COMPARE_QUANTITY_STALE",
                        "The compareQuantity value does not match persisted value.",
                        *path,
                        "compareQuantity",
                    )
                    continue
            else:
                err(
                    "COMPARE_QUANTITY_REQUIRED",
                    "changeFromQuantity must be given to each quantity (null to "
                    "skip the check)."
                    if new_cas
                    else "The compareQuantity argument must be given to each "
                    "quantity or ignored using ignoreCompareQuantity.",
                    *path,
                    "changeFromQuantity" if new_cas else "compareQuantity",
                )
                continue
            plan.append((level, quantity))
        if errors:
            return None, errors
        now = utcnow()
        group = {
            "id": gid("InventoryAdjustmentGroup", self.new_id()),
            "createdAt": format_utc(now),
            "reason": inp["reason"],
            "referenceDocumentUri": inp.get("referenceDocumentUri"),
            "changes": [],
        }
        for level, quantity in plan:
            if name == "available":
                delta = quantity - level.available
            else:
                delta = quantity - level.on_hand
            level.available += delta
            level.updated_at = now
            for qname in ("available", "on_hand"):
                group["changes"].append(
                    {
                        "name": qname,
                        "delta": delta,
                        "quantityAfterChange": level.quantity(qname),
                        "item_id": level.item_id,
                        "location_id": level.location_id,
                        "ledgerDocumentUri": None,
                    }
                )
            self._log_inventory(
                level,
                name,
                delta,
                "graphql:inventorySetQuantities",
                inp["reason"],
                inp.get("referenceDocumentUri"),
            )
            if delta:
                self.emit("inventory_levels/update", self.level_rest(level))
        return group, []

    def adjust_quantities(self, inp):
        """inventoryAdjustQuantities ('available' deltas)."""
        errors = []
        name = inp.get("name")
        if name not in ("available", "on_hand"):
            errors.append(
                {
                    "code": "INVALID_QUANTITY_NAME",
                    "field": ["input", "name"],
                    "message": "The quantity name is invalid.",
                }
            )
        if inp.get("reason") not in SET_REASONS:
            errors.append(
                {
                    "code": "INVALID_REASON",
                    "field": ["input", "reason"],
                    "message": "The specified reason is invalid.",
                }
            )
        plan = []
        for i, change in enumerate(inp.get("changes") or []):
            item_id = parse_gid(change.get("inventoryItemId"), "InventoryItem")
            loc_id = parse_gid(change.get("locationId"), "Location")
            level = self.levels.get((item_id, loc_id))
            if level is None:
                errors.append(
                    {
                        "code": "ITEM_NOT_STOCKED_AT_LOCATION"
                        if item_id in self.items and loc_id in self.locations
                        else "INVALID_INVENTORY_ITEM",
                        "field": ["input", "changes", str(i)],
                        "message": "The specified inventory item is not stocked "
                        "at the location.",
                    }
                )
                continue
            expected = change.get("changeFromQuantity")
            if expected is not None and expected != level.quantity(name):
                errors.append(
                    {
                        "code": "CHANGE_FROM_QUANTITY_STALE",
                        "field": ["input", "changes", str(i), "changeFromQuantity"],
                        "message": "The changeFromQuantity value does not match "
                        "persisted value.",
                    }
                )
                continue
            plan.append((level, change["delta"], change.get("ledgerDocumentUri")))
        if errors:
            return None, errors
        now = utcnow()
        group = {
            "id": gid("InventoryAdjustmentGroup", self.new_id()),
            "createdAt": format_utc(now),
            "reason": inp["reason"],
            "referenceDocumentUri": inp.get("referenceDocumentUri"),
            "changes": [],
        }
        for level, delta, ledger in plan:
            level.available += delta
            level.updated_at = now
            group["changes"].append(
                {
                    "name": name,
                    "delta": delta,
                    "quantityAfterChange": level.quantity(name),
                    "item_id": level.item_id,
                    "location_id": level.location_id,
                    "ledgerDocumentUri": ledger,
                }
            )
            self._log_inventory(
                level,
                name,
                delta,
                "graphql:inventoryAdjustQuantities",
                inp["reason"],
                inp.get("referenceDocumentUri"),
            )
            if delta:
                self.emit("inventory_levels/update", self.level_rest(level))
        return group, []

    # -- customers -----------------------------------------------------------
    def customer_for(self, spec):
        if not spec:
            return None
        if not isinstance(spec, dict):
            raise OrderSpecError("customer must be an object")
        email = (spec.get("email") or "").strip().lower() or None
        existing = None
        if spec.get("id") is not None:
            existing = self.customers.get(int(spec["id"]))
        if existing is None and email:
            existing = next(
                (c for c in self.customers.values() if c["email"] == email), None
            )
        if existing is not None:
            return dict(existing)
        now = format_datetime(utcnow(), self.offset)
        cust_id = int(spec["id"]) if spec.get("id") is not None else self.new_id()
        address_spec = spec.get("default_address") or {}
        country_code = address_spec.get("country_code") or "BE"
        address = {
            "id": self.new_id(),
            "customer_id": cust_id,
            "first_name": spec.get("first_name"),
            "last_name": spec.get("last_name"),
            "company": address_spec.get("company"),
            "address1": address_spec.get("address1") or "1 Sandbox Street",
            "address2": address_spec.get("address2"),
            "city": address_spec.get("city") or "Brussels",
            "province": address_spec.get("province"),
            "country": address_spec.get("country")
            or COUNTRIES.get(country_code, country_code),
            "zip": address_spec.get("zip") or "1000",
            "phone": address_spec.get("phone"),
            "name": " ".join(
                n for n in (spec.get("first_name"), spec.get("last_name")) if n
            ),
            "province_code": address_spec.get("province_code"),
            "country_code": country_code,
            "country_name": address_spec.get("country")
            or COUNTRIES.get(country_code, country_code),
            "default": True,
        }
        customer = {
            "id": cust_id,
            "email": email,
            "created_at": now,
            "updated_at": now,
            "first_name": spec.get("first_name"),
            "last_name": spec.get("last_name"),
            "state": "enabled",
            "note": None,
            "verified_email": True,
            "multipass_identifier": None,
            "tax_exempt": False,
            "phone": spec.get("phone"),
            "email_marketing_consent": None,
            "sms_marketing_consent": None,
            "tags": "",
            "currency": self.currency,
            "tax_exemptions": [],
            "admin_graphql_api_id": gid("Customer", cust_id),
            "default_address": address,
        }
        self.customers[cust_id] = customer
        return dict(customer)

    # -- orders ---------------------------------------------------------------
    def _resolve_line(self, line):
        sku = line.get("sku")
        variant = self.variant_by_sku(sku)
        if variant is None and sku and self.settings["auto_create_products"]:
            product = self.add_product(
                {
                    "title": line.get("title") or sku,
                    "variants": [
                        {"sku": sku, "price": line.get("price", "0"), "inventory": 0}
                    ],
                }
            )
            variant = self.variants[product.variant_ids[0]]
        if variant is None:
            if sku:
                raise OrderSpecError(f"unknown SKU {sku!r}")
            if not line.get("title"):
                raise OrderSpecError("a custom line (no sku) needs a title")
            return {"sku": None, "title": line["title"], "price": None}
        product = self.products[variant.product_id]
        return {
            "sku": variant.sku,
            "variant_id": variant.id,
            "product_id": product.id,
            "title": product.title,
            "variant_title": None
            if variant.title == "Default Title"
            else variant.title,
            "vendor": product.vendor,
            "grams": variant.grams,
            "price": variant.price,
            "inventory_item_id": variant.inventory_item_id,
        }

    class _Ctx:
        def __init__(self, shop):
            self.shop = shop
            self.currency = shop.currency
            self.offset_minutes = shop.offset
            self.domain = shop.domain

        def new_id(self):
            return self.shop.new_id()

        def resolve_line(self, line):
            return self.shop._resolve_line(line)

        def customer(self, spec):
            return self.shop.customer_for(spec)

    def create_order(self, spec):  # noqa: C901
        if not isinstance(spec, dict):
            raise OrderSpecError("the order spec must be a JSON object")
        now = utcnow()
        spec = dict(spec)
        spec.setdefault("taxes_included", self.settings["taxes_included"])
        location = self.find_location(spec.get("location"))
        if location is None:
            raise OrderSpecError(f"unknown location {spec.get('location')!r}")
        status = spec.get("financial_status") or "paid"
        if status in ("partially_refunded", "refunded", "voided"):
            raise OrderSpecError(
                f"create the order paid/authorized, then refund/cancel it "
                f"(financial_status {status!r} is not a creation status)"
            )
        rest = build_order(spec, self._Ctx(self), self.next_order_number, now)
        self.next_order_number += 1
        created = parse_datetime(rest["created_at"])
        order = Order(rest, created, parse_datetime(rest["processed_at"]))
        total = to_decimal(rest["total_price"])
        if status == "paid":
            order.transactions.append(self._txn(order, "sale", total, created))
        elif status == "authorized":
            order.transactions.append(self._txn(order, "authorization", total, created))
        elif status == "partially_paid":
            paid = q2(to_decimal(spec.get("paid_amount") or total / 2))
            order.transactions.append(self._txn(order, "sale", paid, created))
            rest["total_outstanding"] = fmt(total - paid)
        # one fulfillment order at the assigned location
        fo_lines = []
        for line in rest["line_items"]:
            variant = self.variants.get(line["variant_id"])
            item_id = variant.inventory_item_id if variant else None
            fo_lines.append(FulfillmentOrderLine(self.new_id(), line, item_id))
            level = self.levels.get((item_id, location.id))
            if level is not None and self.items[item_id].tracked:
                self._change_level(
                    level, -line["quantity"], line["quantity"], "order:create"
                )
        fo = FulfillmentOrder(self.new_id(), order, location.id, fo_lines, created)
        self.fulfillment_orders[fo.id] = fo
        order.fo_ids.append(fo.id)
        self.orders[order.id] = order
        self.emit("orders/create", rest)
        if status == "paid":
            self.emit("orders/paid", rest)
        return order

    def _txn(self, order, kind, amount, when):
        txn = sale_transaction(order.rest, kind, amount, self.new_id, when, self.offset)
        txn["payment_id"] = f"{order.rest['name']}.{len(order.transactions) + 1}"
        return txn

    def touch(self, order, when=None):
        when = when or utcnow()
        order.updated_at = max(when, order.updated_at)
        order.rest["updated_at"] = format_datetime(order.updated_at, self.offset)

    def get_order(self, order_id):
        try:
            return self.orders.get(int(order_id))
        except (TypeError, ValueError):
            return None

    def update_order(self, order, changes):
        if not isinstance(changes, dict):
            raise OrderSpecError("changes must be an object")
        rest = order.rest
        allowed = {
            "note",
            "tags",
            "email",
            "phone",
            "note_attributes",
            "financial_status",
            "shipping_address",
            "billing_address",
            "updated_at",
            "po_number",
        }
        unknown = set(changes) - allowed
        if unknown:
            raise OrderSpecError(f"cannot update {sorted(unknown)}")
        became_paid = False
        for key, value in changes.items():
            if key in ("shipping_address", "billing_address"):
                base = dict(rest.get(key) or {})
                base.update(value or {})
                names = [base.get("first_name"), base.get("last_name")]
                base["name"] = " ".join(n for n in names if n) or None
                rest[key] = base
            elif key == "tags":
                rest["tags"] = ", ".join(value) if isinstance(value, list) else value
            elif key == "financial_status":
                became_paid = self._set_financial_status(order, value)
            elif key != "updated_at":
                rest[key] = value
        when = (
            parse_datetime(changes["updated_at"]) if "updated_at" in changes else None
        )
        if when is not None:
            order.updated_at = when
            rest["updated_at"] = format_datetime(when, self.offset)
        else:
            self.touch(order)
        self.emit("orders/updated", rest)
        if became_paid:
            self.emit("orders/paid", rest)
        return order

    def _set_financial_status(self, order, value):
        rest = order.rest
        total = to_decimal(rest["total_price"])
        before = rest["financial_status"]
        if value == before:
            return False
        if value == "paid":
            outstanding = total - paid_amount(order.transactions)
            if outstanding > 0:
                kind = "capture" if before == "authorized" else "sale"
                order.transactions.append(self._txn(order, kind, outstanding, utcnow()))
            rest["total_outstanding"] = "0.00"
            rest["financial_status"] = "paid"
            return True
        if value not in ("pending", "authorized", "partially_paid", "voided"):
            raise OrderSpecError(
                f"financial_status {value!r}: use the refund / cancel endpoints"
            )
        rest["financial_status"] = value
        return False

    def cancel_order(self, order, opts):
        rest = order.rest
        if rest["cancelled_at"]:
            raise OrderSpecError("the order is already cancelled")
        reason = (opts.get("reason") or "customer").lower()
        if reason not in CANCEL_REASONS:
            raise OrderSpecError(f"reason must be one of {sorted(CANCEL_REASONS)}")
        restock = bool(opts.get("restock", True))
        refund = None
        paid = paid_amount(order.transactions)
        if opts.get("refund", True) and paid > 0:
            lines = []
            done = {}
            for r in rest["refunds"]:
                for rli in r["refund_line_items"]:
                    done[rli["line_item_id"]] = (
                        done.get(rli["line_item_id"], 0) + rli["quantity"]
                    )
            for line in rest["line_items"]:
                qty = line["quantity"] - done.get(line["id"], 0)
                if qty > 0:
                    lines.append(
                        {
                            "line_item_id": line["id"],
                            "quantity": qty,
                            "restock_type": "cancel" if restock else "no_restock",
                        }
                    )
            refund = self._make_refund(
                order, {"lines": lines, "shipping": {"full_refund": True}}, emit=False
            )
        elif restock:
            self._release_unfulfilled(order)
        now = utcnow()
        rest["cancelled_at"] = format_datetime(now, self.offset)
        rest["closed_at"] = rest["cancelled_at"]
        rest["cancel_reason"] = reason
        order.cancelled_at = order.closed_at = now
        if rest["financial_status"] == "authorized":
            rest["financial_status"] = "voided"
            order.transactions.append(
                self._txn(order, "void", to_decimal(rest["total_price"]), now)
            )
        for fo_id in order.fo_ids:
            fo = self.fulfillment_orders[fo_id]
            if fo.status in ("OPEN", "IN_PROGRESS"):
                fo.status = "CLOSED"
            for ln in fo.lines:
                ln.remaining = 0
            fo.updated_at = now
        self._refresh_fulfillment_status(order)
        self.touch(order, now)
        if refund is not None:
            self.emit("refunds/create", refund)
        self.emit("orders/cancelled", rest)
        self.emit("orders/updated", rest)
        return order

    def _release_unfulfilled(self, order):
        """Put unfulfilled quantities back (committed -> available)."""
        for fo_id in order.fo_ids:
            fo = self.fulfillment_orders[fo_id]
            for ln in fo.lines:
                level = self.levels.get((ln.inventory_item_id, fo.location_id))
                if ln.remaining and level is not None:
                    self._change_level(
                        level, ln.remaining, -ln.remaining, "order:cancel"
                    )
                ln.remaining = 0

    def create_refund(self, order, spec):
        if not isinstance(spec, dict):
            raise OrderSpecError("the refund spec must be a JSON object")
        return self._make_refund(order, spec, emit=True)

    def _make_refund(self, order, spec, emit):
        rest = order.rest
        refund, restocks = build_refund(
            rest, spec, order.transactions, self.new_id, utcnow(), self.offset
        )
        for line, quantity, restock_type, location_id in restocks:
            self._restock(order, line, quantity, restock_type, location_id, refund)
        rest["refunds"].append(refund)
        order.transactions.extend(refund["transactions"])
        refresh_order_totals(rest)
        if rest["financial_status"] in ("paid", "partially_paid", "partially_refunded"):
            refunded = sum((refund_total(r) for r in rest["refunds"]), ZERO)
            if refunded >= to_decimal(rest["total_price"]):
                rest["financial_status"] = "refunded"
            elif refunded > 0:
                rest["financial_status"] = "partially_refunded"
        self._refresh_fulfillment_status(order)
        self.touch(order)
        if emit:
            self.emit("refunds/create", refund)
            self.emit("orders/updated", rest)
        return refund

    def _restock(self, order, line, quantity, restock_type, location_id, refund):
        fo = self.fulfillment_orders[order.fo_ids[0]]
        location = self.find_location(location_id) if location_id else None
        loc_id = location.id if location else fo.location_id
        variant = self.variants.get(line["variant_id"])
        level = (
            self.levels.get((variant.inventory_item_id, loc_id)) if variant else None
        )
        for rli in refund["refund_line_items"]:
            if rli["line_item_id"] == line["id"]:
                rli["location_id"] = loc_id
        if restock_type == "cancel":
            fo_line = next(
                (ln for ln in fo.lines if ln.line_item_id == line["id"]), None
            )
            take = min(quantity, fo_line.remaining) if fo_line else 0
            if fo_line:
                fo_line.remaining -= take
            if level is not None and take:
                self._change_level(level, take, -take, "refund:cancel")
        elif level is not None:
            self._change_level(level, quantity, 0, f"refund:{restock_type}")

    # -- fulfillments ---------------------------------------------------------
    def _refresh_fulfillment_status(self, order):
        rest = order.rest
        fulfilled = {}
        for f_id in order.fulfillment_ids:
            f = self.fulfillments[f_id]
            if f.rest["status"] != "success":
                continue
            for li in f.rest["line_items"]:
                fulfilled[li["id"]] = fulfilled.get(li["id"], 0) + li["quantity"]
        remaining = {}
        for fo_id in order.fo_ids:
            fo = self.fulfillment_orders[fo_id]
            for ln in fo.lines:
                remaining[ln.line_item_id] = remaining.get(ln.line_item_id, 0) + (
                    ln.remaining
                )
            if fo.status in ("OPEN", "IN_PROGRESS"):
                done_any = any(ln.remaining < ln.total for ln in fo.lines)
                if all(ln.remaining == 0 for ln in fo.lines):
                    fo.status = "CLOSED"
                elif done_any and fo.fulfillment_ids:
                    fo.status = "IN_PROGRESS"
            elif fo.status == "CLOSED" and any(ln.remaining for ln in fo.lines):
                fo.status = "IN_PROGRESS" if fo.fulfillment_ids else "OPEN"
        any_done = False
        all_done = True
        for line in rest["line_items"]:
            done = fulfilled.get(line["id"], 0)
            line["fulfillable_quantity"] = remaining.get(line["id"], 0)
            if done and done >= line["current_quantity"]:
                line["fulfillment_status"] = "fulfilled"
            elif done:
                line["fulfillment_status"] = "partial"
            else:
                line["fulfillment_status"] = None
            any_done = any_done or bool(done)
            if line["current_quantity"] > 0 and done < line["current_quantity"]:
                all_done = False
        if any_done and all_done:
            rest["fulfillment_status"] = "fulfilled"
        elif any_done:
            rest["fulfillment_status"] = "partial"
        else:
            rest["fulfillment_status"] = None

    def create_fulfillment(self, inp):  # noqa: C901 - mirrors Shopify checks
        """fulfillmentCreate; returns (Fulfillment | None, user errors)."""
        errors = []
        groups = inp.get("lineItemsByFulfillmentOrder") or []
        if not groups:
            errors.append(
                {
                    "field": ["fulfillment", "lineItemsByFulfillmentOrder"],
                    "message": "Line items by fulfillment order must not be empty.",
                }
            )
        order_id = None
        plan = {}  # fo line id -> (fo, fo line, quantity)
        for gi, group in enumerate(groups):
            path = ["fulfillment", "lineItemsByFulfillmentOrder", str(gi)]
            fo = self.fulfillment_orders.get(
                parse_gid(group.get("fulfillmentOrderId"), "FulfillmentOrder")
            )
            if fo is None:
                errors.append(
                    {
                        "field": [*path, "fulfillmentOrderId"],
                        "message": "Fulfillment order does not exist.",
                    }
                )
                continue
            if order_id is None:
                order_id = fo.order_id
            elif fo.order_id != order_id:
                errors.append(
                    {
                        "field": [*path, "fulfillmentOrderId"],
                        "message": "All fulfillment orders must belong to the same "
                        "order.",
                    }
                )
                continue
            if fo.status not in ("OPEN", "IN_PROGRESS"):
                errors.append(
                    {
                        "field": [*path, "fulfillmentOrderId"],
                        "message": f"Fulfillment order {gid('FulfillmentOrder', fo.id)}"
                        f" has an unfulfillable status= {fo.status.lower()}.",
                    }
                )
                continue
            items = group.get("fulfillmentOrderLineItems")
            if not items:
                items = [
                    {
                        "id": gid("FulfillmentOrderLineItem", ln.id),
                        "quantity": ln.remaining,
                    }
                    for ln in fo.lines
                    if ln.remaining > 0
                ]
            for li_index, item in enumerate(items):
                ln = fo.line(parse_gid(item.get("id"), "FulfillmentOrderLineItem"))
                item_path = [*path, "fulfillmentOrderLineItems", str(li_index)]
                if ln is None:
                    errors.append(
                        {
                            "field": [*item_path, "id"],
                            "message": "Invalid fulfillment order line item id.",
                        }
                    )
                    continue
                quantity = item.get("quantity")
                already = plan.get(ln.id, (fo, ln, 0))[2]
                if (
                    quantity is None
                    or quantity < 1
                    or already + quantity > ln.remaining
                ):
                    errors.append(
                        {
                            "field": [*item_path, "quantity"],
                            "message": "Invalid fulfillment order line item quantity "
                            "requested.",
                        }
                    )
                    continue
                plan[ln.id] = (fo, ln, already + quantity)
        if not errors and not plan:
            errors.append(
                {
                    "field": ["fulfillment"],
                    "message": "The fulfillment order has no fulfillable line items.",
                }
            )
        if errors:
            return None, errors
        order = self.orders[order_id]
        rest = order.rest
        now = utcnow()
        tracking = inp.get("trackingInfo") or {}
        numbers = list(tracking.get("numbers") or [])
        if tracking.get("number"):
            numbers = [
                tracking["number"],
                *[n for n in numbers if n != tracking["number"]],
            ]
        urls = list(tracking.get("urls") or [])
        if tracking.get("url"):
            urls = [tracking["url"], *[u for u in urls if u != tracking["url"]]]
        lines_by_id = {li["id"]: li for li in rest["line_items"]}
        quantities = {}
        fos = []
        for fo, ln, quantity in plan.values():
            ln.remaining -= quantity
            quantities[ln.line_item_id] = quantities.get(ln.line_item_id, 0) + quantity
            if fo not in fos:
                fos.append(fo)
            level = self.levels.get((ln.inventory_item_id, fo.location_id))
            if level is not None:
                self._change_level(level, 0, -min(quantity, level.committed), "fulfill")
        f_id = self.new_id()
        seq = len(order.fulfillment_ids) + 1
        line_items = []
        for line_id, quantity in quantities.items():
            item = {
                k: v
                for k, v in lines_by_id[line_id].items()
                if k not in ("discount_allocations", "duties")
            }
            item["quantity"] = quantity
            item["discount_allocations"] = lines_by_id[line_id]["discount_allocations"]
            line_items.append(item)
        when = format_datetime(now, self.offset)
        f_rest = {
            "id": f_id,
            "admin_graphql_api_id": gid("Fulfillment", f_id),
            "created_at": when,
            "location_id": fos[0].location_id,
            "name": f"{rest['name']}.{seq}",
            "notify_customer": bool(inp.get("notifyCustomer")),
            "order_id": order.id,
            "origin_address": inp.get("originAddress"),
            "receipt": {},
            "service": "manual",
            "shipment_status": None,
            "status": "success",
            "tracking_company": tracking.get("company"),
            "tracking_number": numbers[0] if numbers else None,
            "tracking_numbers": numbers,
            "tracking_url": urls[0] if urls else None,
            "tracking_urls": urls,
            "updated_at": when,
            "line_items": line_items,
        }
        fulfillment = Fulfillment(f_id, order, f_rest, [fo.id for fo in fos], now)
        self.fulfillments[f_id] = fulfillment
        order.fulfillment_ids.append(f_id)
        rest["fulfillments"].append(f_rest)
        for fo in fos:
            fo.fulfillment_ids.append(f_id)
            fo.updated_at = now
            fo.status = "IN_PROGRESS"
        self._refresh_fulfillment_status(order)
        self.touch(order, now)
        self.emit("fulfillments/create", f_rest)
        self.emit("orders/updated", rest)
        if rest["fulfillment_status"] == "fulfilled":
            self.emit("orders/fulfilled", rest)
        else:
            self.emit("orders/partially_fulfilled", rest)
        return fulfillment, []

    def update_tracking(self, fulfillment, tracking, notify):
        f_rest = fulfillment.rest
        numbers = list(tracking.get("numbers") or [])
        if tracking.get("number"):
            numbers = [
                tracking["number"],
                *[n for n in numbers if n != tracking["number"]],
            ]
        urls = list(tracking.get("urls") or [])
        if tracking.get("url"):
            urls = [tracking["url"], *[u for u in urls if u != tracking["url"]]]
        if "company" in tracking:
            f_rest["tracking_company"] = tracking.get("company")
        if numbers or "number" in tracking:
            f_rest["tracking_numbers"] = numbers
            f_rest["tracking_number"] = numbers[0] if numbers else None
        if urls or "url" in tracking:
            f_rest["tracking_urls"] = urls
            f_rest["tracking_url"] = urls[0] if urls else None
        if notify is not None:
            f_rest["notify_customer"] = bool(notify)
        now = utcnow()
        fulfillment.updated_at = now
        f_rest["updated_at"] = format_datetime(now, self.offset)
        order = self.orders[fulfillment.order_id]
        self.touch(order, now)
        self.emit("fulfillments/update", f_rest)
        return fulfillment

    def cancel_fulfillment(self, fulfillment):
        f_rest = fulfillment.rest
        if f_rest["status"] == "cancelled":
            return None, [
                {"field": ["id"], "message": "Fulfillment is already cancelled."}
            ]
        order = self.orders[fulfillment.order_id]
        f_rest["status"] = "cancelled"
        for fo_id in fulfillment.fo_ids:
            fo = self.fulfillment_orders[fo_id]
            for item in f_rest["line_items"]:
                ln = next((x for x in fo.lines if x.line_item_id == item["id"]), None)
                if ln is None:
                    continue
                back = min(item["quantity"], ln.total - ln.remaining)
                ln.remaining += back
                level = self.levels.get((ln.inventory_item_id, fo.location_id))
                if level is not None and back:
                    self._change_level(level, 0, back, "fulfillment:cancel")
            fo.fulfillment_ids = [f for f in fo.fulfillment_ids if f != fulfillment.id]
            if (
                fo.status in ("CLOSED", "IN_PROGRESS")
                and not order.rest["cancelled_at"]
            ):
                fo.status = "IN_PROGRESS" if fo.fulfillment_ids else "OPEN"
        now = utcnow()
        fulfillment.updated_at = now
        f_rest["updated_at"] = format_datetime(now, self.offset)
        self._refresh_fulfillment_status(order)
        self.touch(order, now)
        self.emit("fulfillments/update", f_rest)
        self.emit("orders/updated", order.rest)
        return fulfillment, []

    def fulfillment_order_rest(self, fo):
        loc = self.locations[fo.location_id]
        off = self.offset
        return {
            "id": fo.id,
            "admin_graphql_api_id": gid("FulfillmentOrder", fo.id),
            "shop_id": self.id,
            "order_id": fo.order_id,
            "assigned_location_id": fo.location_id,
            "request_status": fo.request_status.lower(),
            "status": fo.status.lower(),
            "supported_actions": ["create_fulfillment"]
            if fo.status in ("OPEN", "IN_PROGRESS")
            else [],
            "destination": None,
            "line_items": [
                {
                    "id": ln.id,
                    "shop_id": self.id,
                    "fulfillment_order_id": fo.id,
                    "quantity": ln.total,
                    "line_item_id": ln.line_item_id,
                    "inventory_item_id": ln.inventory_item_id,
                    "fulfillable_quantity": ln.remaining,
                    "variant_id": ln.variant_id,
                }
                for ln in fo.lines
            ],
            "fulfillment_holds": [],
            "fulfill_at": None,
            "fulfill_by": None,
            "international_duties": None,
            "delivery_method": {"method_type": "shipping"},
            "assigned_location": {
                "address1": loc.address["address1"],
                "address2": loc.address["address2"],
                "city": loc.address["city"],
                "country_code": loc.address["country_code"],
                "location_id": loc.id,
                "name": loc.name,
                "phone": loc.address["phone"],
                "province": loc.address["province"],
                "zip": loc.address["zip"],
            },
            "merchant_requests": [],
            "created_at": format_datetime(fo.created_at, off),
            "updated_at": format_datetime(fo.updated_at, off),
        }

    # -- webhook subscriptions ----------------------------------------------------
    def add_subscription(self, topic, uri, spec, api_version):
        sub = Subscription(self.new_id(), topic, uri, spec or {}, api_version, utcnow())
        self.subscriptions[sub.id] = sub
        return sub

    def shop_rest(self):
        off = self.offset
        return {
            "id": self.id,
            "name": self.settings["shop_title"],
            "email": self.settings["email"],
            "domain": self.domain,
            "myshopify_domain": self.domain,
            "province": None,
            "country": "BE",
            "country_code": "BE",
            "country_name": "Belgium",
            "currency": self.currency,
            "enabled_presentment_currencies": [self.currency],
            "customer_email": self.settings["email"],
            "timezone": f"(GMT{self.settings['timezone_offset']}) "
            f"{self.settings['iana_timezone']}",
            "iana_timezone": self.settings["iana_timezone"],
            "shop_owner": "Sandbox Owner",
            "money_format": "{{amount}}",
            "taxes_included": self.settings["taxes_included"],
            "tax_shipping": None,
            "plan_name": "basic",
            "plan_display_name": "Basic",
            "created_at": format_datetime(self.created_at, off),
            "updated_at": format_datetime(self.created_at, off),
            "primary_location_id": self.default_location_id,
            "weight_unit": "kg",
            "admin_graphql_api_id": gid("Shop", self.id),
        }


def money_bag(amount, currency):
    """GraphQL MoneyBag dict from a Decimal/str amount."""
    text = fmt(amount)
    return {
        "shopMoney": {"amount": text, "currencyCode": currency},
        "presentmentMoney": {"amount": text, "currencyCode": currency},
    }


def rest_set_to_bag(money_set_value):
    """REST ``*_set`` -> GraphQL MoneyBag."""
    if money_set_value is None:
        return None
    return {
        "shopMoney": {
            "amount": money_set_value["shop_money"]["amount"],
            "currencyCode": money_set_value["shop_money"]["currency_code"],
        },
        "presentmentMoney": {
            "amount": money_set_value["presentment_money"]["amount"],
            "currencyCode": money_set_value["presentment_money"]["currency_code"],
        },
    }
