"""A bank's JSON API, as connector_bank documents it (readme/DEVELOP.md).

    GET /bank/<bank>/accounts
    GET /bank/<bank>/accounts/<iban>/transactions?cursor=&limit=
    GET /bank/<bank>/accounts/<iban>/statements/camt053?from=&to=

Bearer token per bank (default ``sandbox-bank-token``), 401 otherwise.
Transactions come in booking order; the cursor is opaque (the position after
the last transaction of the page); ``next_cursor`` is always given and
``has_more`` says whether another page follows. The statement download is
an ISO 20022 camt.053.001.02 file of the booked transactions whose booking
date is within ``from`` and ``to`` (ISO dates, both optional) and, with
``after=<transaction id>``, booked after that one, what a bank's
e-banking serves for an upload; the remittance and the counterparty are the
transactions'. Faults (``system: "bank"``,
``match: "api"``, ``target: <bank>``) come from the framework.

Control (``/_control/bank/<bank>``): ``POST /accounts`` ``{iban, currency,
name}``, ``POST /transactions`` ``{iban, transactions: [{amount, ...}]}``
(ids and dates filled in when missing), ``PATCH`` ``{token}``, ``GET`` state.

The payer (``PUT /payer`` ``{iban, odoo_url, db, login, password, interval,
references}``, an empty body stops it; ``POST /payer/run``: one round now): the
customers who pay. Every ``interval`` seconds (default 5) it reads the posted
customer invoices not paid of an Odoo (XML-RPC) and books, once per invoice,
a credit on ``iban`` of its amount due, from its partner, with its payment
reference as remittance; ``references`` (``{partner name: text}``) makes a
partner whose name contains the key write that text instead (a payment
Odoo cannot match by reference).
"""

import datetime
import logging
import threading
import xmlrpc.client
from decimal import Decimal
from xml.sax.saxutils import escape

from werkzeug.wrappers import Response

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
PAYER_KEYS = ("iban", "odoo_url", "db", "login", "password")

_logger = logging.getLogger(__name__)


class BankSystem(System):
    name = "bank"

    def __init__(self, ctx):
        super().__init__(ctx)
        self._timers = {}
        self.reset()

    def api_routes(self):
        return [
            ("/<bank>/accounts", "list_accounts", ["GET"]),
            ("/<bank>/accounts/<iban>/transactions", "list_transactions", ["GET"]),
            ("/<bank>/accounts/<iban>/statements/camt053", "camt053", ["GET"]),
        ]

    def control_routes(self):
        return [
            ("/<bank>", "bank_state", ["GET", "PATCH"]),
            ("/<bank>/accounts", "create_account", ["POST"]),
            ("/<bank>/transactions", "add_transactions", ["POST"]),
            ("/<bank>/payer", "payer", ["GET", "PUT"]),
            ("/<bank>/payer/run", "payer_run", ["POST"]),
        ]

    def categories(self, request, handler, values):
        return {"api"} if handler.startswith(("list_", "camt")) else set()

    def fault_target(self, values):
        return values.get("bank", "")

    def reset(self):
        with self.lock:
            for timer in self._timers.values():
                timer.cancel()
            self._timers = {}
            self.banks = {}

    def describe(self):
        with self.lock:
            return {"name": self.name, "banks": sorted(self.banks)}

    # -- state -----------------------------------------------------------------
    def _bank(self, name):
        return self.banks.setdefault(
            name,
            {
                "token": DEFAULT_TOKEN,
                "accounts": {},
                "sequence": 0,
                "payer": None,
                "paid": {},  # invoice name -> transaction id (the payer's)
            },
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

    def camt053(self, request, bank, iban):
        start = request.args.get("from") or ""
        end = request.args.get("to") or "9999-12-31"
        after = request.args.get("after")
        with self.lock:
            state = self._bank(bank)
            self._authorize(request, state)
            account = self._account(state, iban)
            state["sequence"] += 1
            number = state["sequence"]
            transactions = account["transactions"]
            if after:
                ids = [tx["id"] for tx in transactions]
                transactions = (
                    transactions[ids.index(after) + 1 :] if after in ids else []
                )
            entries = [
                tx
                for tx in transactions
                if tx.get("status", "booked") == "booked"
                and start <= tx["booking_date"] <= end
            ]
            body = camt053_document(account, entries, f"{bank}-{number:06d}")
        return Response(body, status=200, content_type="application/xml")

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
        with self.lock:
            state = self._bank(bank)
            account = self._account(state, spec.get("iban", ""))
            added = self._book(state, account, spec.get("transactions", []))
            return json_response({"transactions": added}, 201)

    # -- the payer ---------------------------------------------------------------
    def payer(self, request, bank):
        with self.lock:
            state = self._bank(bank)
            if request.method == "PUT":
                spec = read_json(request) or None  # null or nothing: stop
                if spec is not None:
                    missing = [key for key in PAYER_KEYS if not spec.get(key)]
                    if missing:
                        raise ApiError(400, {"error": f"missing {', '.join(missing)}"})
                    self._account(state, spec["iban"])
                    spec = dict(spec, interval=float(spec.get("interval") or 5))
                state["payer"] = spec
                timer = self._timers.pop(bank, None)
                if timer:
                    timer.cancel()
                if spec:
                    self._arm(bank, spec["interval"])
            return json_response({"payer": state["payer"], "paid": state["paid"]})

    def payer_run(self, request, bank):
        return json_response({"transactions": self._pay_round(bank)})

    def _arm(self, bank, seconds):
        timer = threading.Timer(seconds, self._payer_tick, (bank,))
        timer.daemon = True
        self._timers[bank] = timer
        timer.start()

    def _payer_tick(self, bank):
        try:
            self._pay_round(bank)
        except Exception:  # a round that fails (Odoo away): the next one tries
            _logger.exception("bank %s: the payer's round failed", bank)
        with self.lock:
            state = self.banks.get(bank)
            payer = state and state["payer"]
            if payer and self._timers.get(bank) is threading.current_thread():
                self._arm(bank, payer["interval"])

    def _pay_round(self, bank):
        """Pay the invoices of Odoo not paid yet (each once); the
        transactions booked."""
        with self.lock:
            payer = dict(self._bank(bank)["payer"] or {})
        if not payer:
            raise ApiError(409, {"error": "no payer: PUT /payer first"})
        invoices = open_invoices(payer)
        with self.lock:
            state = self._bank(bank)
            account = self._account(state, payer["iban"])
            items, names = [], []
            for invoice in invoices:
                if invoice["name"] in state["paid"]:
                    continue
                partner = (invoice.get("partner_id") or [0, ""])[1] or ""
                reference = invoice.get("payment_reference") or invoice["name"]
                for text, written in (payer.get("references") or {}).items():
                    if text.lower() in partner.lower():
                        reference = written
                        break
                items.append(
                    {
                        # one id per invoice: paid again after a restart of
                        # the sandbox, it is the same transaction for Odoo
                        "id": f"PAY-{invoice['name']}",
                        "amount": f"{Decimal(str(invoice['amount_residual'])):.2f}",
                        "remittance_unstructured": reference,
                        "counterparty": {"name": partner},
                    }
                )
                names.append(invoice["name"])
            added = self._book(state, account, items)
            for name, transaction in zip(names, added):
                state["paid"][name] = transaction["id"]
            return added

    def _book(self, state, account, items):
        today = datetime.date.today().isoformat()
        added = []
        for item in items:
            state["sequence"] += 1
            transaction = {
                "id": item.get("id") or f"TX-{state['sequence']:08d}",
                "booking_date": item.get("booking_date", today),
                "value_date": item.get("value_date") or item.get("booking_date", today),
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
        return added


def open_invoices(payer):
    """The posted customer invoices with nothing paid of an Odoo (XML-RPC)."""
    url = payer["odoo_url"].rstrip("/")
    common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
    uid = common.authenticate(payer["db"], payer["login"], payer["password"], {})
    if not uid:
        raise ApiError(502, {"error": "the payer cannot log in to Odoo"})
    models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object")
    return models.execute_kw(
        payer["db"],
        uid,
        payer["password"],
        "account.move",
        "search_read",
        [
            [
                ("move_type", "=", "out_invoice"),
                ("state", "=", "posted"),
                ("payment_state", "=", "not_paid"),
            ]
        ],
        {
            "fields": ["name", "payment_reference", "amount_residual", "partner_id"],
            "order": "id",
        },
    )


def _camt_entry(tx, currency):
    amount = Decimal(str(tx["amount"]))
    credit = amount > 0
    role = "Dbtr" if credit else "Cdtr"
    party = tx.get("counterparty") or {}
    parties = ""
    if party.get("name"):
        parties += f"<{role}><Nm>{escape(party['name'])}</Nm></{role}>"
    if party.get("iban"):
        iban = escape(party["iban"])
        parties += f"<{role}Acct><Id><IBAN>{iban}</IBAN></Id></{role}Acct>"
    remittance = ""
    if tx.get("remittance_structured"):
        remittance += (
            "<Strd><CdtrRefInf><Ref>"
            f"{escape(tx['remittance_structured'])}</Ref></CdtrRefInf></Strd>"
        )
    if tx.get("remittance_unstructured"):
        remittance += f"<Ustrd>{escape(tx['remittance_unstructured'])}</Ustrd>"
    refs = (
        f"<EndToEndId>{escape(tx['end_to_end_id'])}</EndToEndId>"
        if tx.get("end_to_end_id")
        else ""
    )
    return f"""
      <Ntry>
        <Amt Ccy="{tx.get("currency") or currency}">{abs(amount):.2f}</Amt>
        <CdtDbtInd>{"CRDT" if credit else "DBIT"}</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>{tx["booking_date"]}</Dt></BookgDt>
        <ValDt><Dt>{tx.get("value_date") or tx["booking_date"]}</Dt></ValDt>
        <AcctSvcrRef>{escape(tx["id"])}</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <Refs>{refs}</Refs>
          <RltdPties>{parties}</RltdPties>
          <RmtInf>{remittance}</RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>"""


def camt053_document(account, entries, statement_id):
    """A camt.053.001.02 statement of ``entries`` (opening balance: the sum of
    the transactions booked before the first of them)."""
    currency = account["currency"]
    transactions = account["transactions"]
    first = transactions.index(entries[0]) if entries else len(transactions)
    opening = sum(
        (Decimal(str(tx["amount"])) for tx in transactions[:first]), Decimal(0)
    )
    closing = opening + sum((Decimal(str(tx["amount"])) for tx in entries), Decimal(0))
    today = datetime.date.today().isoformat()
    first_date = entries[0]["booking_date"] if entries else today
    last_date = entries[-1]["booking_date"] if entries else today
    rows = "".join(_camt_entry(tx, currency) for tx in entries)

    def balance(code, amount, day):
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{currency}">{abs(amount):.2f}</Amt>'
            f"<CdtDbtInd>{'CRDT' if amount >= 0 else 'DBIT'}</CdtDbtInd>"
            f"<Dt><Dt>{day}</Dt></Dt></Bal>"
        )

    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>{today}T06:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{statement_id}</Id>
      <Acct><Id><IBAN>{account["iban"]}</IBAN></Id><Ccy>{currency}</Ccy></Acct>
      {balance("OPBD", opening, first_date)}
      {balance("CLBD", closing, last_date)}{rows}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()
