"""A bank's JSON API, as connector_bank documents it (readme/DEVELOP.md).

    GET /bank/<bank>/accounts
    GET /bank/<bank>/accounts/<iban>/transactions?cursor=&limit=

Bearer token per bank (default ``sandbox-bank-token``), 401 otherwise.
Transactions come in booking order; the cursor is opaque (the position after
the last transaction of the page); ``next_cursor`` is always given and
``has_more`` says whether another page follows. Faults (``system: "bank"``,
``match: "api"``, ``target: <bank>``) come from the framework.

Control (``/_control/bank/<bank>``): ``POST /accounts`` ``{iban, currency,
name}``, ``POST /transactions`` ``{iban, transactions: [{amount, ...}]}``
(ids and dates filled in when missing), ``PATCH`` ``{token}``, ``GET`` state.
"""

import datetime
from decimal import Decimal

from ..core.system import System
from ..core.util import (
    ApiError,
    b64url_json,
    b64url_json_decode,
    json_response,
    read_json,
)

DEFAULT_TOKEN = "sandbox-bank-token"
MAX_LIMIT = 500


class BankSystem(System):
    name = "bank"

    def __init__(self, ctx):
        super().__init__(ctx)
        self.reset()

    def api_routes(self):
        return [
            ("/<bank>/accounts", "list_accounts", ["GET"]),
            ("/<bank>/accounts/<iban>/transactions", "list_transactions", ["GET"]),
        ]

    def control_routes(self):
        return [
            ("/<bank>", "bank_state", ["GET", "PATCH"]),
            ("/<bank>/accounts", "create_account", ["POST"]),
            ("/<bank>/transactions", "add_transactions", ["POST"]),
        ]

    def categories(self, request, handler, values):
        return {"api"} if handler.startswith("list_") else set()

    def fault_target(self, values):
        return values.get("bank", "")

    def reset(self):
        with self.lock:
            self.banks = {}

    def describe(self):
        with self.lock:
            return {"name": self.name, "banks": sorted(self.banks)}

    # -- state -----------------------------------------------------------------
    def _bank(self, name):
        return self.banks.setdefault(
            name, {"token": DEFAULT_TOKEN, "accounts": {}, "sequence": 0}
        )

    def _account(self, bank, iban):
        account = bank["accounts"].get(iban.replace(" ", "").upper())
        if account is None:
            raise ApiError(404, {"error": f"unknown account {iban}"})
        return account

    def _authorize(self, request, bank):
        expected = f"Bearer {bank['token']}"
        if request.headers.get("Authorization", "") != expected:
            raise ApiError(401, {"error": "invalid or missing bearer token"})

    # -- API -----------------------------------------------------------------
    def list_accounts(self, request, bank):
        with self.lock:
            state = self._bank(bank)
            self._authorize(request, state)
            accounts = [
                {key: account[key] for key in ("iban", "currency", "name")}
                for account in state["accounts"].values()
            ]
        return json_response({"accounts": accounts})

    def list_transactions(self, request, bank, iban):
        try:
            limit = min(int(request.args.get("limit", 100)), MAX_LIMIT)
        except ValueError as exc:
            raise ApiError(400, {"error": "limit must be an integer"}) from exc
        cursor = request.args.get("cursor")
        with self.lock:
            state = self._bank(bank)
            self._authorize(request, state)
            account = self._account(state, iban)
            start = 0
            if cursor:
                try:
                    start = int(b64url_json_decode(cursor)["position"])
                except (ValueError, KeyError, TypeError) as exc:
                    raise ApiError(400, {"error": "invalid cursor"}) from exc
            page = account["transactions"][start : start + limit]
            position = start + len(page)
            body = {
                "account": {"iban": account["iban"], "currency": account["currency"]},
                "transactions": page,
                "next_cursor": b64url_json({"position": position}),
                "has_more": position < len(account["transactions"]),
            }
        return json_response(body)

    # -- control -------------------------------------------------------------
    def bank_state(self, request, bank):
        with self.lock:
            state = self._bank(bank)
            if request.method == "PATCH":
                token = read_json(request).get("token")
                if token:
                    state["token"] = token
            return json_response(
                {
                    "token": state["token"],
                    "accounts": {
                        iban: len(account["transactions"])
                        for iban, account in state["accounts"].items()
                    },
                }
            )

    def create_account(self, request, bank):
        spec = read_json(request)
        iban = (spec.get("iban") or "").replace(" ", "").upper()
        if not iban:
            raise ApiError(400, {"error": "iban is required"})
        with self.lock:
            account = self._bank(bank)["accounts"].setdefault(
                iban,
                {
                    "iban": iban,
                    "currency": spec.get("currency", "EUR"),
                    "name": spec.get("name", "Current account"),
                    "transactions": [],
                },
            )
            return json_response(
                {k: v for k, v in account.items() if k != "transactions"}, 201
            )

    def add_transactions(self, request, bank):
        spec = read_json(request)
        today = datetime.date.today().isoformat()
        with self.lock:
            state = self._bank(bank)
            account = self._account(state, spec.get("iban", ""))
            added = []
            for item in spec.get("transactions", []):
                state["sequence"] += 1
                transaction = {
                    "id": item.get("id") or f"TX-{state['sequence']:08d}",
                    "booking_date": item.get("booking_date", today),
                    "value_date": item.get("value_date")
                    or item.get("booking_date", today),
                    "amount": str(Decimal(str(item["amount"]))),
                    "currency": item.get("currency", account["currency"]),
                    "status": item.get("status", "booked"),
                }
                for key in (
                    "end_to_end_id",
                    "remittance_structured",
                    "remittance_unstructured",
                    "bank_transaction_code",
                    "counterparty",
                    "original_amount",
                    "original_currency",
                ):
                    if key in item:
                        transaction[key] = item[key]
                account["transactions"].append(transaction)
                added.append(transaction)
            return json_response({"transactions": added}, 201)
