"""The simulated bank API: token auth, cursor pages, faults."""

import threading
import xml.etree.ElementTree as ET

import requests

from sandbox.testing import RunningSandbox

IBAN = "BE68539007547034"
AUTH = {"Authorization": "Bearer sandbox-bank-token"}


def test_accounts_and_transactions_by_cursor():
    with RunningSandbox() as sb:
        bank = sb.bank("demo")
        bank.create_account(IBAN, "EUR", "Main")
        added = bank.add_transactions(
            IBAN, [{"amount": "10.50"}, {"amount": -3, "id": "OWN-1"}, {"amount": 7}]
        )
        assert [t["id"] for t in added][1] == "OWN-1"
        assert requests.get(f"{bank.base_url}/accounts", timeout=5).status_code == 401
        accounts = requests.get(f"{bank.base_url}/accounts", headers=AUTH, timeout=5)
        assert accounts.json()["accounts"] == [
            {"iban": IBAN, "currency": "EUR", "name": "Main"}
        ]
        url = f"{bank.base_url}/accounts/{IBAN}/transactions"
        first = requests.get(url, params={"limit": 2}, headers=AUTH, timeout=5).json()
        assert [t["amount"] for t in first["transactions"]] == ["10.50", "-3"]
        assert first["has_more"] is True
        second = requests.get(
            url,
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=AUTH,
            timeout=5,
        ).json()
        assert [t["amount"] for t in second["transactions"]] == ["7"]
        assert second["has_more"] is False
        # nothing new: an empty page and the same cursor
        third = requests.get(
            url, params={"cursor": second["next_cursor"]}, headers=AUTH, timeout=5
        ).json()
        assert third["transactions"] == []
        assert third["next_cursor"] == second["next_cursor"]


def test_faults_apply_to_the_bank_api():
    with RunningSandbox() as sb:
        bank = sb.bank("demo")
        bank.create_account(IBAN)
        sb.add_fault(system="bank", match="api", kind="rate_limit", seconds=1, count=1)
        url = f"{bank.base_url}/accounts"
        limited = requests.get(url, headers=AUTH, timeout=5)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"]
        assert requests.get(url, headers=AUTH, timeout=5).status_code == 200


def test_camt053_statement_download():
    with RunningSandbox() as sb:
        bank = sb.bank("demo")
        bank.create_account(IBAN, "EUR", "Main")
        bank.add_transactions(
            IBAN,
            [
                {"amount": "5.00", "booking_date": "2026-11-30"},
                {
                    "amount": "121.00",
                    "booking_date": "2026-12-01",
                    "remittance_unstructured": "INV/2026/00001",
                    "counterparty": {"name": "Ann Lee", "iban": "BE71096123456769"},
                },
            ],
        )
        url = f"{bank.base_url}/accounts/{IBAN}/statements/camt053"
        assert requests.get(url, timeout=5).status_code == 401
        body = bank.camt053(IBAN, from_="2026-12-01")
        ns = {"c": "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"}
        stmt = ET.fromstring(body).find("c:BkToCstmrStmt/c:Stmt", ns)
        assert stmt.find("c:Acct/c:Id/c:IBAN", ns).text == IBAN
        entries = stmt.findall("c:Ntry", ns)
        assert len(entries) == 1
        assert entries[0].find("c:Amt", ns).text == "121.00"
        assert entries[0].find(".//c:Ustrd", ns).text == "INV/2026/00001"
        balances = [b.find("c:Amt", ns).text for b in stmt.findall("c:Bal", ns)]
        assert balances == ["5.00", "126.00"]
        later = bank.camt053(IBAN, after=entries and "TX-00000001")
        assert later.count(b"<Ntry>") == 1
        assert bank.camt053(IBAN, after="TX-00000002").count(b"<Ntry>") == 0


class FakeOdoo:
    """An XML-RPC endpoint answering like Odoo with a list of invoices."""

    def __init__(self, invoices):
        from xmlrpc.server import (  # noqa: PLC0415
            SimpleXMLRPCRequestHandler,
            SimpleXMLRPCServer,
        )

        class Handler(SimpleXMLRPCRequestHandler):
            rpc_paths = ("/xmlrpc/2/common", "/xmlrpc/2/object")

        self.invoices = invoices
        self.server = SimpleXMLRPCServer(
            ("127.0.0.1", 0), Handler, logRequests=False, allow_none=True
        )
        self.server.register_function(lambda *args: 2, "authenticate")
        self.server.register_function(lambda *args: list(self.invoices), "execute_kw")
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def test_payer_pays_each_posted_invoice_once_by_reference():
    invoices = [
        {
            "name": "INV/2026/00001",
            "payment_reference": "INV/2026/00001",
            "amount_residual": 52.9,
            "partner_id": [7, "Ann Peeters"],
        },
        {
            "name": "INV/2026/00002",
            "payment_reference": "INV/2026/00002",
            "amount_residual": 20.0,
            "partner_id": [8, "Dan Wrongref"],
        },
    ]
    with RunningSandbox() as sb, FakeOdoo(invoices) as odoo:
        bank = sb.bank("demo")
        bank.create_account(IBAN, "USD", "Main")
        bank.set_payer(
            IBAN,
            odoo.url,
            "db",
            "admin",
            "admin",
            interval=3600,  # the rounds of this test are asked for
            references={"wrongref": "my order, thanks"},
        )
        paid = bank.pay_now()
        assert [(t["amount"], t["remittance_unstructured"]) for t in paid] == [
            ("52.90", "INV/2026/00001"),
            ("20.00", "my order, thanks"),
        ]
        assert paid[0]["counterparty"] == {"name": "Ann Peeters"}
        assert bank.pay_now() == []  # each invoice once
        statement = bank.camt053(IBAN)
        assert b"INV/2026/00001" in statement
        bank.stop_payer()
        assert bank._c("GET", "/payer")["payer"] is None
