import json
import logging
import threading
import time
from datetime import timedelta

from odoo import _, api, fields, models
from odoo.exceptions import AccessError, UserError

from odoo.addons.integration_core.exceptions import (
    AuthenticationFailed,
    PermanentError,
    TransientError,
)
from odoo.addons.integration_core.models.integration_backend import (
    archive_backends_of_removed_connector,
)
from odoo.addons.integration_core.tools.http_client import RateLimiter
from odoo.addons.integration_core.tools.signing import body_digest, verify_signature

from ..tools import graphql
from ..tools.dates import parse_datetime, to_iso_utc, version_key
from ..tools.order_mapping import state_digest
from ..tools.pagination import next_page_url
from ..tools.summary import line_suggestion, order_summary

_logger = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2026-07"
MANAGER = "integration_core.group_integration_manager"
HMAC_HEADER = "X-Shopify-Hmac-Sha256"
ORDER_TOPICS = ("orders/create", "orders/updated", "orders/cancelled")
WEBHOOK_TOPICS = ORDER_TOPICS + ("refunds/create",)
POLL_PAGE_SIZE = 50
# Client-credentials tokens: per process, per backend; refreshed before expiry.
_tokens = {}
_tokens_lock = threading.Lock()
# GraphQL cost budget last reported per backend: (available, restore rate,
# maximum, monotonic time); calls wait while fewer than COST_RESERVE points.
_cost_budget = {}
COST_RESERVE = 150
REST_BUCKET = 40  # Shopify's REST leaky bucket: 40 calls, leaking per second
_rest_limiters = {}


def _rest_limiter(key, rate):
    """One REST bucket per backend and process: bursts of 40, then
    ``rate`` calls per second, like Shopify's own bucket."""
    with _tokens_lock:
        limiter = _rest_limiters.get(key)
        if limiter is None or limiter.rate != float(rate):
            limiter = _rest_limiters[key] = RateLimiter(rate, burst=REST_BUCKET)
        return limiter


def order_idempotency_key(order_id, updated_at):
    """``order:<id>:<updated_at in UTC>``: the same for a webhook and for
    polling, so that either path delivers one version of an order once."""
    return f"order:{order_id}:{version_key(updated_at)}"


def order_correlation_id(order_id):
    """Every exchange about one Shopify order shares one correlation id: the
    order's smart button lists them all, its calls carry it."""
    return f"shopify-order-{order_id}"


class IntegrationBackend(models.Model):
    _inherit = "integration.backend"

    connector_type = fields.Selection(
        selection_add=[("shopify", "Shopify")],
        ondelete={"shopify": archive_backends_of_removed_connector},
    )
    shopify_auth = fields.Selection(
        [
            ("token", "Admin API access token"),
            ("client_credentials", "Client credentials (client id and secret)"),
        ],
        "Shopify authentication",
        default="token",
        help="Access token: put it in 'API key / access token'. Client "
        "credentials: the client id in 'API key', the client secret in 'API "
        "secret'; tokens are then requested and renewed automatically.",
    )
    shopify_warehouse_id = fields.Many2one(
        "stock.warehouse",
        "Default warehouse",
        help="Warehouse of orders whose Shopify location is not mapped.",
    )
    shopify_confirm_policy = fields.Selection(
        [
            ("paid", "When paid"),
            ("authorized", "When paid or payment authorized"),
            ("always", "On receipt, whatever the payment"),
            ("never", "Never: a person confirms"),
        ],
        "Confirm orders",
        default="authorized",
        help="Which Shopify financial status confirms the Odoo order. An "
        "order whose total differs from Shopify's is never confirmed.",
    )
    shopify_custom_product_id = fields.Many2one(
        "product.product",
        "Product of lines without SKU",
        default=lambda self: self.env.ref(
            "connector_shopify.product_shopify_custom_item", raise_if_not_found=False
        ),
        help="Custom Shopify lines (no SKU, e.g. gift wrap) use this product.",
    )
    shopify_shipping_product_id = fields.Many2one(
        "product.product",
        "Shipping product",
        default=lambda self: self.env.ref(
            "connector_shopify.product_shopify_shipping", raise_if_not_found=False
        ),
        help="Delivery lines whose shipping method is not mapped to a carrier "
        "(value map 'Carrier service') use this product.",
    )
    shopify_discount_product_id = fields.Many2one(
        "product.product",
        "Discount product",
        default=lambda self: self.env.ref(
            "connector_shopify.product_shopify_discount", raise_if_not_found=False
        ),
        help="A discount that no line percentage can express to the cent "
        "becomes a separate line with this product.",
    )
    shopify_poll_overlap_minutes = fields.Integer(
        "Polling overlap (minutes)",
        default=10,
        help="Catch-up polling asks again for this much time before its "
        "watermark: late writes and clock skew are covered, duplicates are "
        "recognised by the order id and its updated_at.",
    )
    shopify_poll_max_pages = fields.Integer(
        "Pages per polling run",
        default=20,
        help="The next run continues where this one stopped.",
    )
    shopify_stock_reason = fields.Char(
        "Stock change reason",
        default="correction",
        help="Reason of the quantities set in Shopify (Shopify's list: "
        "correction, cycle_count_available, received, restock, ...).",
    )
    shopify_location_ids = fields.One2many(
        "shopify.location", "backend_id", "Shopify locations"
    )

    @api.model
    def _shopify_backend_defaults(self):
        # Shopify's REST bucket leaks 2 calls per second
        return {"api_version": DEFAULT_API_VERSION, "rate_limit": 2.0}

    # ------------------------------------------------------------------
    # Sync rules
    # ------------------------------------------------------------------
    def _shopify_default_sync_rules(self):
        return [
            # Shopify owns orders and what customers type in on the web.
            {
                "business_object": "sale_order",
                "system_of_record": "external",
                "direction": "import",
                "mode": "scheduled",
                "interval_minutes": 15,
            },
            {
                "business_object": "partner",
                "system_of_record": "external",
                "direction": "import",
                "mode": "realtime",
            },
            {
                "business_object": "refund",
                "system_of_record": "external",
                "direction": "import",
                "mode": "realtime",
            },
            # Odoo owns products, prices and stock.
            {
                "business_object": "product",
                "system_of_record": "odoo",
                "direction": "off",
                "mode": "realtime",
            },
            {
                "business_object": "stock_level",
                "system_of_record": "odoo",
                "direction": "export",
                "mode": "micro_batch",
                "interval_minutes": 2,
                # one message for every changed SKU: the export looks SKUs up
                # in bulk (10,000 SKUs stay one message and ~80 calls)
                "batch_size": 100000,
            },
            {
                "business_object": "tracking",
                "system_of_record": "odoo",
                "direction": "export",
                "mode": "realtime",
                # one delivery per message: one item per delivery on the desk
                "batch_size": 1,
            },
        ]

    # ------------------------------------------------------------------
    # Webhook intake
    # ------------------------------------------------------------------
    def _shopify_webhook_verify(self, headers, body):
        return verify_signature(
            self._get_secret("webhook_secret"), body, headers.get(HMAC_HEADER)
        )

    def _shopify_webhook_envelope(self, headers, body):
        """Topic as message type; orders keyed by id and ``updated_at`` (the
        key polling uses too), refunds by refund id; anything else by the
        webhook id, which Shopify keeps on retries."""
        topic = headers.get("X-Shopify-Topic") or "unknown"
        webhook_id = headers.get("X-Shopify-Webhook-Id")
        envelope = {
            "message_type": topic,
            "idempotency_key": f"webhook:{webhook_id}"
            if webhook_id
            else body_digest(body),
            "external_id": None,
            "correlation_id": headers.get("X-Correlation-Id"),
        }
        try:
            data = json.loads(body)
        except ValueError:
            return envelope  # stored as is; processing says why it fails
        if not isinstance(data, dict) or not data.get("id"):
            return envelope
        if topic.startswith("orders/"):
            envelope.update(
                idempotency_key=order_idempotency_key(
                    data["id"], data.get("updated_at")
                ),
                external_id=str(data["id"]),
                reference=data.get("name"),
                correlation_id=order_correlation_id(data["id"]),
            )
        elif topic.startswith("refunds/"):
            envelope.update(
                idempotency_key=f"refund:{data['id']}",
                external_id=str(data["id"]),
                correlation_id=order_correlation_id(data.get("order_id")),
            )
        return envelope

    # ------------------------------------------------------------------
    # Outbound calls
    # ------------------------------------------------------------------
    def _shopify_admin_path(self, path):
        self.ensure_one()
        version = self.api_version or DEFAULT_API_VERSION
        return f"admin/api/{version}/{path.lstrip('/')}"

    def _shopify_token(self, refresh=False):
        """The Admin API access token (fetched with client credentials when
        the backend uses them, cached per process until shortly before it
        expires)."""
        self.ensure_one()
        if self.shopify_auth != "client_credentials":
            token = self._get_secret("api_key")
            if not token:
                raise UserError(_("%s: set the access token first.", self.name))
            return token
        client_id = self._get_secret("api_key")
        key = (self.env.cr.dbname, self.id, client_id)
        with _tokens_lock:
            cached = _tokens.get(key)
            if cached and not refresh and cached[1] > time.monotonic():
                return cached[0]
        return self._shopify_request_token(client_id, key)

    def _shopify_request_token(self, client_id, key):
        """POST the client credentials. The token is cached before the call
        is logged (``read_answer``), so that the log masks it like every
        credential (``_shopify_secrets``)."""

        def read_token(response):
            try:
                answer = response.json()
            except ValueError as exc:
                raise PermanentError(
                    _("%s: the token endpoint answered no JSON.", self.name)
                ) from exc
            token = answer.get("access_token") if isinstance(answer, dict) else None
            if not token:
                raise PermanentError(
                    _("%s: Shopify answered no access token.", self.name)
                )
            lifetime = max(int(answer.get("expires_in") or 3600) - 60, 5)
            with _tokens_lock:
                _tokens[key] = (token, time.monotonic() + lifetime)
            return token

        return self._call(
            "POST",
            "admin/oauth/access_token",
            call_type="shopify.token",
            read_answer=read_token,
            json={
                "client_id": client_id,
                "client_secret": self._get_secret("api_secret"),
                "grant_type": "client_credentials",
            },
        )

    def _shopify_secrets(self):
        """Tokens obtained with client credentials are masked like the rest."""
        with _tokens_lock:
            return [
                token
                for (dbname, backend_id, _client), (token, _exp) in _tokens.items()
                if dbname == self.env.cr.dbname and backend_id == self.id
            ]

    def _shopify_client(self, refresh_token=False, graphql_call=False):
        """The HTTP client with the access token. Shopify limits REST calls
        with a leaky bucket of 40 calls (``rate_limit`` per second leak) and
        GraphQL by query cost: REST calls go through a bucket of that shape,
        GraphQL calls wait on the cost budget Shopify reports instead."""
        self.ensure_one()
        token = self._shopify_token(refresh=refresh_token)
        if graphql_call or not self.rate_limit:
            limiter = None
        else:
            limiter = _rest_limiter((self.env.cr.dbname, self.id), self.rate_limit)
        return self._http_client(
            headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            secrets=self._secrets() + [token],
            rate_limiter=limiter,
        )

    def _shopify_request(self, method, path, call_type, **kwargs):
        """One Admin API call (path under ``admin/api/<version>/`` unless it
        is a full URL, e.g. a ``Link`` header's); with client credentials a
        refused token is renewed once."""
        self.ensure_one()
        if not path.startswith(("http://", "https://")):
            path = self._shopify_admin_path(path)
        graphql_call = path.endswith("graphql.json")
        try:
            return self._call(
                method,
                path,
                client=self._shopify_client(graphql_call=graphql_call),
                call_type=call_type,
                **kwargs,
            )
        except AuthenticationFailed:
            if self.shopify_auth != "client_credentials":
                raise
            return self._call(
                method,
                path,
                client=self._shopify_client(
                    refresh_token=True, graphql_call=graphql_call
                ),
                call_type=call_type,
                **kwargs,
            )

    def _shopify_cost_wait(self):
        """Wait until the GraphQL cost budget (as Shopify last reported it,
        refilled since at its restore rate) holds a comfortable amount."""
        key = (self.env.cr.dbname, self.id)
        with _tokens_lock:
            state = _cost_budget.get(key)
        if not state:
            return
        available, restore, maximum, at = state
        now = time.monotonic()
        available = min(maximum, available + (now - at) * restore)
        wanted = min(COST_RESERVE, maximum)
        if available < wanted and restore > 0:
            time.sleep(min((wanted - available) / restore, 30))

    def _shopify_cost_seen(self, body):
        status = (((body or {}).get("extensions") or {}).get("cost") or {}).get(
            "throttleStatus"
        ) or {}
        if status.get("currentlyAvailable") is None:
            return
        with _tokens_lock:
            _cost_budget[(self.env.cr.dbname, self.id)] = (
                float(status["currentlyAvailable"]),
                float(status.get("restoreRate") or 50),
                float(status.get("maximumAvailable") or 1000),
                time.monotonic(),
            )

    def _shopify_graphql(self, query, variables=None, call_type="shopify.graphql"):
        """Run a GraphQL document; returns ``data``. A throttled query waits
        for the bucket (briefly) and runs again; then TransientError."""
        self.ensure_one()
        for attempt in range(4):
            self._shopify_cost_wait()
            response = self._shopify_request(
                "POST",
                "graphql.json",
                call_type,
                json={"query": query, "variables": variables or {}},
            )
            try:
                body = response.json()
            except ValueError as exc:
                raise TransientError(
                    _("%s: Shopify answered something that is not JSON.", self.name),
                    response.text[:2000],
                ) from exc
            self._shopify_cost_seen(body)
            try:
                return graphql.check_response(body)
            except graphql.GraphQLProblem as exc:
                if not exc.throttled:
                    raise PermanentError(
                        _(
                            "%(backend)s: Shopify refused the query: %(error)s",
                            backend=self.name,
                            error=exc.message,
                        ),
                        json.dumps(body)[:4000],
                    ) from exc
                if attempt == 3 or (exc.retry_after or 0) > 30:
                    raise TransientError(
                        _("%s: Shopify throttled the query (cost limit).", self.name),
                        json.dumps(body)[:2000],
                        retry_after=exc.retry_after,
                    ) from exc
                time.sleep(exc.retry_after or 1)
        raise AssertionError("unreachable")  # pragma: no cover

    # ------------------------------------------------------------------
    # Buttons
    # ------------------------------------------------------------------
    def _shopify_test_connection(self):
        if not self.base_url:
            raise UserError(_("Set the shop URL (https://<shop>.myshopify.com) first."))
        shop = self._shopify_graphql(graphql.SHOP_QUERY, call_type="connection.test")[
            "shop"
        ]
        return _(
            "Connected to %(name)s (%(domain)s), currency %(currency)s, Admin API "
            "%(version)s.",
            name=shop.get("name"),
            domain=shop.get("myshopifyDomain"),
            currency=shop.get("currencyCode"),
            version=self.api_version,
        )

    def _shopify_register_webhooks(self):
        """Subscribe the order and refund topics to this backend's webhook
        URL; topics already subscribed there are left alone. Returns
        ``(created, existing)`` topic lists."""
        self.ensure_one()
        uri = self._webhook_url()
        existing, cursor = set(), None
        while True:
            page = self._shopify_graphql(
                graphql.WEBHOOK_SUBSCRIPTIONS_QUERY,
                {"cursor": cursor},
                call_type="shopify.webhooks",
            )["webhookSubscriptions"]
            existing |= {
                node["topic"] for node in page["nodes"] if node.get("uri") == uri
            }
            if not page["pageInfo"]["hasNextPage"]:
                break
            cursor = page["pageInfo"]["endCursor"]
        created, already = [], []
        for topic in WEBHOOK_TOPICS:
            if graphql.topic_enum(topic) in existing:
                already.append(topic)
                continue
            result = self._shopify_graphql(
                graphql.WEBHOOK_SUBSCRIPTION_CREATE,
                {
                    "topic": graphql.topic_enum(topic),
                    "subscription": {"uri": uri, "format": "JSON"},
                },
                call_type="shopify.webhooks",
            )["webhookSubscriptionCreate"]
            if result["userErrors"]:
                raise UserError(
                    _(
                        "Shopify refused the subscription to %(topic)s: %(errors)s",
                        topic=topic,
                        errors="; ".join(e["message"] for e in result["userErrors"]),
                    )
                )
            created.append(topic)
        return created, already

    def _check_shopify_manager(self):
        if not self.env.su and not self.env.user.has_group(MANAGER):
            raise AccessError(_("Only integration managers can do this."))

    def action_shopify_register_webhooks(self):
        self.ensure_one()
        self._check_shopify_manager()
        created, already = self._shopify_register_webhooks()
        text = _(
            "Webhooks to %(url)s: subscribed %(created)s; already there: %(already)s.",
            url=self._webhook_url(),
            created=", ".join(created) or _("none"),
            already=", ".join(already) or _("none"),
        )
        self.message_post(body=text)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Shopify webhooks"),
                "message": text,
                "type": "success",
            },
        }

    def _shopify_fetch_locations(self):
        """Create or update the backend's Shopify locations; returns them."""
        self.ensure_one()
        Location = self.env["shopify.location"].with_context(active_test=False)
        cursor, seen = None, Location
        while True:
            page = self._shopify_graphql(
                graphql.LOCATIONS_QUERY, {"cursor": cursor}, "shopify.locations"
            )["locations"]
            for node in page["nodes"]:
                legacy = str(
                    node.get("legacyResourceId") or graphql.legacy_id(node["id"])
                )
                location = Location.search(
                    [("backend_id", "=", self.id), ("shopify_id", "=", legacy)], limit=1
                )
                values = {"name": node["name"], "active": node.get("isActive", True)}
                if location:
                    location.write(values)
                else:
                    location = Location.create(
                        {**values, "backend_id": self.id, "shopify_id": legacy}
                    )
                seen |= location
            if not page["pageInfo"]["hasNextPage"]:
                break
            cursor = page["pageInfo"]["endCursor"]
        return seen

    def action_shopify_fetch_locations(self):
        self.ensure_one()
        self._check_shopify_manager()
        locations = self._shopify_fetch_locations()
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": _("Shopify locations"),
                "message": _(
                    "%s location(s) read. Map each to the Odoo warehouse(s) "
                    "whose stock it sells.",
                    len(locations),
                ),
                "type": "success",
                "next": {"type": "ir.actions.act_window_close"},
            },
        }

    def action_shopify_export_stock_now(self):
        """Queue a full stock export (every mapped product) at once."""
        self.ensure_one()
        self._check_shopify_manager()
        self.env["shopify.stock.exporter"]._queue_export(self, full=True)
        return True

    # ------------------------------------------------------------------
    # Catch-up polling (REST, ``Link`` header pagination)
    # ------------------------------------------------------------------
    def _shopify_poll_sale_order(self, rule):
        """Queue every order updated since the rule's watermark (minus the
        overlap) that neither a webhook nor an earlier poll brought in; the
        watermark moves to the newest ``updated_at`` seen."""
        self.ensure_one()
        overlap = max(self.shopify_poll_overlap_minutes, 0)
        watermark = parse_datetime(rule.cursor) if rule.cursor else None
        if watermark is None:
            watermark = fields.Datetime.now() - timedelta(days=1)
        since = watermark - timedelta(minutes=overlap)
        url = "orders.json"
        params = {
            "status": "any",
            "updated_at_min": to_iso_utc(since),
            "order": "updated_at asc",
            "limit": POLL_PAGE_SIZE,
        }
        queued = pages = 0
        newest = watermark
        Message = self.env["integration.message"]
        while url and pages < max(self.shopify_poll_max_pages, 1):
            response = self._shopify_request(
                "GET", url, "shopify.poll.orders", params=params
            )
            pages += 1
            orders = response.json().get("orders") or []
            queued += self._shopify_queue_polled_orders(orders, Message)
            for order in orders:
                updated = parse_datetime(order.get("updated_at"))
                if updated and updated > newest:
                    newest = updated
            url, params = next_page_url(response.headers.get("Link")), None
        rule.cursor = to_iso_utc(newest)
        return queued

    def _shopify_queue_polled_orders(self, orders, Message):
        """Intake of polled orders not known yet, as ``orders/updated``."""
        if not orders:
            return 0
        keys = {
            order_idempotency_key(o["id"], o.get("updated_at")): o
            for o in orders
            if o.get("id")
        }
        self.env.flush_all()
        self.env.cr.execute(
            """
            SELECT idempotency_key FROM integration_message
             WHERE backend_id = %s AND direction = 'in'
               AND message_type IN %s AND idempotency_key IN %s
            """,
            (self.id, ORDER_TOPICS, tuple(keys)),
        )
        seen = {row[0] for row in self.env.cr.fetchall()}
        applied = self._shopify_applied_versions([str(o["id"]) for o in keys.values()])
        queued = 0
        for key, order in keys.items():
            version, digest = applied.get(str(order["id"]), (None, None))
            updated = parse_datetime(order.get("updated_at"))
            if version and updated and updated < version:
                continue  # older than what is applied
            if version and updated == version:
                current = state_digest(order)
                if current == digest:
                    continue  # this very version is applied
                key = f"{key}:{current}"  # same second, other content
            elif key in seen:
                continue  # queued already (webhook or earlier poll)
            _message, created = Message._intake(
                self,
                "orders/updated",
                key,
                json.dumps(order).encode(),
                external_id=str(order["id"]),
                reference=order.get("name"),
                correlation_id=order_correlation_id(order["id"]),
            )
            queued += int(created)
        return queued

    def _shopify_applied_versions(self, order_ids):
        """``{shopify order id: (updated_at, state digest)}`` of the orders
        applied in Odoo."""
        bindings = (
            self.env["integration.binding"]
            ._bindings_by_external_id(self, "sale.order", order_ids)
            .values()
        )
        sales = self.env["sale.order"].browse([b.res_id for b in bindings]).exists()
        digests = {sale.id: sale.shopify_digest for sale in sales}
        return {
            b.external_id: (b.external_updated_at, digests.get(b.res_id))
            for b in bindings
        }

    # ------------------------------------------------------------------
    # Message handlers (named by the message types)
    # ------------------------------------------------------------------
    def _shopify_handle_order(self, message, data):
        return self.env["shopify.order.importer"]._import_order(self, message, data)

    def _shopify_handle_refund(self, message, data):
        return self.env["shopify.refund.importer"]._import_refund_message(
            self, message, data
        )

    # ------------------------------------------------------------------
    # The desk: what an order message is about, and mapping suggestions
    # ------------------------------------------------------------------
    def _shopify_payload_dict(self, message):
        if message.payload_purged or message.payload_encoding != "utf-8":
            return None
        try:
            data = json.loads(message.payload or "")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def _shopify_message_summary(self, message):
        """Customer, total and lines of an order (the unmapped SKU's line
        marked), and the Odoo order it made, whatever the reader's rights."""
        if not message.message_type.startswith("orders/"):
            return None
        data = self._shopify_payload_dict(message)
        if data is None:
            return None
        marked = message.mapping_code if message.mapping_kind == "product" else None
        summary = order_summary(data, marked)
        record = message.sudo()._related_record()
        if record is not None and record._name == "sale.order":
            state = dict(record._fields["state"]._description_selection(self.env))
            summary["fields"].append(
                (_("Odoo order"), f"{record.name} ({state.get(record.state)})")
            )
        return summary

    def _shopify_mapping_suggestion(self, message, kind, code):
        """A new product prefilled from the order line of the unknown SKU."""
        if kind != "product":
            return {}
        return line_suggestion(self._shopify_payload_dict(message), code)

    def _shopify_export_stock_level(self, message, data):
        return self.env["shopify.stock.exporter"]._export(self, message, data)

    def _shopify_export_tracking(self, message, data):
        return self.env["shopify.fulfillment.exporter"]._export(self, message, data)
