"""The Shopify system: routes, auth, the GraphQL endpoint and throttling.

REST handlers live in rest.py and control-API handlers in control.py (mixins).
"""

import math
import re
import uuid

from werkzeug.wrappers import Response

from ..core.system import System
from ..core.util import ApiError, json_response
from .control import ShopifyControlMixin
from .graphql_api import GraphQLRequest
from .rest import ShopifyRestMixin
from .state import DEFAULT_VERSION, Shop, ShopError

VERSION_RE = re.compile(r"^(\d{4}-\d{2}|unstable)$")
INVALID_TOKEN = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong "
    "password)"
}
RATE_DOC = "https://shopify.dev/api/usage/rate-limits"


class ShopifySystem(ShopifyRestMixin, ShopifyControlMixin, System):
    name = "shopify"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.shops = {}

    # -- framework hooks -------------------------------------------------------
    def api_routes(self):
        api = "/<shop>/admin/api/<version>"
        return [
            ("/<shop>/admin/oauth/access_token", "oauth_token", ["POST"]),
            (f"{api}/graphql.json", "graphql", ["POST"]),
            *self.rest_routes(api),
        ]

    def control_routes(self):
        return self.shopify_control_routes()

    def categories(self, request, handler, values):
        if handler == "graphql":
            return {"graphql"}
        if handler == "oauth_token":
            return {"oauth"}
        return {"rest"}

    def fault_target(self, values):
        return values.get("shop", "")

    def rate_limited_response(self, request, rule, handler, values):
        shop_name = values.get("shop")
        if handler == "graphql":
            with self.lock:
                shop = self.shop(shop_name)
                shop.gql_bucket.drain()
            return json_response(
                self._throttled_body(shop, None),
                200,
            )
        seconds = rule.seconds or 2.0
        return json_response(
            {
                "errors": "Exceeded 2 calls per second for api client. Reduce request "
                "rates to resume uninterrupted service."
            },
            429,
            {
                "Retry-After": f"{seconds:.1f}",
                "X-Shopify-Shop-Api-Call-Limit": "40/40",
            },
        )

    def decorate_fault_response(self, response, request, handler, values):
        if values.get("version"):
            response.headers["X-Shopify-API-Version"] = values["version"]
        response.headers.setdefault("X-Request-Id", str(uuid.uuid4()))
        return response

    def reset(self):
        with self.lock:
            self.shops = {}

    def describe(self):
        with self.lock:
            return {
                "name": self.name,
                "default_api_version": DEFAULT_VERSION,
                "shops": sorted(self.shops),
            }

    # -- helpers -----------------------------------------------------------------
    def shop(self, name):
        """The shop called ``name``, created on first use (lock held)."""
        shop = self.shops.get(name)
        if shop is None:
            try:
                shop = Shop(name, self.ctx)
            except ShopError as exc:
                raise ApiError(
                    404, {"errors": "Not Found", "detail": str(exc)}
                ) from exc
            self.shops[name] = shop
        return shop

    @staticmethod
    def check_version(version):
        if not VERSION_RE.match(version or ""):
            raise ApiError(404, {"errors": "Not Found"})

    def authenticate(self, request, shop_name):
        with self.lock:
            shop = self.shop(shop_name)
            ok = shop.check_token(request.headers.get("X-Shopify-Access-Token"))
        if not ok:
            raise ApiError(401, INVALID_TOKEN)
        return shop

    @staticmethod
    def finish(response, version=None):
        if version:
            response.headers["X-Shopify-API-Version"] = version
        response.headers["X-Request-Id"] = str(uuid.uuid4())
        return response

    # -- OAuth client credentials --------------------------------------------------
    def oauth_token(self, request, shop):
        if request.is_json:
            params = request.get_json(silent=True) or {}
        else:
            params = request.form.to_dict() or request.args.to_dict()
        if params.get("grant_type") != "client_credentials":
            return json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant_type must be client_credentials",
                },
                400,
            )
        with self.lock:
            token = self.shop(shop).issue_token(
                params.get("client_id"), params.get("client_secret")
            )
        if token is None:
            return json_response(
                {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed: unknown "
                    "client_id or wrong client_secret.",
                },
                401,
            )
        return self.finish(json_response(token))

    # -- GraphQL ------------------------------------------------------------------
    def _cost_extension(self, shop, requested, actual):
        bucket = shop.gql_bucket
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": {
                "maximumAvailable": float(bucket.capacity),
                "currentlyAvailable": int(bucket.available),
                "restoreRate": float(bucket.rate),
            },
        }

    def _throttled_body(self, shop, requested):
        return {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {"code": "THROTTLED", "documentation": RATE_DOC},
                }
            ],
            "extensions": {"cost": self._cost_extension(shop, requested, None)},
        }

    def graphql(self, request, shop, version):
        self.check_version(version)
        shop_obj = self.authenticate(request, shop)
        content_type = request.mimetype or ""
        if content_type == "application/graphql":
            query, variables, op_name = request.get_data(as_text=True), {}, None
        else:
            payload = request.get_json(silent=True, force=True)
            if not isinstance(payload, dict):
                raise ApiError(
                    400, {"errors": {"query": "Required parameter missing or invalid"}}
                )
            query = payload.get("query")
            variables = payload.get("variables") or {}
            op_name = payload.get("operationName")
        gql = GraphQLRequest(query, variables, op_name)
        if gql.errors:
            return self.finish(json_response({"errors": gql.errors}), version)
        requested = gql.requested_cost
        max_cost = int(
            min(shop_obj.settings["max_query_cost"], shop_obj.gql_bucket.capacity)
        )
        if requested > max_cost:
            body = {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the "
                        f"single query max cost limit ({max_cost}).\n\nSee "
                        f"{RATE_DOC} for more information on how the\ncost of a "
                        "query is calculated.\n\nTo query larger amounts of data "
                        "with fewer limits, bulk operations should be used instead.",
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": requested,
                            "maxCost": max_cost,
                            "documentation": RATE_DOC,
                        },
                    }
                ]
            }
            return self.finish(json_response(body), version)
        if not shop_obj.gql_bucket.try_consume(requested):
            return self.finish(
                json_response(self._throttled_body(shop_obj, requested)), version
            )
        with self.lock:
            body, actual, search = gql.execute(shop_obj, version)
        if actual < requested:
            shop_obj.gql_bucket.refund(requested - actual)
        extensions = {"cost": self._cost_extension(shop_obj, requested, actual)}
        if search:
            extensions["search"] = search
        body["extensions"] = extensions
        return self.finish(json_response(body), version)

    # -- REST plumbing ----------------------------------------------------------------
    def rest_call(self, request, shop, version, handler):
        """Auth + REST call limit around a REST handler returning a Response."""
        self.check_version(version)
        shop_obj = self.authenticate(request, shop)
        bucket = shop_obj.rest_bucket
        capacity = int(bucket.capacity)
        if not bucket.try_consume(1):
            wait = max(1.0, math.ceil(bucket.wait_time(1) * 10) / 10)
            resp = json_response(
                {
                    "errors": "Exceeded 2 calls per second for api client. Reduce "
                    "request rates to resume uninterrupted service."
                },
                429,
                {
                    "Retry-After": f"{wait:.1f}",
                    "X-Shopify-Shop-Api-Call-Limit": f"{capacity}/{capacity}",
                },
            )
            return self.finish(resp, version)
        used = max(1, math.ceil(bucket.used - 1e-6))
        try:
            with self.lock:
                resp = handler(shop_obj)
        except ApiError as exc:
            resp = exc.response()
        if not isinstance(resp, Response):
            resp = json_response(resp)
        resp.headers["X-Shopify-Shop-Api-Call-Limit"] = f"{used}/{capacity}"
        return self.finish(resp, version)
