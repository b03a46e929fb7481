"""A warehouse management system speaking the WMS contract of connector_wms
(``addons/connector_wms/CONTRACT.md``), one per warehouse code:

    GET  /wms/<wh>/                                 who am I (Test connection)
    POST /wms/<wh>/outbound-orders                  release (or a new revision)
    POST /wms/<wh>/outbound-orders/<ref>/cancel     cancel (409 once picked)
    POST /wms/<wh>/inbound-receipts                 announce a receipt
    POST /wms/<wh>/stock-snapshots                  freeze the stock for a pull
    GET  /wms/<wh>/stock-snapshots/<id>?cursor=     its lines, page by page
    GET  /wms/<wh>/events?after=&limit=             every event since a cursor

Bearer token per warehouse (default ``sandbox-wms-token``), 401 otherwise.
The WMS keeps its own stock (per SKU, lot and location), ships on a control
call or on its own after ``auto_ship_seconds`` (full, partial, split into
several shipments, with lots, serials and packages; the automatic shipment
refuses, an ``order.status`` ``refused`` event, an order with a SKU of
``refuse_skus`` (``{sku: reason}``) or, with ``refuse_short``, an order its
stock does not cover; ``own_labels: false`` ships packages
without a tracking number, for Odoo to buy the labels), receives goods, refuses
cancels and changes of picked orders, and sends every event as a signed
webhook (``X-Integration-Signature``) to ``webhook_url``; ``lose_webhooks: n``
records the next n events without sending them (the poll still lists them).
Request faults (``system: "wms"``, ``match: "api"``, ``target: <wh>``) and
delivery faults (duplicate, out of order, latency) come from the framework.

Control (``/_control/wms/<wh>``): ``GET``/``PATCH`` settings and state,
``POST /products``, ``POST /stock``, ``GET /orders/<ref>``,
``POST /orders/<ref>/pick``, ``POST /orders/<ref>/ship``,
``GET /receipts/<ref>``, ``POST /receipts/<ref>/receive``, ``POST /snapshot``
(push one; ``corrupt``: ``checksum`` or ``line_count``),
``POST /events/<event_id>/resend``.
"""

import hashlib
import threading
from decimal import Decimal

from ..core.system import System
from ..core.util import (
    ApiError,
    b64url_json,
    b64url_json_decode,
    format_utc,
    json_response,
    read_json,
    utcnow,
)

DEFAULT_TOKEN = "sandbox-wms-token"
DEFAULT_SECRET = "sandbox-wms-secret"
CONTRACT_VERSION = "1"
LOCKED_STATUSES = ("picked", "partially_shipped", "shipped")
SETTINGS = (
    "token",
    "webhook_url",
    "webhook_secret",
    "refuse_changes",
    "auto_acknowledge",
    "auto_ship_seconds",
    "refuse_short",
    "refuse_skus",
    "own_labels",
    "lose_webhooks",
    "name",
)


def _number(value):
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def quantity_text(value):
    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text in ("-0", "") else text


def snapshot_checksum(lines):
    """The contract's checksum (CONTRACT.md, *Stock snapshots*)."""
    rows = sorted(
        "|".join(
            (
                str(line.get("sku") or ""),
                str(line.get("lot") or ""),
                str(line.get("location") or ""),
                quantity_text(line.get("quantity") or 0),
            )
        )
        for line in lines
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


class WmsSystem(System):
    name = "wms"

    def __init__(self, ctx):
        super().__init__(ctx)
        self._timers = []
        self.reset()

    def api_routes(self):
        return [
            ("/<wh>/", "api_info", ["GET"]),
            ("/<wh>/outbound-orders", "api_release", ["POST"]),
            ("/<wh>/outbound-orders/<path:ref>/cancel", "api_cancel", ["POST"]),
            ("/<wh>/inbound-receipts", "api_receipt", ["POST"]),
            ("/<wh>/stock-snapshots", "api_snapshot_start", ["POST"]),
            ("/<wh>/stock-snapshots/<snapshot_id>", "api_snapshot_page", ["GET"]),
            ("/<wh>/events", "api_events", ["GET"]),
        ]

    def control_routes(self):
        return [
            ("/<wh>", "ctl_state", ["GET", "PATCH"]),
            ("/<wh>/products", "ctl_products", ["POST"]),
            ("/<wh>/stock", "ctl_stock", ["GET", "POST"]),
            ("/<wh>/orders/<path:ref>/pick", "ctl_pick", ["POST"]),
            ("/<wh>/orders/<path:ref>/ship", "ctl_ship", ["POST"]),
            ("/<wh>/orders/<path:ref>", "ctl_order", ["GET"]),
            ("/<wh>/receipts/<path:ref>/receive", "ctl_receive", ["POST"]),
            ("/<wh>/receipts/<path:ref>", "ctl_receipt", ["GET"]),
            ("/<wh>/snapshot", "ctl_snapshot", ["POST"]),
            ("/<wh>/events/<event_id>/resend", "ctl_resend", ["POST"]),
        ]

    def categories(self, request, handler, values):
        return {"api"} if handler.startswith("api_") else set()

    def fault_target(self, values):
        return values.get("wh", "")

    def reset(self):
        with self.lock:
            for timer in self._timers:
                timer.cancel()
            self._timers = []
            self.warehouses = {}

    def describe(self):
        with self.lock:
            return {"name": self.name, "warehouses": sorted(self.warehouses)}

    # -- state ---------------------------------------------------------------------
    def _wh(self, code):
        return self.warehouses.setdefault(
            code,
            {
                "code": code,
                "name": f"Sandbox WMS {code}",
                "token": DEFAULT_TOKEN,
                "webhook_url": None,
                "webhook_secret": DEFAULT_SECRET,
                "refuse_changes": False,
                "auto_acknowledge": True,
                "auto_ship_seconds": None,
                "refuse_short": False,
                "refuse_skus": {},
                "own_labels": True,
                "lose_webhooks": 0,
                "products": {},
                "stock": {},
                "expiry": {},
                "orders": {},
                "receipts": {},
                "events": [],
                "snapshots": {},
                "sequence": 0,
                "lost": [],
            },
        )

    def _next(self, wh, prefix):
        wh["sequence"] += 1
        return f"{prefix}-{wh['code']}-{wh['sequence']:06d}"

    def _authorize(self, request, wh):
        if request.headers.get("Authorization", "") != f"Bearer {wh['token']}":
            raise ApiError(401, {"error": "unauthorized", "message": "bad token"})

    def _settings(self, wh):
        return {key: wh[key] for key in SETTINGS}

    def _stock_lines(self, wh):
        return [
            {
                "sku": sku,
                "lot": lot,
                "location": location,
                "quantity": _number(quantity),
            }
            for (sku, lot, location), quantity in sorted(
                wh["stock"].items(), key=lambda item: tuple(x or "" for x in item[0])
            )
            if quantity
        ]

    # -- events --------------------------------------------------------------------
    def _emit(self, wh, event_type, data):
        """Record an event (the poll lists it) and send it as a webhook."""
        event = {
            "event_id": self._next(wh, "evt"),
            "event_type": event_type,
            "occurred_at": format_utc(utcnow()),
            "warehouse": wh["code"],
            "contract_version": CONTRACT_VERSION,
            "data": data,
        }
        wh["events"].append(event)
        if wh["lose_webhooks"] > 0:
            wh["lose_webhooks"] -= 1
            wh["lost"].append(event["event_id"])
        else:
            self._send(wh, event)
        return event

    def _send(self, wh, event):
        if wh["webhook_url"]:
            self.send_webhook(
                event["event_type"],
                wh["webhook_url"],
                event,
                wh["webhook_secret"],
                headers={"X-Integration-Event-Id": event["event_id"]},
                target=wh["code"],
            )

    # -- API -------------------------------------------------------------------------
    def api_info(self, request, wh):
        with self.lock:
            state = self._wh(wh)
            self._authorize(request, state)
            return json_response(
                {
                    "warehouse": wh,
                    "name": state["name"],
                    "contract_version": CONTRACT_VERSION,
                }
            )

    @staticmethod
    def _check_order(body, ref_key):
        problems = []
        if not isinstance(body, dict):
            raise ApiError(422, {"error": "invalid", "problems": ["not an object"]})
        for key in (ref_key, "revision", "lines"):
            if not body.get(key):
                problems.append(f"{key} is required")
        for index, line in enumerate(body.get("lines") or []):
            if not line.get("sku"):
                problems.append(f"lines[{index}].sku is required")
            try:
                if Decimal(str(line.get("quantity"))) <= 0:
                    problems.append(f"lines[{index}].quantity must be > 0")
            except ArithmeticError:
                problems.append(f"lines[{index}].quantity is not a number")
        if problems:
            raise ApiError(
                422,
                {"error": "invalid", "message": problems[0], "problems": problems},
            )

    def api_release(self, request, wh):
        body = read_json(request)
        with self.lock:
            state = self._wh(wh)
            self._authorize(request, state)
            self._check_order(body, "order_ref")
            ref = body["order_ref"]
            order = state["orders"].get(ref)
            revision = int(body["revision"])
            if order is not None:
                if revision == order["revision"]:
                    return json_response(self._order_answer(order))
                if revision < order["revision"]:
                    raise ApiError(
                        409,
                        {
                            "error": "stale_revision",
                            "revision": order["revision"],
                            "message": f"revision {order['revision']} is newer",
                        },
                    )
                if (
                    order["status"] in LOCKED_STATUSES + ("cancelled",)
                    or state["refuse_changes"]
                ):
                    raise ApiError(
                        409,
                        {
                            "error": "order_locked",
                            "status": order["status"],
                            "message": f"order {ref} is {order['status']}: "
                            "changes are not accepted",
                        },
                    )
                order.update(revision=revision, body=body, lines=body["lines"])
                return json_response(self._order_answer(order))
            order = state["orders"][ref] = {
                "order_ref": ref,
                "revision": revision,
                "status": "received",
                "body": body,
                "lines": body["lines"],
                "shipped": {},
                "shipments": [],
            }
            for line in body["lines"]:
                state["products"].setdefault(line["sku"], line.get("tracking", "none"))
            if state["auto_acknowledge"]:
                order["status"] = "acknowledged"
                self._emit(
                    state,
                    "order.status",
                    {
                        "order_ref": ref,
                        "kind": "outbound",
                        "status": "acknowledged",
                        "revision": revision,
                        "reason": None,
                    },
                )
            if state["auto_ship_seconds"] is not None:
                timer = threading.Timer(
                    float(state["auto_ship_seconds"]), self._auto_ship, (wh, ref)
                )
                timer.daemon = True
                self._timers.append(timer)
                timer.start()
            return json_response(self._order_answer(order), 201)

    @staticmethod
    def _order_answer(order):
        return {
            "order_ref": order["order_ref"],
            "revision": order["revision"],
            "status": "received",
            "wms_status": order["status"],
        }

    def _auto_ship(self, wh, ref):
        with self.lock:
            state = self.warehouses.get(wh)
            order = state and state["orders"].get(ref)
            if not order or order["status"] in ("cancelled", "shipped", "refused"):
                return
            reason = self._refusal(state, order)
            if reason:
                order["status"] = "refused"
                self._emit(
                    state,
                    "order.status",
                    {
                        "order_ref": ref,
                        "kind": "outbound",
                        "status": "refused",
                        "revision": order["revision"],
                        "reason": reason,
                    },
                )
                return
            self._ship(state, order, {})

    def _refusal(self, state, order):
        """Why the automatic shipment refuses ``order`` (None: it ships):
        a SKU of ``refuse_skus`` (its reason), else with ``refuse_short`` the
        SKUs its stock does not cover."""
        for line in order["lines"]:
            reason = (state["refuse_skus"] or {}).get(line["sku"])
            if reason:
                return reason
        short = self._short_lines(state, order) if state["refuse_short"] else []
        return "not enough stock: " + ", ".join(short) if short else None

    def _short_lines(self, state, order):
        """``"<sku> (<available> of <wanted>)"`` for each SKU of ``order``'s
        remaining lines that the WMS's stock does not cover."""
        wanted = {}
        for line, left in self._remaining(order).values():
            wanted[line["sku"]] = wanted.get(line["sku"], Decimal(0)) + left
        short = []
        for sku, quantity in sorted(wanted.items()):
            available = sum(
                (q for k, q in state["stock"].items() if k[0] == sku and q > 0),
                Decimal(0),
            )
            if available < quantity:
                short.append(f"{sku} ({_number(available)} of {_number(quantity)})")
        return short

    def api_cancel(self, request, wh, ref):
        body = read_json(request)
        with self.lock:
            state = self._wh(wh)
            self._authorize(request, state)
            order = state["orders"].get(ref)
            if order is None:
                raise ApiError(404, {"error": "unknown_order", "message": ref})
            if order["status"] in LOCKED_STATUSES:
                self._emit(
                    state,
                    "order.status",
                    {
                        "order_ref": ref,
                        "kind": "outbound",
                        "status": "cancel_refused",
                        "revision": order["revision"],
                        "reason": f"already {order['status']}",
                    },
                )
                raise ApiError(
                    409,
                    {
                        "error": "already_picked",
                        "status": order["status"],
                        "message": f"order {ref} is already {order['status']}",
                    },
                )
            if order["status"] != "cancelled":
                order["status"] = "cancelled"
                order["cancel_reason"] = body.get("reason")
                self._emit(
                    state,
                    "order.status",
                    {
                        "order_ref": ref,
                        "kind": "outbound",
                        "status": "cancelled",
                        "revision": order["revision"],
                        "reason": body.get("reason"),
                    },
                )
            return json_response({"order_ref": ref, "status": "cancelled"})

    def api_receipt(self, request, wh):
        body = read_json(request)
        with self.lock:
            state = self._wh(wh)
            self._authorize(request, state)
            self._check_order(body, "receipt_ref")
            ref = body["receipt_ref"]
            receipt = state["receipts"].get(ref)
            revision = int(body["revision"])
            if receipt is not None and revision <= receipt["revision"]:
                return json_response(
                    {
                        "receipt_ref": ref,
                        "revision": receipt["revision"],
                        "status": "received",
                    }
                )
            if receipt is not None and receipt["status"] != "expected":
                raise ApiError(
                    409,
                    {
                        "error": "order_locked",
                        "status": receipt["status"],
                        "message": f"receipt {ref} is {receipt['status']}",
                    },
                )
            state["receipts"][ref] = {
                "receipt_ref": ref,
                "revision": revision,
                "status": "expected",
                "lines": body["lines"],
                "received": [],
            }
            for line in body["lines"]:
                state["products"].setdefault(line["sku"], line.get("tracking", "none"))
            return json_response(
                {"receipt_ref": ref, "revision": revision, "status": "received"},
                200 if receipt else 201,
            )

    def api_snapshot_start(self, request, wh):
        with self.lock:
            state = self._wh(wh)
            self._authorize(request, state)
            snapshot = self._freeze(state)
            state["snapshots"][snapshot["snapshot_id"]] = snapshot
            return json_response(
                {k: v for k, v in snapshot.items() if k != "lines"}, 201
            )

    def _freeze(self, state):
        lines = self._stock_lines(state)
        return {
            "snapshot_id": self._next(state, "snap"),
            "as_of": format_utc(utcnow()),
            "line_count": len(lines),
            "checksum": snapshot_checksum(lines),
            "lines": lines,
        }

    def api_snapshot_page(self, request, wh, snapshot_id):
        try:
            page_size = max(1, min(int(request.args.get("page_size", 500)), 5000))
        except ValueError as exc:
            raise ApiError(400, {"error": "page_size must be an integer"}) from exc
        with self.lock:
            state = self._wh(wh)
            self._authorize(request, state)
            snapshot = state["snapshots"].get(snapshot_id)
            if snapshot is None:
                raise ApiError(404, {"error": "unknown_snapshot"})
            start = self._position(request.args.get("cursor"))
            lines = snapshot["lines"][start : start + page_size]
            end = start + len(lines)
            return json_response(
                {
                    **{k: v for k, v in snapshot.items() if k != "lines"},
                    "lines": lines,
                    "next_cursor": b64url_json({"position": end})
                    if end < len(snapshot["lines"])
                    else None,
                }
            )

    @staticmethod
    def _position(cursor):
        if not cursor:
            return 0
        try:
            return int(b64url_json_decode(cursor)["position"])
        except (ValueError, KeyError, TypeError) as exc:
            raise ApiError(400, {"error": "invalid cursor"}) from exc

    def api_events(self, request, wh):
        try:
            limit = max(1, min(int(request.args.get("limit", 100)), 1000))
        except ValueError as exc:
            raise ApiError(400, {"error": "limit must be an integer"}) from exc
        with self.lock:
            state = self._wh(wh)
            self._authorize(request, state)
            start = self._position(request.args.get("after"))
            events = state["events"][start : start + limit]
            end = start + len(events)
            return json_response(
                {
                    "events": events,
                    "next_cursor": b64url_json({"position": end}),
                    "has_more": end < len(state["events"]),
                }
            )

    # -- shipping --------------------------------------------------------------------
    def _take(self, state, sku, quantity, lot=None):
        """Remove ``quantity`` of ``sku`` (of ``lot``) from the WMS's stock."""
        stock = state["stock"]
        remaining = Decimal(str(quantity))
        keys = sorted(
            (k for k in stock if k[0] == sku and (lot is None or k[1] == lot)),
            key=lambda k: (
                str(state["expiry"].get((k[0], k[1])) or "9999"),
                k[1] or "",
            ),
        )
        for key in keys:
            if remaining <= 0:
                break
            take = min(stock[key], remaining)
            if take > 0:
                stock[key] -= take
                remaining -= take
        if remaining > 0:
            location = keys[0][2] if keys else "STOCK"
            key = (sku, lot, location)
            stock[key] = stock.get(key, Decimal(0)) - remaining

    def _allocate(self, state, sku, quantity, tracking):
        """Lots (FEFO) or serials from stock for an unspecified line."""
        if tracking not in ("lot", "serial"):
            return [], []
        quantity = Decimal(str(quantity))
        candidates = sorted(
            (
                (state["expiry"].get((k[0], k[1])) or "9999", k[1], q)
                for k, q in state["stock"].items()
                if k[0] == sku and k[1] and q > 0
            ),
        )
        lots, serials, left = {}, [], quantity
        for _expiry, lot, available in candidates:
            if left <= 0:
                break
            take = min(available, left)
            if tracking == "serial":
                serials.append(lot)
                left -= 1
            else:
                lots[lot] = lots.get(lot, Decimal(0)) + take
                left -= take
        lot_list = [
            {
                "lot": lot,
                "quantity": _number(qty),
                "expiry_date": state["expiry"].get((sku, lot)),
            }
            for lot, qty in lots.items()
        ]
        return lot_list, serials

    def _remaining(self, order):
        remaining = {}
        for line in order["lines"]:
            key = str(line.get("line_id") or line["sku"])
            shipped = Decimal(str(order["shipped"].get(key, 0)))
            left = Decimal(str(line["quantity"])) - shipped
            if left > 0:
                remaining[key] = (line, left)
        return remaining

    def _ship(self, state, order, spec):
        if order["status"] == "cancelled":
            raise ApiError(409, {"error": "order_cancelled"})
        specs = spec.get("shipments")
        if not specs:
            specs = [
                {
                    "lines": [
                        {"line_id": key, "sku": line["sku"], "quantity": _number(left)}
                        for key, (line, left) in self._remaining(order).items()
                    ]
                }
            ]
        final = spec.get("final", True)
        first_sequence = len(order["shipments"]) + 1
        events = []
        built = []
        for offset, shipment_spec in enumerate(specs):
            sequence = first_sequence + offset
            lines = []
            for raw in shipment_spec.get("lines", []):
                line = dict(raw)
                ordered = next(
                    (
                        o
                        for o in order["lines"]
                        if str(o.get("line_id")) == str(line.get("line_id"))
                        or (not line.get("line_id") and o["sku"] == line["sku"])
                    ),
                    None,
                )
                if ordered and not line.get("line_id"):
                    line["line_id"] = str(ordered.get("line_id"))
                tracking = state["products"].get(line["sku"], "none")
                if "lots" not in line and "serials" not in line:
                    lots, serials = self._allocate(
                        state, line["sku"], line["quantity"], tracking
                    )
                    if lots:
                        line["lots"] = lots
                    if serials:
                        line["serials"] = serials
                for lot in line.get("lots") or []:
                    self._take(state, line["sku"], lot["quantity"], lot["lot"])
                for serial in line.get("serials") or []:
                    self._take(state, line["sku"], 1, serial)
                if not line.get("lots") and not line.get("serials"):
                    self._take(state, line["sku"], line["quantity"])
                key = str(line.get("line_id") or line["sku"])
                order["shipped"][key] = _number(
                    Decimal(str(order["shipped"].get(key, 0)))
                    + Decimal(str(line["quantity"]))
                )
                lines.append(line)
            packages = shipment_spec.get("packages")
            if packages is None:
                packages = [
                    {
                        "package_ref": self._next(state, "PKG"),
                        "weight_kg": _number(
                            sum(Decimal(str(x["quantity"])) for x in lines) / 2
                        ),
                        "tracking_number": self._next(state, "TRK")
                        if state["own_labels"]
                        else None,
                        "carrier": shipment_spec.get("carrier"),
                        "contents": [
                            {"sku": x["sku"], "quantity": x["quantity"]}
                            for x in lines
                            if Decimal(str(x["quantity"])) > 0
                        ],
                    }
                ]
            last = offset == len(specs) - 1
            data = {
                "shipment_id": shipment_spec.get("shipment_id")
                or self._next(state, "SHP"),
                "order_ref": order["order_ref"],
                "revision": order["revision"],
                "sequence": sequence,
                "final": bool(final and last),
                "shipped_at": format_utc(utcnow()),
                "carrier": shipment_spec.get("carrier"),
                "lines": lines,
                "packages": packages,
            }
            if data["final"]:
                data["shipment_count"] = sequence
            order["shipments"].append(data)
            built.append(data)
        order["status"] = "shipped" if final else "partially_shipped"
        # events leave in the order asked ("reverse" sends the last first)
        order_of_sending = (
            list(reversed(built)) if spec.get("send_order") == "reverse" else built
        )
        for data in order_of_sending:
            events.append(self._emit(state, "shipment.confirmed", data))
        return events

    # -- control -----------------------------------------------------------------------
    def ctl_state(self, request, wh):
        with self.lock:
            state = self._wh(wh)
            if request.method == "PATCH":
                changes = read_json(request)
                unknown = set(changes) - set(SETTINGS)
                if unknown:
                    raise ApiError(
                        422, {"error": f"unknown settings {sorted(unknown)}"}
                    )
                state.update(changes)
            return json_response(
                {
                    **self._settings(state),
                    "orders": {ref: o["status"] for ref, o in state["orders"].items()},
                    "receipts": {
                        ref: r["status"] for ref, r in state["receipts"].items()
                    },
                    "events": len(state["events"]),
                    "lost": list(state["lost"]),
                }
            )

    def ctl_products(self, request, wh):
        body = read_json(request)
        with self.lock:
            state = self._wh(wh)
            for product in body.get("products", []):
                state["products"][product["sku"]] = product.get("tracking", "none")
            return json_response({"products": state["products"]})

    def ctl_stock(self, request, wh):
        with self.lock:
            state = self._wh(wh)
            if request.method == "POST":
                body = read_json(request)
                if body.get("replace"):
                    state["stock"] = {}
                for line in body.get("lines", []):
                    key = (
                        line["sku"],
                        line.get("lot") or None,
                        line.get("location") or "STOCK",
                    )
                    quantity = Decimal(str(line["quantity"]))
                    if body.get("add"):
                        quantity += state["stock"].get(key, Decimal(0))
                    state["stock"][key] = quantity
                    if line.get("expiry_date"):
                        state["expiry"][(line["sku"], line.get("lot"))] = line[
                            "expiry_date"
                        ]
                    if line.get("tracking"):
                        state["products"][line["sku"]] = line["tracking"]
            return json_response({"lines": self._stock_lines(state)})

    def _order(self, state, ref):
        order = state["orders"].get(ref)
        if order is None:
            raise ApiError(404, {"error": "unknown_order", "message": ref})
        return order

    def ctl_order(self, request, wh, ref):
        with self.lock:
            order = self._order(self._wh(wh), ref)
            return json_response({"order": order})

    def ctl_pick(self, request, wh, ref):
        with self.lock:
            state = self._wh(wh)
            order = self._order(state, ref)
            order["status"] = "picked"
            event = self._emit(
                state,
                "order.status",
                {
                    "order_ref": ref,
                    "kind": "outbound",
                    "status": "picked",
                    "revision": order["revision"],
                    "reason": None,
                },
            )
            return json_response({"order": order, "event": event})

    def ctl_ship(self, request, wh, ref):
        spec = read_json(request)
        with self.lock:
            state = self._wh(wh)
            order = self._order(state, ref)
            events = self._ship(state, order, spec)
            return json_response({"events": events, "status": order["status"]})

    def ctl_receipt(self, request, wh, ref):
        with self.lock:
            receipt = self._wh(wh)["receipts"].get(ref)
            if receipt is None:
                raise ApiError(404, {"error": "unknown_receipt"})
            return json_response({"receipt": receipt})

    def ctl_receive(self, request, wh, ref):
        spec = read_json(request)
        with self.lock:
            state = self._wh(wh)
            receipt = state["receipts"].get(ref)
            if receipt is None:
                raise ApiError(404, {"error": "unknown_receipt"})
            lines = spec.get("lines") or [
                {
                    "line_id": str(line.get("line_id")),
                    "sku": line["sku"],
                    "quantity_received": line["quantity"],
                    "quantity_rejected": 0,
                }
                for line in receipt["lines"]
            ]
            for line in lines:
                for lot in line.get("lots") or []:
                    key = (line["sku"], lot["lot"], "STOCK")
                    state["stock"][key] = state["stock"].get(key, Decimal(0)) + Decimal(
                        str(lot["quantity"])
                    )
                    if lot.get("expiry_date"):
                        state["expiry"][(line["sku"], lot["lot"])] = lot["expiry_date"]
                for serial in line.get("serials") or []:
                    state["stock"][(line["sku"], serial, "STOCK")] = Decimal(1)
                if not line.get("lots") and not line.get("serials"):
                    key = (line["sku"], None, "STOCK")
                    state["stock"][key] = state["stock"].get(key, Decimal(0)) + Decimal(
                        str(line["quantity_received"])
                    )
            receipt["received"].append(lines)
            final = spec.get("final", True)
            receipt["status"] = "received" if final else "partially_received"
            event = self._emit(
                state,
                "receipt.confirmed",
                {
                    "receipt_id": self._next(state, "RCV"),
                    "receipt_ref": ref,
                    "sequence": len(receipt["received"]),
                    "final": bool(final),
                    "received_at": format_utc(utcnow()),
                    "lines": lines,
                },
            )
            return json_response({"event": event})

    def ctl_snapshot(self, request, wh):
        spec = read_json(request)
        with self.lock:
            state = self._wh(wh)
            snapshot = self._freeze(state)
            if spec.get("lines") is not None:
                snapshot["lines"] = spec["lines"]
                snapshot["line_count"] = len(spec["lines"])
                snapshot["checksum"] = snapshot_checksum(spec["lines"])
            if spec.get("corrupt") == "checksum":
                snapshot["checksum"] = "0" * 64
            elif spec.get("corrupt") == "line_count":
                snapshot["lines"] = snapshot["lines"][:-1]
            event = self._emit(state, "stock.snapshot", snapshot)
            return json_response({"event": event})

    def ctl_resend(self, request, wh, event_id):
        with self.lock:
            state = self._wh(wh)
            event = next(
                (e for e in state["events"] if e["event_id"] == event_id), None
            )
            if event is None:
                raise ApiError(404, {"error": "unknown_event"})
            self._send(state, event)
            return json_response({"event": event})
