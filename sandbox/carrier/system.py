"""An EasyPost-compatible carrier API (v2), per account.

API (``/carrier/<account>/v2``), HTTP Basic auth with the API key as user
name (or ``Authorization: Bearer <key>``), JSON bodies wrapped as EasyPost
wraps them (``{"shipment": {...}}``), errors as ``{"error": {"code",
"message", "errors": [...]}}``:

    POST   /shipments                 create, answered with its rates
    GET    /shipments                 list (page_size, before_id, purchased)
    GET    /shipments/<id|reference>  retrieve (by id, or by reference)
    POST   /shipments/<id>/buy        {"rate": {"id": "rate_..."}}
    GET    /shipments/<id>/label      ?file_format=PDF|ZPL|PNG
    POST   /shipments/<id>/refund     refund_status becomes "submitted"
    POST   /refunds                   {"refund": {"carrier", "tracking_codes"}}
    GET    /refunds/<id>
    POST   /trackers                  {"tracker": {"tracking_code", "carrier"}}
    GET    /trackers                  ?tracking_codes[]=...
    GET    /trackers/<id>
    POST   /webhooks                  {"webhook": {"url", "webhook_secret"}}
    GET    /webhooks, DELETE /webhooks/<id>

Label files are served without auth at ``/carrier/<account>/files/<name>``
(EasyPost's are public URLs). Tracker changes send a ``tracker.updated``
Event to every webhook, signed ``X-Hmac-Signature: hmac-sha256-hex=<hex>``
when the webhook has a secret. EasyPost's test tracking codes
(``EZ1000000001`` .. ``EZ7000000007``) give trackers of their status.

Control (``/_control/carrier/<account>``):

* ``GET|PATCH`` the account: ``api_key``, ``rate_adjustment`` (added to every
  later rate, e.g. "2.00"), ``services`` (``[{carrier, service, base, per_oz,
  delivery_days}]``), ``auto_walk`` (``{walk, delay, interval, signed_by,
  by_street}`` or null): every parcel bought afterwards walks on its own, one
  step every ``interval`` seconds (default 5; the first after ``delay``) of
  ``walk`` (default
  "delivered", signed by ``signed_by`` or the recipient's name), or of the
  walk ``by_street`` gives for a street containing its text (e.g.
  ``{"Nowhere": "failure"}``).
* ``POST /trackers/<tracking_code>/advance``: one step ``{status,
  status_detail, message, signed_by, datetime, location}``, or ``{walk:
  "delivered"|"failure"|"return_to_sender"|..., interval}``: the walk's
  remaining steps at once, or one every ``interval`` seconds.
* ``POST /shipments/<id>/refund_result`` ``{"status": "refunded"|"rejected"}``.
* ``POST /buy_timeouts`` ``{"count", "seconds"}``: the next purchases are made,
  then the answer stalls ``seconds`` and is a 504 (a timeout after buying).
* ``POST /webhooks/lose`` ``{"count"}``: the next events are never delivered.
* ``GET /events``, ``GET /purchases`` (every purchase, for "bought once").

Request faults (``system: "carrier"``, ``match: "api"`` or ``"buy"``) and
delivery faults (duplicates, out of order, latency) come from the framework.
"""

import base64
import threading
import time
import uuid
from decimal import Decimal, InvalidOperation

from werkzeug.wrappers import Response

from ..core.system import System
from ..core.util import (
    ApiError,
    dumps,
    format_utc,
    json_response,
    parse_datetime,
    read_json,
    utcnow,
)
from .labels import CONTENT_TYPES, EXTENSIONS, render
from .tracking import (
    LOCATIONS,
    STATUSES,
    TEST_TRACKING_CODES,
    walk_steps,
    webhook_signature,
)

DEFAULT_KEY = "EZTK_sandbox"
DEFAULT_SERVICES = [
    {
        "carrier": "USPS",
        "service": "GroundAdvantage",
        "base": "5.40",
        "per_oz": "0.05",
        "delivery_days": 5,
    },
    {
        "carrier": "USPS",
        "service": "Priority",
        "base": "7.90",
        "per_oz": "0.08",
        "delivery_days": 2,
    },
    {
        "carrier": "USPS",
        "service": "Express",
        "base": "26.35",
        "per_oz": "0.10",
        "delivery_days": 1,
    },
    {
        "carrier": "UPS",
        "service": "Ground",
        "base": "9.10",
        "per_oz": "0.06",
        "delivery_days": 4,
    },
    {
        "carrier": "UPS",
        "service": "NextDayAir",
        "base": "31.50",
        "per_oz": "0.12",
        "delivery_days": 1,
    },
]
LABEL_FORMATS = ("PNG", "PDF", "ZPL")
MAX_PAGE = 100


def _id(prefix):
    return f"{prefix}_{uuid.uuid4().hex}"


def _error(status, code, message, errors=None):
    return ApiError(
        status, {"error": {"code": code, "message": message, "errors": errors or []}}
    )


def _money(value):
    return str(Decimal(value).quantize(Decimal("0.01")))


class CarrierSystem(System):
    name = "carrier"

    def __init__(self, ctx):
        super().__init__(ctx)
        self._timers = []
        self.reset()

    def api_routes(self):
        p = "/<account>/v2"
        return [
            (f"{p}/shipments", "shipments", ["GET", "POST"]),
            (f"{p}/shipments/<ref>", "get_shipment", ["GET"]),
            (f"{p}/shipments/<ref>/buy", "buy_shipment", ["POST"]),
            (f"{p}/shipments/<ref>/label", "convert_label", ["GET"]),
            (f"{p}/shipments/<ref>/refund", "refund_shipment", ["POST"]),
            (f"{p}/refunds", "create_refunds", ["POST"]),
            (f"{p}/refunds/<refund_id>", "get_refund", ["GET"]),
            (f"{p}/trackers", "trackers", ["GET", "POST"]),
            (f"{p}/trackers/<tracker_id>", "get_tracker", ["GET"]),
            (f"{p}/webhooks", "webhooks", ["GET", "POST"]),
            (f"{p}/webhooks/<webhook_id>", "delete_webhook", ["DELETE"]),
            ("/<account>/files/<filename>", "label_file", ["GET"]),
        ]

    def control_routes(self):
        return [
            ("/<account>", "account_state", ["GET", "PATCH"]),
            ("/<account>/trackers/<code>/advance", "advance_tracker", ["POST"]),
            ("/<account>/shipments/<ref>/refund_result", "refund_result", ["POST"]),
            ("/<account>/buy_timeouts", "buy_timeouts", ["POST"]),
            ("/<account>/webhooks/lose", "lose_webhooks", ["POST"]),
            ("/<account>/events", "list_events", ["GET"]),
            ("/<account>/purchases", "list_purchases", ["GET"]),
        ]

    def categories(self, request, handler, values):
        if handler == "label_file":
            return {"files"}
        if handler == "buy_shipment":
            return {"api", "buy"}
        return {"api"}

    def fault_target(self, values):
        return values.get("account", "")

    def reset(self):
        with self.lock:
            for timer in self._timers:
                timer.cancel()
            self._timers = []
            self.accounts = {}

    def describe(self):
        with self.lock:
            return {"name": self.name, "accounts": sorted(self.accounts)}

    # -- state -----------------------------------------------------------------
    def _account(self, name):
        account = self.accounts.get(name)
        if account is None:
            account = self.accounts[name] = {
                "name": name,
                "api_key": DEFAULT_KEY,
                "user_id": _id("user"),
                "rate_adjustment": "0.00",
                "services": [dict(s) for s in DEFAULT_SERVICES],
                "carrier_accounts": {},
                "shipments": {},  # id -> shipment
                "order": [],  # shipment ids, oldest first
                "trackers": {},  # id -> tracker
                "tracker_by_code": {},
                "refunds": {},
                "webhooks": {},
                "files": {},  # filename -> (content type, bytes)
                "events": [],
                "purchases": [],
                "buy_timeouts": [],  # [seconds, ...] one per coming purchase
                "lose_webhooks": 0,
                "auto_walk": None,  # {walk, interval, signed_by, by_street}
                "sequence": 0,
            }
            for carrier in sorted({s["carrier"] for s in account["services"]}):
                account["carrier_accounts"][carrier] = f"ca_{carrier.lower()}_{name}"
        return account

    def _authorize(self, request, account):
        header = request.headers.get("Authorization", "")
        key = None
        if header.startswith("Basic "):
            try:
                key = base64.b64decode(header[6:]).decode().split(":", 1)[0]
            except (ValueError, UnicodeDecodeError):
                key = None
        elif header.startswith("Bearer "):
            key = header[7:]
        if key != account["api_key"]:
            raise _error(401, "APIKEY.INVALID", "The API key provided is invalid.")

    def _api(self, request, account_name):
        account = self._account(account_name)
        self._authorize(request, account)
        return account

    @staticmethod
    def _body(request, wrapper):
        data = read_json(request)
        if not isinstance(data, dict):
            raise _error(
                422, "PARAMETER.INVALID", "The request body must be an object."
            )
        inner = data.get(wrapper, data)
        if not isinstance(inner, dict):
            raise _error(422, "PARAMETER.INVALID", f"'{wrapper}' must be an object.")
        return inner

    # -- shipments ---------------------------------------------------------------
    def shipments(self, request, account):
        with self.lock:
            state = self._api(request, account)
            if request.method == "GET":
                return self._list_shipments(request, state)
            spec = self._body(request, "shipment")
            shipment = self._new_shipment(state, spec, request.host_url)
            return json_response(shipment, 201)

    def _list_shipments(self, request, state):
        try:
            page_size = min(int(request.args.get("page_size", 20)), MAX_PAGE)
        except ValueError as exc:
            raise _error(
                422, "PARAMETER.INVALID", "page_size must be a number"
            ) from exc
        ids = list(reversed(state["order"]))  # newest first, as EasyPost lists
        before = request.args.get("before_id")
        if before and before in ids:
            ids = ids[ids.index(before) + 1 :]
        purchased = request.args.get("purchased")
        rows = [state["shipments"][i] for i in ids]
        if purchased in ("true", "false"):
            rows = [
                r for r in rows if bool(r["postage_label"]) == (purchased == "true")
            ]
        page = rows[:page_size]
        return json_response({"shipments": page, "has_more": len(rows) > page_size})

    @staticmethod
    def _address(spec, role):
        address = spec.get(role)
        if not isinstance(address, dict):
            raise _error(
                422,
                "ADDRESS.MISSING",
                f"{role} is required.",
                [{"field": role, "message": "cannot be blank"}],
            )
        missing = [f for f in ("street1", "city", "country") if not address.get(f)]
        if missing:
            raise _error(
                422,
                "ADDRESS.VERIFY.FAILURE",
                f"{role}: {', '.join(missing)} cannot be blank.",
                [
                    {"field": f"{role}.{f}", "message": "cannot be blank"}
                    for f in missing
                ],
            )
        return {
            "id": _id("adr"),
            "object": "Address",
            **{
                key: address.get(key)
                for key in (
                    "name",
                    "company",
                    "street1",
                    "street2",
                    "city",
                    "state",
                    "zip",
                    "country",
                    "phone",
                    "email",
                )
            },
        }

    def _new_shipment(self, state, spec, host_url):
        to_address = self._address(spec, "to_address")
        from_address = self._address(spec, "from_address")
        parcel = spec.get("parcel") or {}
        try:
            weight = Decimal(str(parcel.get("weight")))
        except (InvalidOperation, ValueError) as exc:
            raise _error(
                422,
                "PARCEL.WEIGHT.INVALID",
                "parcel.weight must be a number of ounces.",
                [{"field": "parcel.weight", "message": "must be a number"}],
            ) from exc
        if weight <= 0:
            raise _error(
                422,
                "PARCEL.WEIGHT.INVALID",
                "parcel.weight must be greater than 0.",
                [{"field": "parcel.weight", "message": "must be greater than 0"}],
            )
        options = dict(spec.get("options") or {})
        label_format = (options.get("label_format") or "PNG").upper()
        if label_format not in LABEL_FORMATS:
            raise _error(
                422,
                "SHIPMENT.OPTIONS.INVALID",
                f"label_format must be one of {', '.join(LABEL_FORMATS)}.",
            )
        options["label_format"] = label_format
        now = format_utc(utcnow())
        shipment_id = _id("shp")
        wanted = spec.get("carrier_accounts") or []
        wanted = {a if isinstance(a, str) else a.get("id") for a in wanted}
        rates = []
        for service in state["services"]:
            account_id = state["carrier_accounts"][service["carrier"]]
            if wanted and account_id not in wanted:
                continue
            price = (
                Decimal(service["base"])
                + Decimal(service["per_oz"]) * weight
                + Decimal(state["rate_adjustment"])
            )
            rates.append(
                {
                    "id": _id("rate"),
                    "object": "Rate",
                    "mode": "test",
                    "service": service["service"],
                    "carrier": service["carrier"],
                    "rate": _money(price),
                    "currency": "USD",
                    "retail_rate": _money(price * Decimal("1.15")),
                    "retail_currency": "USD",
                    "list_rate": _money(price * Decimal("1.05")),
                    "list_currency": "USD",
                    "delivery_days": service["delivery_days"],
                    "est_delivery_days": service["delivery_days"],
                    "delivery_date_guaranteed": False,
                    "shipment_id": shipment_id,
                    "carrier_account_id": account_id,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        shipment = {
            "id": shipment_id,
            "object": "Shipment",
            "mode": "test",
            "reference": spec.get("reference"),
            "status": "unknown",
            "tracking_code": None,
            "to_address": to_address,
            "from_address": from_address,
            "return_address": from_address,
            "buyer_address": to_address,
            "parcel": {
                "id": _id("prcl"),
                "object": "Parcel",
                "weight": float(weight),
                **{k: parcel.get(k) for k in ("length", "width", "height")},
                "predefined_package": parcel.get("predefined_package"),
            },
            "options": options,
            "is_return": bool(spec.get("is_return")),
            "rates": rates,
            "selected_rate": None,
            "postage_label": None,
            "tracker": None,
            "refund_status": None,
            "insurance": None,
            "fees": [],
            "messages": [],
            "created_at": now,
            "updated_at": now,
        }
        state["shipments"][shipment_id] = shipment
        state["order"].append(shipment_id)
        return shipment

    def _find_shipment(self, state, ref):
        shipment = state["shipments"].get(ref)
        if shipment is not None:
            return shipment
        # EasyPost retrieves a shipment by its reference too (the newest one;
        # references are not unique): the purchased one first.
        matches = [
            state["shipments"][i]
            for i in reversed(state["order"])
            if state["shipments"][i]["reference"] == ref
        ]
        matches.sort(key=lambda s: s["postage_label"] is None)
        if not matches:
            raise _error(
                404, "SHIPMENT.NOT_FOUND", "The requested resource could not be found."
            )
        return matches[0]

    def get_shipment(self, request, account, ref):
        with self.lock:
            state = self._api(request, account)
            return json_response(self._find_shipment(state, ref))

    def buy_shipment(self, request, account, ref):
        with self.lock:
            state = self._api(request, account)
            shipment = self._find_shipment(state, ref)
            body = read_json(request)
            rate_id = (
                (body.get("rate") or {}).get("id") if isinstance(body, dict) else None
            )
            if shipment["postage_label"]:
                raise _error(
                    422,
                    "SHIPMENT.POSTAGE.FAILURE",
                    "Postage already exists for this shipment.",
                )
            rate = next((r for r in shipment["rates"] if r["id"] == rate_id), None)
            if rate is None:
                raise _error(
                    422,
                    "SHIPMENT.RATE.INVALID",
                    "The rate given is not one of this shipment's rates.",
                    [{"field": "rate.id", "message": "is invalid"}],
                )
            self._purchase(state, shipment, rate, request.host_url)
            stall = state["buy_timeouts"].pop(0) if state["buy_timeouts"] else None
            answer = dict(shipment)
        if stall is not None:
            time.sleep(stall)
            return json_response(
                {
                    "error": {
                        "code": "TIMEOUT",
                        "message": "Gateway Timeout",
                        "errors": [],
                    }
                },
                504,
            )
        return json_response(answer)

    def _tracking_code(self, state, carrier):
        state["sequence"] += 1
        serial = f"{int(time.time()) % 10**8:08d}{state['sequence']:06d}"
        if carrier == "UPS":
            return f"1Z999AA1{serial}"
        return f"9400100{serial}0"

    def _purchase(self, state, shipment, rate, host_url):
        now = format_utc(utcnow())
        code = self._tracking_code(state, rate["carrier"])
        label_format = shipment["options"]["label_format"]
        label_id = _id("pl")
        shipment["selected_rate"] = rate
        shipment["tracking_code"] = code
        shipment["status"] = "unknown"
        shipment["updated_at"] = now
        shipment["postage_label"] = {
            "id": label_id,
            "object": "PostageLabel",
            "label_date": now,
            "label_resolution": 300,
            "label_size": "4x6",
            "label_type": "default",
            "label_file_type": CONTENT_TYPES[label_format],
            "label_url": None,
            "label_pdf_url": None,
            "label_zpl_url": None,
            "label_epl2_url": None,
            "created_at": now,
            "updated_at": now,
        }
        self._render_label(state, shipment, label_format, host_url)
        shipment["fees"] = [
            {"object": "Fee", "type": "LabelFee", "amount": "0.00000", "charged": True},
            {
                "object": "Fee",
                "type": "PostageFee",
                "amount": rate["rate"],
                "charged": True,
            },
        ]
        tracker = self._new_tracker(state, code, rate["carrier"], shipment["id"])
        shipment["tracker"] = tracker
        if state["auto_walk"]:
            self._auto_walk(state, shipment, tracker)
        state["purchases"].append(
            {
                "shipment_id": shipment["id"],
                "reference": shipment["reference"],
                "tracking_code": code,
                "rate": rate["rate"],
                "at": now,
            }
        )

    def _render_label(self, state, shipment, file_format, host_url):
        label = shipment["postage_label"]
        to = shipment["to_address"]
        rate = shipment["selected_rate"]
        filename = f"{label['id']}.{EXTENSIONS[file_format]}"
        content = render(
            file_format,
            shipment["tracking_code"],
            rate["carrier"],
            rate["service"],
            [
                to.get("name"),
                to.get("street1"),
                f"{to.get('zip') or ''} {to.get('city')}",
            ],
        )
        state["files"][filename] = (CONTENT_TYPES[file_format], content)
        url = f"{host_url.rstrip('/')}/carrier/{state['name']}/files/{filename}"
        if (
            file_format == shipment["options"]["label_format"]
            and not label["label_url"]
        ):
            label["label_url"] = url
        if file_format == "PDF":
            label["label_pdf_url"] = url
        elif file_format == "ZPL":
            label["label_zpl_url"] = url
        return url

    def convert_label(self, request, account, ref):
        file_format = (request.args.get("file_format") or "").upper()
        with self.lock:
            state = self._api(request, account)
            shipment = self._find_shipment(state, ref)
            if not shipment["postage_label"]:
                raise _error(
                    422, "SHIPMENT.POSTAGE.REQUIRED", "Buy the shipment first."
                )
            if file_format not in LABEL_FORMATS:
                raise _error(
                    422, "PARAMETER.INVALID", "file_format must be PDF, ZPL or PNG."
                )
            self._render_label(state, shipment, file_format, request.host_url)
            return json_response(shipment)

    def label_file(self, request, account, filename):
        with self.lock:
            found = self._account(account)["files"].get(filename)
        if found is None:
            return Response(b"Not Found", status=404, content_type="text/plain")
        content_type, content = found
        return Response(content, status=200, content_type=content_type)

    # -- refunds -----------------------------------------------------------------
    def refund_shipment(self, request, account, ref):
        with self.lock:
            state = self._api(request, account)
            shipment = self._find_shipment(state, ref)
            self._request_refund(state, shipment)
            return json_response(shipment)

    def _request_refund(self, state, shipment):
        if not shipment["postage_label"]:
            raise _error(
                422,
                "SHIPMENT.REFUND.FAILURE",
                "This shipment has no postage to refund.",
            )
        if shipment["refund_status"] in ("submitted", "refunded"):
            return None  # asked again: nothing new (as EasyPost answers)
        if shipment["refund_status"] == "rejected":
            raise _error(
                422,
                "SHIPMENT.REFUND.FAILURE",
                "The refund of this shipment was rejected by the carrier.",
            )
        tracker = state["trackers"].get((shipment["tracker"] or {}).get("id"))
        if tracker and tracker["status"] not in ("unknown", "pre_transit"):
            raise _error(
                422,
                "SHIPMENT.REFUND.FAILURE",
                "A shipment already in transit cannot be refunded.",
            )
        shipment["refund_status"] = "submitted"
        shipment["updated_at"] = format_utc(utcnow())
        refund = {
            "id": _id("rfnd"),
            "object": "Refund",
            "mode": "test",
            "tracking_code": shipment["tracking_code"],
            "confirmation_number": None,
            "status": "submitted",
            "carrier": shipment["selected_rate"]["carrier"],
            "shipment_id": shipment["id"],
            "created_at": shipment["updated_at"],
            "updated_at": shipment["updated_at"],
        }
        state["refunds"][refund["id"]] = refund
        return refund

    def create_refunds(self, request, account):
        with self.lock:
            state = self._api(request, account)
            spec = self._body(request, "refund")
            codes = spec.get("tracking_codes") or []
            if isinstance(codes, str):
                codes = [c.strip() for c in codes.split(",") if c.strip()]
            refunds = []
            for code in codes:
                shipment = next(
                    (
                        s
                        for s in state["shipments"].values()
                        if s["tracking_code"] == code
                    ),
                    None,
                )
                if shipment is None:
                    raise _error(
                        404,
                        "REFUND.NOT_FOUND",
                        f"No shipment with tracking code {code}.",
                    )
                self._request_refund(state, shipment)
                refunds += [
                    r
                    for r in state["refunds"].values()
                    if r["shipment_id"] == shipment["id"]
                ][-1:]
            return json_response(refunds, 201)

    def get_refund(self, request, account, refund_id):
        with self.lock:
            state = self._api(request, account)
            refund = state["refunds"].get(refund_id)
            if refund is None:
                raise _error(
                    404, "NOT_FOUND", "The requested resource could not be found."
                )
            return json_response(refund)

    # -- trackers ----------------------------------------------------------------
    def _new_tracker(self, state, code, carrier, shipment_id=None):
        now = format_utc(utcnow())
        tracker = {
            "id": _id("trk"),
            "object": "Tracker",
            "mode": "test",
            "tracking_code": code,
            "status": "pre_transit" if shipment_id else "unknown",
            "status_detail": "label_created" if shipment_id else "unknown",
            "signed_by": None,
            "weight": None,
            "est_delivery_date": None,
            "shipment_id": shipment_id,
            "carrier": carrier,
            "tracking_details": [],
            "carrier_detail": None,
            "finalized": False,
            "is_return": False,
            "public_url": f"https://track.easypost.com/{code}",
            "fees": [],
            "created_at": now,
            "updated_at": now,
        }
        if shipment_id:
            tracker["tracking_details"].append(
                self._detail(
                    "pre_transit", "label_created", "Shipping Label Created", now, None
                )
            )
        state["trackers"][tracker["id"]] = tracker
        state["tracker_by_code"][code] = tracker["id"]
        test_status = TEST_TRACKING_CODES.get(code)
        if test_status and not shipment_id:
            walk = "delivered" if test_status == "delivered" else test_status
            for step in walk_steps(walk):
                self._apply_step(state, tracker, *step, notify=False)
        return tracker

    @staticmethod
    def _detail(status, status_detail, message, when, location):
        return {
            "object": "TrackingDetail",
            "message": message,
            "description": message,
            "status": status,
            "status_detail": status_detail,
            "datetime": when,
            "source": "EasyPost",
            "carrier_code": None,
            "tracking_location": {
                "object": "TrackingLocation",
                **{
                    k: (location or {}).get(k)
                    for k in ("city", "state", "country", "zip")
                },
            },
        }

    def _apply_step(
        self,
        state,
        tracker,
        status,
        status_detail,
        message,
        signed_by=None,
        when=None,
        location=None,
        notify=True,
    ):
        if status not in STATUSES:
            raise _error(
                422, "PARAMETER.INVALID", f"status must be one of {', '.join(STATUSES)}"
            )
        previous = {"status": tracker["status"]}
        when = when or format_utc(utcnow())
        if location is None:
            location = LOCATIONS[len(tracker["tracking_details"]) % len(LOCATIONS)]
        tracker["tracking_details"].append(
            self._detail(status, status_detail, message, when, location)
        )
        tracker["tracking_details"].sort(key=lambda d: d["datetime"])
        latest = tracker["tracking_details"][-1]
        tracker["status"] = latest["status"]
        tracker["status_detail"] = latest["status_detail"]
        if status == "delivered":
            tracker["signed_by"] = signed_by or tracker["signed_by"]
        tracker["finalized"] = tracker["status"] in ("delivered", "return_to_sender")
        tracker["updated_at"] = format_utc(utcnow())
        shipment = state["shipments"].get(tracker["shipment_id"] or "")
        if shipment is not None:
            shipment["status"] = tracker["status"]
            shipment["tracker"] = tracker
        if notify:
            self._emit(state, "tracker.updated", tracker, previous)

    def trackers(self, request, account):
        with self.lock:
            state = self._api(request, account)
            if request.method == "GET":
                codes = request.args.getlist("tracking_codes[]") or [
                    c
                    for c in (request.args.get("tracking_codes") or "").split(",")
                    if c
                ]
                rows = list(reversed(list(state["trackers"].values())))
                if codes:
                    rows = [t for t in rows if t["tracking_code"] in codes]
                return json_response(
                    {"trackers": rows[:MAX_PAGE], "has_more": len(rows) > MAX_PAGE}
                )
            spec = self._body(request, "tracker")
            code = spec.get("tracking_code")
            if not code:
                raise _error(
                    422, "TRACKER.TRACKING_CODE.INVALID", "tracking_code is required."
                )
            existing = state["tracker_by_code"].get(code)
            if existing:
                return json_response(state["trackers"][existing])
            tracker = self._new_tracker(state, code, spec.get("carrier") or "USPS")
            return json_response(tracker, 201)

    def get_tracker(self, request, account, tracker_id):
        with self.lock:
            state = self._api(request, account)
            tracker = state["trackers"].get(tracker_id)
            if tracker is None:
                raise _error(
                    404, "NOT_FOUND", "The requested resource could not be found."
                )
            return json_response(tracker)

    # -- webhooks ------------------------------------------------------------------
    def webhooks(self, request, account):
        with self.lock:
            state = self._api(request, account)
            if request.method == "GET":
                return json_response(
                    {
                        "webhooks": [
                            self._public_webhook(w) for w in state["webhooks"].values()
                        ]
                    }
                )
            spec = self._body(request, "webhook")
            if not spec.get("url"):
                raise _error(422, "WEBHOOK.URL.INVALID", "url is required.")
            webhook = {
                "id": _id("hook"),
                "object": "Webhook",
                "mode": "test",
                "url": spec["url"],
                "webhook_secret": spec.get("webhook_secret"),
                "disabled_at": None,
                "created_at": format_utc(utcnow()),
            }
            state["webhooks"][webhook["id"]] = webhook
            return json_response(self._public_webhook(webhook), 201)

    @staticmethod
    def _public_webhook(webhook):
        return {k: v for k, v in webhook.items() if k != "webhook_secret"}

    def delete_webhook(self, request, account, webhook_id):
        with self.lock:
            state = self._api(request, account)
            if state["webhooks"].pop(webhook_id, None) is None:
                raise _error(
                    404, "NOT_FOUND", "The requested resource could not be found."
                )
            return json_response({})

    def _emit(self, state, description, result, previous):
        now = format_utc(utcnow())
        event = {
            "id": _id("evt"),
            "object": "Event",
            "mode": "test",
            "description": description,
            "previous_attributes": previous,
            "result": dict(result, tracking_details=list(result["tracking_details"])),
            "status": "pending",
            "pending_urls": [w["url"] for w in state["webhooks"].values()],
            "completed_urls": [],
            "user_id": state["user_id"],
            "created_at": now,
            "updated_at": now,
        }
        state["events"].append(event)
        if state["lose_webhooks"] > 0:
            state["lose_webhooks"] -= 1
            event["lost"] = True
            return event
        body = dumps({k: v for k, v in event.items() if k != "lost"})
        for webhook in state["webhooks"].values():
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "EasyPost WebHook Agent 1.0",
            }
            if webhook["webhook_secret"]:
                headers["X-Hmac-Signature"] = webhook_signature(
                    webhook["webhook_secret"], body
                )
            self.ctx.dispatcher.enqueue(
                self.name,
                description,
                webhook["url"],
                body,
                headers,
                event["id"],
                {"target": state["name"], "event_id": event["id"]},
            )
        return event

    # -- control -------------------------------------------------------------------
    def account_state(self, request, account):
        with self.lock:
            state = self._account(account)
            if request.method == "PATCH":
                spec = read_json(request)
                if spec.get("api_key"):
                    state["api_key"] = spec["api_key"]
                if "rate_adjustment" in spec:
                    state["rate_adjustment"] = _money(str(spec["rate_adjustment"]))
                if "auto_walk" in spec:
                    auto = spec["auto_walk"]
                    if auto is not None:
                        try:
                            for name in [auto.get("walk") or "delivered"] + list(
                                (auto.get("by_street") or {}).values()
                            ):
                                walk_steps(name)
                        except (ValueError, AttributeError) as exc:
                            raise ApiError(422, {"error": str(exc)}) from exc
                    state["auto_walk"] = auto
                if spec.get("services"):
                    state["services"] = [dict(s) for s in spec["services"]]
                    for carrier in {s["carrier"] for s in state["services"]}:
                        state["carrier_accounts"].setdefault(
                            carrier, f"ca_{carrier.lower()}_{account}"
                        )
            return json_response(
                {
                    "api_key": state["api_key"],
                    "rate_adjustment": state["rate_adjustment"],
                    "carrier_accounts": state["carrier_accounts"],
                    "shipments": len(state["shipments"]),
                    "purchases": len(state["purchases"]),
                    "trackers": len(state["trackers"]),
                    "events": len(state["events"]),
                    "webhooks": len(state["webhooks"]),
                    "auto_walk": state["auto_walk"],
                }
            )

    def advance_tracker(self, request, account, code):
        spec = read_json(request)
        with self.lock:
            state = self._account(account)
            tracker_id = state["tracker_by_code"].get(code)
            if tracker_id is None:
                raise ApiError(404, {"error": f"no tracker for {code}"})
            tracker = state["trackers"][tracker_id]
            if spec.get("walk"):
                try:
                    steps = walk_steps(spec["walk"])
                except ValueError as exc:
                    raise ApiError(422, {"error": str(exc)}) from exc
                done = {
                    (d["status"], d["status_detail"])
                    for d in tracker["tracking_details"]
                }
                steps = [s for s in steps if (s[0], s[1]) not in done]
                extra = {"signed_by": spec.get("signed_by")}
                interval = float(spec.get("interval") or 0)
                if interval <= 0:
                    for step in steps:
                        self._apply_step(
                            state,
                            tracker,
                            *step,
                            signed_by=extra["signed_by"]
                            if step[0] == "delivered"
                            else None,
                        )
                else:
                    self._schedule(account, tracker_id, steps, extra, interval)
                return json_response({"tracker": tracker, "steps": len(steps)})
            when = spec.get("datetime")
            if when:
                when = format_utc(parse_datetime(when))
            self._apply_step(
                state,
                tracker,
                spec.get("status", "in_transit"),
                spec.get("status_detail", "status_update"),
                spec.get("message", "Status update"),
                signed_by=spec.get("signed_by"),
                when=when,
                location=spec.get("location"),
            )
            return json_response({"tracker": tracker, "steps": 1})

    def _auto_walk(self, state, shipment, tracker):
        """A purchased parcel walks on its own (the account's ``auto_walk``):
        its walk (``by_street``: a walk for the parcels whose street contains
        a text), one step every ``interval`` seconds, signed by the
        recipient (or ``signed_by``) when delivered."""
        spec = state["auto_walk"]
        street = (shipment["to_address"].get("street1") or "").lower()
        walk = spec.get("walk") or "delivered"
        for text, other in (spec.get("by_street") or {}).items():
            if text.lower() in street:
                walk = other
                break
        done = {(d["status"], d["status_detail"]) for d in tracker["tracking_details"]}
        steps = [s for s in walk_steps(walk) if (s[0], s[1]) not in done]
        signed_by = spec.get("signed_by") or (
            (shipment["to_address"].get("name") or "").upper() or None
        )
        interval = float(spec.get("interval") or 5)
        self._schedule(
            state["name"],
            tracker["id"],
            steps,
            {"signed_by": signed_by},
            interval,
            delay=spec.get("delay"),
        )

    def _schedule(self, account, tracker_id, steps, extra, interval, delay=None):
        """One step every ``interval`` seconds (the first after ``delay``,
        default ``interval``), from a timer thread."""

        def run(remaining):
            with self.lock:
                state = self.accounts.get(account)
                tracker = state and state["trackers"].get(tracker_id)
                if not tracker or not remaining:
                    return
                step = remaining[0]
                self._apply_step(
                    state,
                    tracker,
                    *step,
                    signed_by=extra["signed_by"] if step[0] == "delivered" else None,
                )
                if remaining[1:]:
                    timer = threading.Timer(interval, run, [remaining[1:]])
                    timer.daemon = True
                    self._timers.append(timer)
                    timer.start()

        first = interval if delay is None else float(delay)
        timer = threading.Timer(first, run, [steps])
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def refund_result(self, request, account, ref):
        spec = read_json(request)
        status = spec.get("status")
        if status not in ("refunded", "rejected"):
            raise ApiError(422, {"error": "status must be refunded or rejected"})
        with self.lock:
            state = self._account(account)
            shipment = self._find_shipment(state, ref)
            if shipment["refund_status"] != "submitted":
                raise ApiError(409, {"error": f"refund is {shipment['refund_status']}"})
            shipment["refund_status"] = status
            shipment["updated_at"] = format_utc(utcnow())
            for refund in state["refunds"].values():
                if refund["shipment_id"] == shipment["id"]:
                    refund["status"] = status
                    refund["updated_at"] = shipment["updated_at"]
                    if status == "refunded":
                        refund["confirmation_number"] = f"RF{state['sequence']:08d}"
            return json_response(shipment)

    def buy_timeouts(self, request, account):
        spec = read_json(request)
        with self.lock:
            state = self._account(account)
            state["buy_timeouts"] += [float(spec.get("seconds", 2.0))] * int(
                spec.get("count", 1)
            )
            return json_response({"pending": len(state["buy_timeouts"])})

    def lose_webhooks(self, request, account):
        spec = read_json(request)
        with self.lock:
            state = self._account(account)
            state["lose_webhooks"] += int(spec.get("count", 1))
            return json_response({"lose": state["lose_webhooks"]})

    def list_events(self, request, account):
        with self.lock:
            return json_response({"events": list(self._account(account)["events"])})

    def list_purchases(self, request, account):
        with self.lock:
            return json_response(
                {"purchases": list(self._account(account)["purchases"])}
            )
