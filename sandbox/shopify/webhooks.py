"""Shopify webhook topics, HMAC signing and delivery headers (pure)."""

import uuid
from datetime import datetime, timezone

from ..core.signing import hmac_sha256_b64, verify_hmac_sha256_b64
from ..core.util import dumps

#: GraphQL WebhookSubscriptionTopic -> REST/header topic
TOPICS = {
    "APP_UNINSTALLED": "app/uninstalled",
    "CUSTOMERS_CREATE": "customers/create",
    "CUSTOMERS_DELETE": "customers/delete",
    "CUSTOMERS_UPDATE": "customers/update",
    "FULFILLMENTS_CREATE": "fulfillments/create",
    "FULFILLMENTS_UPDATE": "fulfillments/update",
    "INVENTORY_ITEMS_CREATE": "inventory_items/create",
    "INVENTORY_ITEMS_DELETE": "inventory_items/delete",
    "INVENTORY_ITEMS_UPDATE": "inventory_items/update",
    "INVENTORY_LEVELS_CONNECT": "inventory_levels/connect",
    "INVENTORY_LEVELS_DISCONNECT": "inventory_levels/disconnect",
    "INVENTORY_LEVELS_UPDATE": "inventory_levels/update",
    "LOCATIONS_CREATE": "locations/create",
    "LOCATIONS_DELETE": "locations/delete",
    "LOCATIONS_UPDATE": "locations/update",
    "ORDERS_CANCELLED": "orders/cancelled",
    "ORDERS_CREATE": "orders/create",
    "ORDERS_DELETE": "orders/delete",
    "ORDERS_EDITED": "orders/edited",
    "ORDERS_FULFILLED": "orders/fulfilled",
    "ORDERS_PAID": "orders/paid",
    "ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled",
    "ORDERS_UPDATED": "orders/updated",
    "ORDER_TRANSACTIONS_CREATE": "order_transactions/create",
    "PRODUCTS_CREATE": "products/create",
    "PRODUCTS_DELETE": "products/delete",
    "PRODUCTS_UPDATE": "products/update",
    "REFUNDS_CREATE": "refunds/create",
    "SHOP_UPDATE": "shop/update",
}
TOPIC_ENUMS = {v: k for k, v in TOPICS.items()}


def topic_to_rest(value):
    """ORDERS_CREATE or orders/create -> orders/create (None if unknown)."""
    if value in TOPICS:
        return TOPICS[value]
    if value in TOPIC_ENUMS:
        return value
    return None


def sign(secret, body):
    """Base64 HMAC-SHA256 of the raw body (X-Shopify-Hmac-Sha256)."""
    return hmac_sha256_b64(secret, body)


def verify(secret, body, signature):
    return verify_hmac_sha256_b64(secret, body, signature)


def filter_fields(payload, include_fields):
    if not include_fields:
        return payload
    return {k: v for k, v in payload.items() if k in include_fields}


def build_delivery(shop_domain, secret, topic, payload, api_version, event_id, at):
    """(body bytes, headers) of one webhook delivery."""
    body = dumps(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Shopify-Captain-Hook",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(secret, body),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": event_id,
        "X-Shopify-Triggered-At": at,
    }
    return body, headers


def new_event():
    """(event id, triggered-at) shared by all deliveries of one event."""
    now = datetime.now(timezone.utc)
    return str(uuid.uuid4()), now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
