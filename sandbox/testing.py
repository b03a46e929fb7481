"""Helpers for tests and benchmarks: run the sandbox in-process, drive it.

    from sandbox.testing import RunningSandbox

    with RunningSandbox() as sb:              # free port, background thread
        shop = sb.shopify("demo")             # ShopifyControl for shop "demo"
        order = shop.create_order({...})      # REST order JSON
        sb.add_fault(match="graphql", kind="http_status", status=503, count=1)
        data = shop.graphql("{ shop { name } }")
        sb.drain()                            # wait for webhook deliveries

``RunningSandbox().start()`` returns the base URL; ``stop()`` shuts it down.
Everything here talks HTTP to the sandbox (no private access), so the same
client works against a sandbox started with ``python3 -m sandbox``.
"""

import threading

import requests

from .server import make_background_server

DEFAULT_TOKEN = "shpat_sandbox"
DEFAULT_VERSION = "2026-07"


class SandboxError(AssertionError):
    pass


class SandboxClient:
    """Client of the framework control API (``/_control``)."""

    def __init__(self, base_url, session=None):
        self.url = base_url.rstrip("/")
        self.session = session or requests.Session()

    def _call(self, method, path, json=None, params=None, expect=(200, 201)):
        resp = self.session.request(
            method, f"{self.url}{path}", json=json, params=params, timeout=30
        )
        if resp.status_code not in expect:
            raise SandboxError(
                f"{method} {path} -> {resp.status_code}: {resp.text[:500]}"
            )
        return resp.json()

    def health(self):
        return self._call("GET", "/_health")

    def reset(self, **options):
        """Reset all state (options: id_start, webhooks={...})."""
        return self._call("POST", "/_control/reset", json=options)

    # faults
    def add_fault(self, **rule):
        return self._call("POST", "/_control/faults", json=rule)["fault"]

    def faults(self):
        return self._call("GET", "/_control/faults")["faults"]

    def clear_faults(self):
        return self._call("DELETE", "/_control/faults")

    # webhooks
    def webhook_config(self, **config):
        if config:
            return self._call("POST", "/_control/webhooks/config", json=config)[
                "config"
            ]
        return self._call("GET", "/_control/webhooks/config")["config"]

    def deliveries(self, include_body=False, **filters):
        params = {k: v for k, v in filters.items() if v is not None}
        if include_body:
            params["include_body"] = "1"
        return self._call("GET", "/_control/webhooks/deliveries", params=params)[
            "deliveries"
        ]

    def drain(self, timeout=10.0):
        """Wait until no delivery is pending; raises if it does not settle."""
        result = self._call(
            "POST", "/_control/webhooks/drain", json={"timeout": timeout}
        )
        if not result["drained"]:
            raise SandboxError(f"webhooks did not drain: {result['stats']}")
        return result

    def release_held(self):
        return self._call("POST", "/_control/webhooks/release")["released"]

    def requests_log(self, **filters):
        return self._call("GET", "/_control/requests", params=filters)

    def clear_requests_log(self):
        return self._call("DELETE", "/_control/requests")

    def bank(self, bank="demo"):
        """BankControl for the simulated bank ``bank``."""
        return BankControl(self, bank)

    def shopify(self, shop="demo"):
        return ShopifyControl(self, shop)


class ShopifyControl:
    """Control API of one simulated shop plus a tiny Admin API client."""

    def __init__(self, client, shop):
        self.client = client
        self.shop = shop
        self.base_url = f"{client.url}/shopify/{shop}"  # connector "shop URL"
        self.token = DEFAULT_TOKEN
        self._ctl = f"/_control/shopify/shops/{shop}"

    def admin_url(self, version=DEFAULT_VERSION):
        return f"{self.base_url}/admin/api/{version}"

    def _c(self, method, path="", **kw):
        return self.client._call(method, f"{self._ctl}{path}", **kw)

    # configuration
    def configure(self, **settings):
        """token, webhook secret, client credentials, throttling, ... ."""
        shop = self._c("PATCH", json=settings)["shop"]
        self.token = shop["access_token"]
        return shop

    def info(self):
        return self._c("GET")["shop"]

    def expire_tokens(self, token=None):
        return self._c("POST", "/tokens/expire", json={"token": token})["expired"]

    # catalog and stock
    def create_location(self, **spec):
        return self._c("POST", "/locations", json=spec)["location"]

    def locations(self):
        return self._c("GET", "/locations")["locations"]

    def create_product(self, **spec):
        return self._c("POST", "/products", json=spec)["product"]

    def inventory(self, sku=None, location=None):
        params = {k: v for k, v in (("sku", sku), ("location", location)) if v}
        return self._c("GET", "/inventory", params=params)["inventory_levels"]

    def set_inventory(self, sku, available, location=None):
        body = {"sku": sku, "available": available, "location": location}
        return self._c("POST", "/inventory", json=body)["inventory_levels"][0]

    def inventory_changes(self, source=None, sku=None):
        params = {k: v for k, v in (("source", source), ("sku", sku)) if v}
        return self._c("GET", "/inventory/changes", params=params)["changes"]

    # orders
    def create_order(self, spec):
        return self._c("POST", "/orders", json=spec)["order"]

    def create_orders(self, count, spec, vary_email=False):
        body = {"count": count, "order": spec, "vary_email": vary_email}
        return self._c("POST", "/orders/bulk", json=body)["order_ids"]

    def order(self, order_id):
        return self._c("GET", f"/orders/{order_id}")["order"]

    def orders(self):
        return self._c("GET", "/orders")["orders"]

    def update_order(self, order_id, **changes):
        return self._c("PATCH", f"/orders/{order_id}", json=changes)["order"]

    def cancel_order(self, order_id, **options):
        return self._c("POST", f"/orders/{order_id}/cancel", json=options)["order"]

    def refund(self, order_id, spec):
        return self._c("POST", f"/orders/{order_id}/refunds", json=spec)["refund"]

    def fulfillment_orders(self, order_id):
        return self._c("GET", f"/orders/{order_id}/fulfillment_orders")[
            "fulfillment_orders"
        ]

    def fulfillments(self, order_id=None):
        params = {"order_id": order_id} if order_id else None
        return self._c("GET", "/fulfillments", params=params)["fulfillments"]

    # webhooks
    def subscribe(self, topic, address, **extra):
        body = {"topic": topic, "address": address, **extra}
        return self._c("POST", "/webhooks", json=body)["webhooks"][0]

    def subscriptions(self):
        return self._c("GET", "/webhooks")["webhooks"]

    def deliveries(self, include_body=False, **filters):
        return self.client.deliveries(include_body, shop=self.shop, **filters)

    # Admin API (as a connector would call it)
    def graphql(self, query, variables=None, token=None, version=DEFAULT_VERSION):
        """POST graphql.json; returns the parsed body (data/errors/extensions)."""
        resp = self.client.session.post(
            f"{self.admin_url(version)}/graphql.json",
            json={"query": query, "variables": variables or {}},
            headers={"X-Shopify-Access-Token": token or self.token},
            timeout=30,
        )
        if resp.status_code != 200:
            raise SandboxError(f"graphql -> {resp.status_code}: {resp.text[:500]}")
        return resp.json()

    def rest_get(self, path, params=None, token=None, version=DEFAULT_VERSION):
        """GET a REST path such as ``orders.json``; returns the Response."""
        return self.client.session.get(
            f"{self.admin_url(version)}/{path.lstrip('/')}",
            params=params,
            headers={"X-Shopify-Access-Token": token or self.token},
            timeout=30,
        )


class RunningSandbox(SandboxClient):
    """The sandbox served from a background thread on a free port.

    Use as a context manager (``with RunningSandbox() as sb``) or call
    ``start()`` (returns the base URL) and ``stop()``. ``sb.url`` is the base
    URL, ``sb.app`` the in-process SandboxApp (for debugging only).
    """

    def __init__(self, host="127.0.0.1", port=0, webhook_config=None, id_start=None):
        self._host = host
        self._port = port
        self._app_kwargs = {"webhook_config": webhook_config, "id_start": id_start}
        self._server = None
        self._thread = None
        self.app = None
        super().__init__(f"http://{host}:{port}")

    def start(self):
        self._server, self.app = make_background_server(
            self._host, self._port, **self._app_kwargs
        )
        port = self._server.socket.getsockname()[1]
        self.url = f"http://{self._host}:{port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="sandbox-http", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self.app.close()
            self._thread.join(timeout=5)
            self._server = None
        self.session.close()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def __str__(self):
        return self.url


class BankControl:
    """Drives one simulated bank (``/bank/<bank>``, see sandbox/bank)."""

    def __init__(self, client, bank):
        self.client = client
        self.bank = bank
        self.base_url = f"{client.url}/bank/{bank}"

    def _c(self, method, path="", **kw):
        return self.client._call(method, f"/_control/bank/{self.bank}{path}", **kw)

    def configure(self, **settings):
        return self._c("PATCH", json=settings)

    def state(self):
        return self._c("GET")

    def create_account(self, iban, currency="EUR", name="Current account"):
        return self._c(
            "POST", "/accounts", json={"iban": iban, "currency": currency, "name": name}
        )

    def add_transactions(self, iban, transactions):
        return self._c(
            "POST", "/transactions", json={"iban": iban, "transactions": transactions}
        )["transactions"]

    def set_payer(self, iban, odoo_url, db, login, password, **options):
        """Start the payer (``interval``, ``references``): it pays the posted
        invoices of that Odoo into ``iban``."""
        spec = dict(
            options, iban=iban, odoo_url=odoo_url, db=db, login=login, password=password
        )
        return self._c("PUT", "/payer", json=spec)

    def stop_payer(self):
        return self._c("PUT", "/payer", json=None)

    def pay_now(self):
        """One round of the payer now: the transactions it booked."""
        return self._c("POST", "/payer/run")["transactions"]

    def camt053(self, iban, token="sandbox-bank-token", **dates):
        """The bank API's camt.053 statement download (``from``/``to``: ISO
        booking dates), as bytes."""
        params = {k.rstrip("_"): v for k, v in dates.items() if v}
        response = self.client.session.get(
            f"{self.base_url}/accounts/{iban}/statements/camt053",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        if response.status_code != 200:
            raise SandboxError(f"camt053 -> {response.status_code}: {response.text}")
        return response.content
