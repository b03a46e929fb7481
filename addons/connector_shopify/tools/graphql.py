"""Admin GraphQL documents the connector sends, their variables, and the
reading of Shopify's answers (``errors``, ``userErrors``, throttling)."""

import json
import re

MAX_SET_QUANTITIES = 250  # inventorySetQuantities input limit
SKUS_PER_LOOKUP = 50  # keeps the search string and the query cost small

SHOP_QUERY = """
query ShopInfo {
  shop { name email myshopifyDomain currencyCode ianaTimezone taxesIncluded }
}
""".strip()

LOCATIONS_QUERY = """
query Locations($cursor: String) {
  locations(first: 50, after: $cursor, includeInactive: true) {
    nodes { id legacyResourceId name isActive address { city countryCode } }
    pageInfo { hasNextPage endCursor }
  }
}
""".strip()

WEBHOOK_SUBSCRIPTIONS_QUERY = """
query Subscriptions($cursor: String) {
  webhookSubscriptions(first: 100, after: $cursor) {
    nodes { id topic uri }
    pageInfo { hasNextPage endCursor }
  }
}
""".strip()

WEBHOOK_SUBSCRIPTION_CREATE = """
mutation Subscribe($topic: WebhookSubscriptionTopic!,
                   $subscription: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $subscription) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
""".strip()

VARIANTS_BY_SKU_QUERY = """
query VariantsBySku($query: String!, $first: Int!) {
  productVariants(first: $first, query: $query) {
    nodes { id sku inventoryItem { id } }
  }
}
""".strip()

INVENTORY_LEVELS_QUERY = """
query Levels($ids: [ID!]!, $locationId: ID!) {
  nodes(ids: $ids) {
    ... on InventoryItem {
      id
      inventoryLevel(locationId: $locationId) {
        quantities(names: ["available"]) { name quantity }
      }
    }
  }
}
""".strip()

INVENTORY_SET_QUANTITIES = """
mutation SetQuantities($input: InventorySetQuantitiesInput!) {
  inventorySetQuantities(input: $input) {
    inventoryAdjustmentGroup { reason changes { name delta quantityAfterChange } }
    userErrors { code field message }
  }
}
""".strip()

# cost about 2 + 5 x (1 + 2 + 50 x 2) = 517 of the 1000 a query may cost
FULFILLMENT_ORDERS_QUERY = """
query FulfillmentOrders($id: ID!) {
  order(id: $id) {
    id name
    fulfillments(first: 10) { id status trackingInfo(first: 10) { number } }
    fulfillmentOrders(first: 5) {
      nodes {
        id status
        lineItems(first: 50) {
          nodes { id totalQuantity remainingQuantity lineItem { id sku } }
        }
      }
    }
  }
}
""".strip()

FULFILLMENT_CREATE = """
mutation Fulfil($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id name status trackingInfo { number company url } }
    userErrors { field message }
  }
}
""".strip()


def gid(kind, legacy_id):
    """``gid://shopify/<kind>/<id>``; a gid is returned unchanged."""
    text = str(legacy_id)
    if text.startswith("gid://"):
        return text
    return f"gid://shopify/{kind}/{text}"


def legacy_id(global_id):
    """The numeric id at the end of a gid (``"gid://shopify/Order/12"`` -> "12")."""
    text = str(global_id or "")
    return text.rsplit("/", 1)[-1].split("?", 1)[0]


def topic_enum(topic):
    """``orders/create`` -> ``ORDERS_CREATE`` (WebhookSubscriptionTopic)."""
    return topic.replace("/", "_").upper()


def search_quote(value):
    """A value for Shopify's search syntax, quoted when it needs to be."""
    text = str(value)
    if re.fullmatch(r"[A-Za-z0-9_.\-]+", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def variants_by_sku(skus):
    """(query, variables) finding the variants and inventory items of SKUs."""
    skus = list(skus)
    query = " OR ".join(f"sku:{search_quote(sku)}" for sku in skus)
    return VARIANTS_BY_SKU_QUERY, {"query": query, "first": min(len(skus) * 2, 250)}


def chunked(items, size):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def inventory_set_input(quantities, reason="correction", reference=None):
    """Variables of ``inventorySetQuantities``. ``quantities`` are dicts with
    ``inventory_item_id``, ``location_id``, ``quantity`` and ``previous``
    (the quantity last known in Shopify, the compare-and-swap guard; ``None``
    when unknown, which skips the check explicitly)."""
    if len(quantities) > MAX_SET_QUANTITIES:
        raise ValueError(
            f"{len(quantities)} quantities: at most {MAX_SET_QUANTITIES} per call"
        )
    payload = {
        "name": "available",
        "reason": reason,
        "quantities": [
            {
                "inventoryItemId": gid("InventoryItem", q["inventory_item_id"]),
                "locationId": gid("Location", q["location_id"]),
                "quantity": int(q["quantity"]),
                "changeFromQuantity": None
                if q.get("previous") is None
                else int(q["previous"]),
            }
            for q in quantities
        ],
    }
    if reference:
        payload["referenceDocumentUri"] = reference
    return {"input": payload}


def stale_indexes(user_errors):
    """Indexes of ``quantities`` whose compare-and-swap guard was stale."""
    indexes = set()
    for error in user_errors or []:
        if error.get("code") not in (
            "CHANGE_FROM_QUANTITY_STALE",
            "COMPARE_QUANTITY_STALE",
        ):
            continue
        for part in error.get("field") or []:
            if str(part).isdigit():
                indexes.add(int(part))
                break
    return indexes


def fulfillment_input(fulfillment_orders, tracking=None, notify=False):
    """``FulfillmentInput`` from ``[(fulfillment_order_id, [(line_id, qty)])]``."""
    payload = {
        "lineItemsByFulfillmentOrder": [
            {
                "fulfillmentOrderId": fo_id,
                "fulfillmentOrderLineItems": [
                    {"id": line_id, "quantity": int(qty)} for line_id, qty in lines
                ],
            }
            for fo_id, lines in fulfillment_orders
            if lines
        ],
        "notifyCustomer": bool(notify),
    }
    tracking = {k: v for k, v in (tracking or {}).items() if v}
    if tracking:
        payload["trackingInfo"] = tracking
    return {"fulfillment": payload}


def fulfillment_of_tracking(fulfillments, numbers):
    """The id of the fulfillment (not cancelled) among ``fulfillments`` (the
    order's, from ``FULFILLMENT_ORDERS_QUERY``) that carries one of the
    tracking ``numbers``, or None: a delivery's fulfillment that Shopify made
    while the transaction that asked for it was rolled back."""
    wanted = {str(n).strip() for n in numbers or () if n and str(n).strip()}
    if not wanted:
        return None
    for fulfillment in fulfillments or ():
        status = (fulfillment.get("status") or "").upper()
        if status in ("CANCELLED", "ERROR", "FAILURE"):
            continue
        for info in fulfillment.get("trackingInfo") or ():
            if (info.get("number") or "").strip() in wanted:
                return fulfillment["id"]
    return None


def plan_fulfillment(fulfillment_orders, shipped):
    """Which fulfillment-order lines a delivery fulfils.

    ``fulfillment_orders``: the ``nodes`` of ``order.fulfillmentOrders``;
    ``shipped``: ``{shopify line item id (legacy, str): quantity}``.
    Returns ``(plan, missing)``: ``plan`` as ``fulfillment_input`` wants it,
    only open or in-progress fulfillment orders, never more than remains;
    ``missing`` the quantities nothing remained for.
    """
    wanted = {str(k): int(v) for k, v in shipped.items() if int(v) > 0}
    plan = []
    for fo in fulfillment_orders:
        if fo.get("status") not in ("OPEN", "IN_PROGRESS"):
            continue
        lines = []
        for node in (fo.get("lineItems") or {}).get("nodes", []):
            line_id = legacy_id((node.get("lineItem") or {}).get("id"))
            take = min(wanted.get(line_id, 0), int(node.get("remainingQuantity") or 0))
            if take > 0:
                lines.append((node["id"], take))
                wanted[line_id] -= take
        if lines:
            plan.append((fo["id"], lines))
    missing = {k: v for k, v in wanted.items() if v > 0}
    return plan, missing


class GraphQLProblem(Exception):
    """Shopify answered with top-level ``errors``. ``throttled`` with a
    ``retry_after`` estimate, or ``fatal`` (bad query, cost too high)."""

    def __init__(self, message, code=None, retry_after=None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.retry_after = retry_after

    @property
    def throttled(self):
        return self.code == "THROTTLED"


def check_response(body):
    """The ``data`` of a GraphQL answer, or ``GraphQLProblem``."""
    if not isinstance(body, dict):
        raise GraphQLProblem("not a GraphQL answer")
    errors = body.get("errors")
    if errors:
        if isinstance(errors, str):
            raise GraphQLProblem(errors)
        first = errors[0] if isinstance(errors, list) and errors else {}
        code = ((first or {}).get("extensions") or {}).get("code")
        retry_after = None
        if code == "THROTTLED":
            retry_after = throttle_wait(body)
        messages = "; ".join(
            e.get("message", json.dumps(e)) if isinstance(e, dict) else str(e)
            for e in (errors if isinstance(errors, list) else [errors])
        )
        raise GraphQLProblem(messages, code=code, retry_after=retry_after)
    return body.get("data") or {}


def throttle_wait(body):
    """Seconds until the bucket holds what the throttled query asked for."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    requested = float(cost.get("requestedQueryCost") or 0)
    available = float(status.get("currentlyAvailable") or 0)
    rate = float(status.get("restoreRate") or 50) or 50
    return max(1.0, round((requested - available) / rate + 0.5, 1))
