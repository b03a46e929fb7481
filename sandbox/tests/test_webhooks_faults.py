"""Signed webhook deliveries, retries, and fault injection."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
import requests

from .conftest import ORDER_SPEC

SECRET = "sandbox-webhook-secret"


def _hmac(secret, body):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())


def test_order_webhooks_are_signed(shop, sandbox, receiver):
    shop.graphql(
        """mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE,
          webhookSubscription: {callbackUrl: "%s", format: JSON}) {
          userErrors { message } } }"""
        % receiver.url
    )
    order = shop.create_order(ORDER_SPEC)
    req = receiver.wait_for(1)[0]
    headers = req["headers"]
    assert headers["X-Shopify-Topic"] == "orders/create"
    assert headers["X-Shopify-Shop-Domain"] == "demo.myshopify.com"
    assert headers["X-Shopify-API-Version"] == "2026-07"
    assert headers["Content-Type"] == "application/json"
    uuid.UUID(headers["X-Shopify-Webhook-Id"])
    assert headers["X-Shopify-Event-Id"]
    assert headers["X-Shopify-Triggered-At"].endswith("Z")
    assert hmac.compare_digest(
        headers["X-Shopify-Hmac-Sha256"].encode(), _hmac(SECRET, req["body"])
    )
    body = json.loads(req["body"])
    assert body["id"] == order["id"]  # bare object, not {"order": ...}
    assert body["total_price"] == "30.25"
    assert body["admin_graphql_api_id"] == f"gid://shopify/Order/{order['id']}"
    # a new secret signs later deliveries
    shop.configure(webhook_secret="rotated")
    shop.create_order(ORDER_SPEC)
    req = receiver.wait_for(2)[1]
    assert req["headers"]["X-Shopify-Hmac-Sha256"].encode() == _hmac(
        "rotated", req["body"]
    )
    sandbox.drain()
    log = shop.deliveries(topic="orders/create")
    assert [d["state"] for d in log] == ["delivered", "delivered"]


def test_update_cancel_refund_topics(shop, sandbox, receiver):
    for topic in ("orders/updated", "orders/cancelled", "refunds/create"):
        shop.subscribe(topic, receiver.url)
    order = shop.create_order(ORDER_SPEC)
    shop.update_order(order["id"], note="gift wrap")
    shop.refund(
        order["id"],
        {
            "lines": [{"sku": "MUG-WHITE", "quantity": 1, "restock_type": "return"}],
            "shipping": {"full_refund": True},
        },
    )
    shop.cancel_order(order["id"], reason="customer")
    sandbox.drain()
    topics = [r["headers"]["X-Shopify-Topic"] for r in receiver.requests]
    assert topics == [
        "orders/updated",
        "refunds/create",
        "orders/updated",
        "refunds/create",
        "orders/cancelled",
        "orders/updated",
    ]
    bodies = receiver.bodies()
    first_refund = bodies[1]
    assert first_refund["order_id"] == order["id"]
    assert first_refund["refund_line_items"][0]["subtotal"] == 6.67
    assert first_refund["order_adjustments"][0]["amount"] == "-5.00"
    assert first_refund["transactions"][0]["amount"] == "14.12"  # 6.67+1.40+5+1.05
    cancelled = bodies[4]
    assert cancelled["cancel_reason"] == "customer" and cancelled["cancelled_at"]
    assert cancelled["financial_status"] == "refunded"
    refunded = sum(
        float(t["amount"]) for r in cancelled["refunds"] for t in r["transactions"]
    )
    assert round(refunded, 2) == 30.25


def test_retry_after_500_keeps_webhook_id(shop, sandbox, receiver):
    receiver.fail_first = 1
    shop.subscribe("orders/create", receiver.url)
    shop.create_order(ORDER_SPEC)
    reqs = receiver.wait_for(2)
    sandbox.drain()
    ids = {r["headers"]["X-Shopify-Webhook-Id"] for r in reqs}
    assert len(ids) == 1
    delivery = shop.deliveries()[0]
    assert delivery["state"] == "delivered"
    assert [a["status"] for a in delivery["attempts"]] == [500, 200]


def test_retries_give_up_after_max_attempts(shop, sandbox, receiver):
    receiver.fail_first = 100
    sandbox.webhook_config(max_attempts=3)
    shop.subscribe("orders/create", receiver.url)
    shop.create_order(ORDER_SPEC)
    sandbox.drain()
    delivery = shop.deliveries()[0]
    assert delivery["state"] == "failed" and delivery["attempt_count"] == 3


def test_duplicate_delivery_fault(shop, sandbox, receiver):
    shop.subscribe("orders/create", receiver.url)
    sandbox.add_fault(
        system="shopify", match="webhook", kind="duplicate_delivery", count=1
    )
    shop.create_order(ORDER_SPEC)
    shop.create_order(ORDER_SPEC)
    reqs = receiver.wait_for(3)
    sandbox.drain()
    time.sleep(0.1)
    assert len(receiver.requests) == 3
    ids = [r["headers"]["X-Shopify-Webhook-Id"] for r in reqs]
    assert ids[0] == ids[1] != ids[2]
    assert reqs[0]["body"] == reqs[1]["body"]


def test_out_of_order_fault(shop, sandbox, receiver):
    shop.subscribe("orders/create", receiver.url)
    sandbox.add_fault(system="shopify", match="webhook", kind="out_of_order", count=3)
    names = [shop.create_order(ORDER_SPEC)["name"] for _ in range(3)]
    receiver.wait_for(3)
    assert [b["name"] for b in receiver.bodies()] == list(reversed(names))
    # the rule cleared itself: the next one flows normally
    shop.create_order(ORDER_SPEC)
    receiver.wait_for(4)
    assert sandbox.faults() == []


def test_out_of_order_released_by_window_and_delete(shop, sandbox, receiver):
    shop.subscribe("orders/create", receiver.url)
    # not exhausted by the two deliveries (exhaustion releases at once): the
    # window releases them, long enough that a loaded machine checks first
    sandbox.add_fault(match="webhook", kind="out_of_order", count=5, seconds=1.0)
    a = shop.create_order(ORDER_SPEC)["name"]
    b = shop.create_order(ORDER_SPEC)["name"]
    time.sleep(0.1)
    assert receiver.requests == []  # held
    receiver.wait_for(2)
    assert [x["name"] for x in receiver.bodies()] == [b, a]
    sandbox.clear_faults()  # the first rule would catch the next two
    sandbox.add_fault(match="webhook", kind="out_of_order")
    c = shop.create_order(ORDER_SPEC)["name"]
    d = shop.create_order(ORDER_SPEC)["name"]
    time.sleep(0.2)
    assert len(receiver.requests) == 2
    sandbox.clear_faults()
    receiver.wait_for(4)
    assert [x["name"] for x in receiver.bodies()[2:]] == [d, c]


def test_http_status_fault_counts_down(shop, sandbox):
    sandbox.add_fault(
        system="shopify", match="graphql", kind="http_status", status=503, count=2
    )
    url = f"{shop.admin_url()}/graphql.json"
    headers = {"X-Shopify-Access-Token": shop.token}
    statuses = [
        requests.post(url, json={"query": "{ shop { name } }"}, headers=headers)
        for _ in range(3)
    ]
    assert [r.status_code for r in statuses] == [503, 503, 200]
    assert statuses[0].headers["Retry-After"]
    assert statuses[0].headers["X-Shopify-API-Version"] == "2026-07"
    # REST is untouched by a graphql rule
    assert shop.rest_get("shop.json").status_code == 200


def test_rate_limit_latency_timeout_and_path_faults(shop, sandbox):
    sandbox.add_fault(
        system="shopify", match="rest", kind="rate_limit", seconds=3, count=1
    )
    resp = shop.rest_get("orders.json")
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "3.0"
    sandbox.add_fault(system="shopify", match="graphql", kind="rate_limit", count=1)
    body = shop.graphql("{ shop { name } }")
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    sandbox.add_fault(match="graphql", kind="latency", seconds=0.4, count=1)
    started = time.monotonic()
    shop.graphql("{ shop { name } }")
    assert time.monotonic() - started >= 0.4
    sandbox.add_fault(match=r"/orders/\d+\.json$", kind="timeout", seconds=1.0, count=1)
    order = shop.create_order(ORDER_SPEC)
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(
            f"{shop.admin_url()}/orders/{order['id']}.json",
            headers={"X-Shopify-Access-Token": shop.token},
            timeout=0.3,
        )
    assert shop.rest_get("orders.json").status_code == 200
    log = sandbox.requests_log(system="shopify", category="rest")
    assert log["count"] >= 2  # the timed-out call is still sleeping


def test_fault_api_validation(sandbox):
    resp = requests.post(
        f"{sandbox.url}/_control/faults",
        json={"system": "shopify", "match": "rest", "kind": "boom"},
    )
    assert resp.status_code == 422
    rule = sandbox.add_fault(system="shopify", match="rest", kind="latency", seconds=0)
    assert sandbox.faults()[0]["id"] == rule["id"]
    assert (
        requests.delete(f"{sandbox.url}/_control/faults/{rule['id']}").status_code
        == 200
    )
    assert sandbox.faults() == []


def test_health_and_reset(sandbox, shop):
    shop.create_order(ORDER_SPEC)
    health = sandbox.health()
    assert health["status"] == "ok"
    assert health["systems"][0]["shops"] == ["demo"]
    sandbox.reset()
    assert sandbox.health()["systems"][0]["shops"] == []
