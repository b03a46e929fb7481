"""Test helpers: a company with a chart of accounts, bank journals with
IBANs, a bank backend, invoices, camt.053 files built from a few dicts, and
a small bank JSON API server speaking the connector's contract."""

import base64
import json
import threading
from datetime import date
from xml.sax.saxutils import escape

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from odoo import Command
from odoo.tests.common import TransactionCase, new_test_user

from odoo.addons.integration_core.tests.common import (
    make_backend,
    perform_jobs,
    trapped_jobs,
)

EUR_IBAN = "DE89370400440532013000"
USD_IBAN = "DE02120300000000202051"
UNKNOWN_IBAN = "NL91ABNA0417164300"
ACME_IBAN = "FR7630006000011234567890189"
SUPPLIER_IBAN = "GB29NWBK60161331926819"
TOKEN = "tok-bank-SECRET-42"


def camt(entries, iban=EUR_IBAN, currency="EUR", statement_id="STMT-1", **balances):
    """A camt.053.001.02 document with one statement of ``entries``.

    Each entry: ``amount`` (signed), ``ref`` (AcctSvcrRef), and optionally
    ``date``, ``e2e``, ``structured``, ``text``, ``name``, ``iban`` (the
    counterparty), ``instructed`` = (amount, currency).
    """
    rows = []
    for entry in entries:
        amount = entry["amount"]
        indicator = "CRDT" if amount > 0 else "DBIT"
        role = "Dbtr" if amount > 0 else "Cdtr"
        booked = entry.get("date", "2024-03-01")
        refs = (
            f"<EndToEndId>{escape(entry['e2e'])}</EndToEndId>"
            if entry.get("e2e")
            else ""
        )
        remittance = ""
        if entry.get("structured"):
            remittance += (
                "<Strd><CdtrRefInf><Ref>"
                f"{escape(entry['structured'])}</Ref></CdtrRefInf></Strd>"
            )
        if entry.get("text"):
            remittance += f"<Ustrd>{escape(entry['text'])}</Ustrd>"
        parties = ""
        if entry.get("name"):
            parties += f"<{role}><Nm>{escape(entry['name'])}</Nm></{role}>"
        if entry.get("iban"):
            parties += f"<{role}Acct><Id><IBAN>{entry['iban']}</IBAN></Id></{role}Acct>"
        details = ""
        if entry.get("instructed"):
            value, code = entry["instructed"]
            details = (
                f'<AmtDtls><InstdAmt><Amt Ccy="{code}">{value:.2f}</Amt>'
                "</InstdAmt></AmtDtls>"
            )
        rows.append(
            f"""
      <Ntry>
        <Amt Ccy="{currency}">{abs(amount):.2f}</Amt>
        <CdtDbtInd>{indicator}</CdtDbtInd>
        <Sts>BOOK</Sts>
        <BookgDt><Dt>{booked}</Dt></BookgDt>
        <AcctSvcrRef>{escape(entry["ref"])}</AcctSvcrRef>
        <NtryDtls><TxDtls>
          <Refs>{refs}</Refs>
          {details}
          <RltdPties>{parties}</RltdPties>
          <RmtInf>{remittance}</RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>"""
        )
    opening = balances.get("opening", 0.0)
    closing = balances.get("closing", opening + sum(e["amount"] for e in entries))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>2024-03-02T06:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>{statement_id}</Id>
      <Acct><Id><IBAN>{iban}</IBAN></Id><Ccy>{currency}</Ccy></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="{currency}">{abs(opening):.2f}</Amt>
        <CdtDbtInd>{"CRDT" if opening >= 0 else "DBIT"}</CdtDbtInd>
        <Dt><Dt>2024-02-29</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp>
        <Amt Ccy="{currency}">{abs(closing):.2f}</Amt>
        <CdtDbtInd>{"CRDT" if closing >= 0 else "DBIT"}</CdtDbtInd>
        <Dt><Dt>2024-03-01</Dt></Dt></Bal>{"".join(rows)}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()


class BankCase(TransactionCase):
    """A company (EUR) with the generic chart, an EUR and a USD bank journal
    with IBANs, a bank backend, customers and a vendor with bank accounts."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = cls.env(context=dict(cls.env.context, tracking_disable=True))
        cls.eur = cls.env.ref("base.EUR")
        cls.usd = cls.env.ref("base.USD")
        (cls.eur | cls.usd).write({"active": True})
        company = cls.env["res.company"].create(
            {"name": "Bank Test Company", "currency_id": cls.eur.id}
        )
        cls.env.user.company_ids |= company
        cls.env["account.chart.template"].try_loading(
            "generic_coa", company=company, install_demo=False
        )
        company.currency_id = cls.eur
        cls.company = company
        cls.env = cls.env(
            context=dict(cls.env.context, allowed_company_ids=[company.id])
        )
        cls.env["res.currency.rate"].create(
            {
                "name": "2024-01-01",
                "currency_id": cls.usd.id,
                "rate": 1.10,
                "company_id": company.id,
            }
        )
        Journal = cls.env["account.journal"]
        cls.journal = Journal.search(
            [("company_id", "=", company.id), ("type", "=", "bank")], limit=1
        )
        cls.journal.bank_acc_number = EUR_IBAN
        cls.usd_journal = Journal.create(
            {
                "name": "Bank USD",
                "code": "BUSD",
                "type": "bank",
                "company_id": company.id,
                "currency_id": cls.usd.id,
                "bank_acc_number": USD_IBAN,
            }
        )
        Partner = cls.env["res.partner"]
        cls.acme = Partner.create(
            {
                "name": "Acme GmbH",
                "is_company": True,
                "bank_ids": [Command.create({"acc_number": ACME_IBAN})],
            }
        )
        cls.beta = Partner.create({"name": "Beta Trading Ltd", "is_company": True})
        cls.supplier = Partner.create(
            {
                "name": "Office Supplies Ltd",
                "is_company": True,
                "bank_ids": [Command.create({"acc_number": SUPPLIER_IBAN})],
            }
        )
        cls.backend = make_backend(
            cls.env,
            name="Test bank",
            connector_type="bank",
            company_id=company.id,
            api_key=TOKEN,
            rate_limit=0,
            max_attempts=3,
        )
        cls.accountant = new_test_user(
            cls.env,
            login="bank_accountant",
            groups="account.group_account_manager,"
            "integration_core.group_integration_user",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
        )

    # ------------------------------------------------------------------
    # Helpers
    # ------------------------------------------------------------------
    def invoice(self, partner, amount, move_type="out_invoice", **values):
        """A posted invoice (or bill) of one untaxed line."""
        vals = {
            "move_type": move_type,
            "partner_id": partner.id,
            "invoice_date": values.pop("invoice_date", date(2024, 2, 1)),
            "currency_id": values.pop("currency", self.eur).id,
            "invoice_line_ids": [
                Command.create(
                    {
                        "name": "Goods",
                        "quantity": 1,
                        "price_unit": amount,
                        "tax_ids": [Command.clear()],
                    }
                )
            ],
        }
        vals.update(values)
        move = self.env["account.move"].create(vals)
        move.action_post()
        return move

    def upload(self, data, filename="statement.xml", user=None):
        """Upload through the wizard, as the accountant by default."""
        env = self.env(user=user or self.accountant)
        wizard = (
            env["bank.statement.upload"]
            .with_company(self.company)
            .create(
                {
                    "backend_id": self.backend.id,
                    "data_file": base64.b64encode(data),
                    "filename": filename,
                }
            )
        )
        wizard.action_import()
        return wizard

    def message_of(self, wizard):
        return wizard.message_id.with_env(self.env)

    def lines_of(self, message):
        return self.env["account.bank.statement.line"].search(
            [("integration_correlation_id", "=", message.correlation_id)],
            order="id",
        )

    def review_of(self, line):
        return self.env["integration.message"].search(
            [
                ("message_type", "=", "bank.line.unmatched"),
                ("idempotency_key", "=", line.unique_import_id),
            ]
        )

    def import_entries(self, entries, **kwargs):
        """Upload a camt file of ``entries``; returns its lines."""
        wizard = self.upload(camt(entries, **kwargs))
        message = self.message_of(wizard)
        self.assertEqual(message.state, "done", message.error_message)
        return self.lines_of(message)

    def perform_jobs(self, trap, rounds=10):
        return perform_jobs(trap, self.env, rounds=rounds)


class FakeBank:
    """The bank JSON API of readme/DEVELOP.md, in a thread, with faults.

    ``accounts``: {iban: currency}; ``transactions``: {iban: [tx dicts]}.
    The cursor is the index of the next transaction. ``faults`` is a list of
    ``(path substring, status, headers)`` answered once each, in order.
    """

    def __init__(self, accounts, transactions, token=TOKEN):
        self.accounts = accounts
        self.transactions = transactions
        self.token = token
        self.faults = []
        self.requests = []
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _json(self, data, status=200, headers=None):
        return Response(
            json.dumps(data),
            status=status,
            headers=headers or {},
            content_type="application/json",
        )

    @Request.application
    def _app(self, request):
        self.requests.append(
            {
                "path": request.path,
                "args": dict(request.args),
                "headers": dict(request.headers),
            }
        )
        for fault in list(self.faults):
            if fault[0] in request.path:
                self.faults.remove(fault)
                return self._json({"error": "fault"}, fault[1], fault[2])
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._json({"error": "unauthorized"}, 401)
        parts = request.path.strip("/").split("/")
        if parts == ["accounts"]:
            return self._json(
                {
                    "accounts": [
                        {"iban": iban, "currency": currency, "name": iban}
                        for iban, currency in self.accounts.items()
                    ]
                }
            )
        if len(parts) == 3 and parts[0] == "accounts" and parts[2] == "transactions":
            iban = parts[1]
            if iban not in self.accounts:
                return self._json({"error": "unknown account"}, 404)
            start = int(request.args.get("cursor") or 0)
            limit = int(request.args.get("limit") or 100)
            items = self.transactions.get(iban, [])
            page = items[start : start + limit]
            end = start + len(page)
            return self._json(
                {
                    "account": {"iban": iban, "currency": self.accounts[iban]},
                    "transactions": page,
                    "next_cursor": str(end),
                    "has_more": end < len(items),
                }
            )
        return self._json({"error": "not found"}, 404)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()


__all__ = ["BankCase", "FakeBank", "camt", "trapped_jobs"]
