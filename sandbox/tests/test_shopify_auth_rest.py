"""Auth, OAuth client credentials, REST pagination and call limits."""

import re
import time

import requests

from .conftest import ORDER_SPEC

INVALID = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def test_auth_401(shop):
    for token in (None, "wrong"):
        headers = {"X-Shopify-Access-Token": token} if token else {}
        resp = requests.post(
            f"{shop.admin_url()}/graphql.json",
            json={"query": "{ shop { name } }"},
            headers=headers,
        )
        assert resp.status_code == 401
        assert resp.json() == {"errors": INVALID}
        resp = requests.get(f"{shop.admin_url()}/orders.json", headers=headers)
        assert resp.status_code == 401
    assert shop.graphql("{ shop { name } }")["data"]["shop"]["name"] == "Demo"
    shop.configure(access_token="shpat_custom")
    assert shop.rest_get("shop.json", token="shpat_sandbox").status_code == 401
    resp = shop.rest_get("shop.json")
    assert resp.status_code == 200
    assert resp.json()["shop"]["myshopify_domain"] == "demo.myshopify.com"
    assert resp.headers["X-Shopify-API-Version"] == "2026-07"


def test_api_version_echoed(shop):
    resp = shop.rest_get("locations.json", version="2025-01")
    assert resp.status_code == 200
    assert resp.headers["X-Shopify-API-Version"] == "2025-01"
    assert shop.rest_get("locations.json", version="latest").status_code == 404


def test_client_credentials_token_and_expiry(shop):
    url = f"{shop.base_url}/admin/oauth/access_token"
    resp = requests.post(
        url,
        data={
            "client_id": "sandbox-client-id",
            "client_secret": "sandbox-client-secret",
            "grant_type": "client_credentials",
        },
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["expires_in"] == 86399 and body["scope"]
    token = body["access_token"]
    assert shop.rest_get("shop.json", token=token).status_code == 200
    bad = requests.post(
        url,
        json={
            "client_id": "sandbox-client-id",
            "client_secret": "nope",
            "grant_type": "client_credentials",
        },
    )
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    wrong_grant = requests.post(url, data={"grant_type": "authorization_code"})
    assert wrong_grant.status_code == 400
    assert shop.expire_tokens() == 1
    resp = shop.rest_get("shop.json", token=token)
    assert resp.status_code == 401 and resp.json() == {"errors": INVALID}
    # natural expiry with a short TTL
    shop.configure(token_ttl=1, client_id="cid", client_secret="csecret")
    short = requests.post(
        url,
        data={
            "client_id": "cid",
            "client_secret": "csecret",
            "grant_type": "client_credentials",
        },
    ).json()
    assert short["expires_in"] == 1
    assert shop.graphql("{ shop { name } }", token=short["access_token"])["data"]
    time.sleep(1.1)
    assert shop.rest_get("shop.json", token=short["access_token"]).status_code == 401


def _links(resp):
    return dict(
        (rel, url)
        for url, rel in re.findall(
            r'<([^>]+)>; rel="(\w+)"', resp.headers.get("Link", "")
        )
    )


def test_rest_orders_pagination_link_header(shop):
    ids = shop.create_orders(7, ORDER_SPEC)
    cancelled = ids[0]
    shop.cancel_order(cancelled, reason="customer")
    resp = shop.rest_get("orders.json", {"limit": 3})
    assert resp.status_code == 200
    default_ids = set()
    while True:
        default_ids.update(o["id"] for o in resp.json()["orders"])
        nxt = _links(resp).get("next")
        if not nxt:
            break
        resp = requests.get(nxt, headers={"X-Shopify-Access-Token": shop.token})
    assert default_ids == set(ids) - {cancelled}  # status=open by default

    seen = []
    resp = shop.rest_get(
        "orders.json", {"status": "any", "limit": 3, "order": "created_at asc"}
    )
    pages = 0
    while True:
        pages += 1
        batch = [o["id"] for o in resp.json()["orders"]]
        assert len(batch) <= 3
        seen += batch
        links = _links(resp)
        if pages > 1:
            assert "previous" in links
        if "next" not in links:
            break
        assert "status=" not in links["next"]
        resp = requests.get(
            links["next"], headers={"X-Shopify-Access-Token": shop.token}
        )
        assert resp.status_code == 200
    assert pages == 3
    assert seen == ids
    # previous link goes back
    prev = requests.get(
        _links(resp)["previous"], headers={"X-Shopify-Access-Token": shop.token}
    )
    assert [o["id"] for o in prev.json()["orders"]] == ids[3:6]
    # page_info does not combine with filters
    page_info = re.search(r"page_info=([^&>]+)", _links(prev)["next"]).group(1)
    bad = shop.rest_get("orders.json", {"page_info": page_info, "status": "any"})
    assert bad.status_code == 400
    assert "status cannot be passed when page_info is present" in bad.text
    assert shop.rest_get("orders.json", {"page_info": "junk"}).status_code == 400


def test_rest_updated_at_min_and_single_order(shop):
    first = shop.create_order(dict(ORDER_SPEC, created_at="2026-01-01T10:00:00Z"))
    second = shop.create_order(dict(ORDER_SPEC, created_at="2026-01-05T10:00:00Z"))
    shop.update_order(first["id"], note="late edit", updated_at="2026-01-10T00:00:00Z")
    resp = shop.rest_get(
        "orders.json",
        {"status": "any", "updated_at_min": "2026-01-06T00:00:00+01:00"},
    )
    # created_at in the spec back-dates the order; the edit moved first's
    # updated_at past the watermark, second stays before it
    assert {o["id"] for o in resp.json()["orders"]} == {first["id"]}
    one = shop.rest_get(f"orders/{first['id']}.json").json()["order"]
    assert one["note"] == "late edit"
    assert one["updated_at"] == "2026-01-10T01:00:00+01:00"
    assert shop.rest_get("orders/1.json").status_code == 404
    count = shop.rest_get("orders/count.json", {"status": "any"}).json()["count"]
    assert count == 2
    assert second["created_at"] == "2026-01-05T11:00:00+01:00"


def test_rest_call_limit_and_429(shop):
    shop.configure(rest_limit={"bucket_size": 3, "leak_rate": 0.5})
    limits = []
    for _ in range(3):
        resp = shop.rest_get("locations.json")
        assert resp.status_code == 200
        limits.append(resp.headers["X-Shopify-Shop-Api-Call-Limit"])
    assert limits == ["1/3", "2/3", "3/3"]
    resp = shop.rest_get("locations.json")
    assert resp.status_code == 429
    assert float(resp.headers["Retry-After"]) >= 1.0
    assert resp.headers["X-Shopify-Shop-Api-Call-Limit"] == "3/3"
    assert "Exceeded 2 calls per second" in resp.json()["errors"]
    time.sleep(float(resp.headers["Retry-After"]))
    assert shop.rest_get("locations.json").status_code == 200


def test_rest_refunds_transactions_and_webhooks_json(shop):
    order = shop.create_order(ORDER_SPEC)
    line = order["line_items"][1]
    refund = shop.refund(
        order["id"],
        {
            "lines": [
                {"line_item_id": line["id"], "quantity": 1, "restock_type": "return"}
            ]
        },
    )
    refunds = shop.rest_get(f"orders/{order['id']}/refunds.json").json()["refunds"]
    assert refunds[0]["id"] == refund["id"]
    assert refunds[0]["refund_line_items"][0]["subtotal"] == 6.67
    txns = shop.rest_get(f"orders/{order['id']}/transactions.json").json()
    assert [t["kind"] for t in txns["transactions"]] == ["sale", "refund"]
    again = shop.rest_get(f"orders/{order['id']}.json").json()["order"]
    assert again["financial_status"] == "partially_refunded"
    resp = requests.post(
        f"{shop.admin_url()}/webhooks.json",
        json={"webhook": {"topic": "orders/create", "address": "http://x.test/h"}},
        headers={"X-Shopify-Access-Token": shop.token},
    )
    assert resp.status_code == 201
    assert resp.json()["webhook"]["topic"] == "orders/create"
    listed = shop.rest_get("webhooks.json").json()["webhooks"]
    assert [w["address"] for w in listed] == ["http://x.test/h"]
