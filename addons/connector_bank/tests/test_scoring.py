"""The pure matching function: keys, scores, verdicts, bulk behaviour."""

from ..matching.scoring import (
    InvoiceIndex,
    match_lines,
    name_tokens,
    normalize_reference,
    text_reference_keys,
)


def invoice(invoice_id, residual, **values):
    data = {
        "id": invoice_id,
        "company_id": 1,
        "name": f"INV/2024/{invoice_id:05d}",
        "payment_reference": f"INV/2024/{invoice_id:05d}",
        "ref": None,
        "partner_id": 100 + invoice_id,
        "partner_name": f"Customer {invoice_id}",
        "move_type": "out_invoice",
        "currency": "EUR",
        "residual": residual,
        "company_residual": residual,
        "date_due": f"2024-01-{invoice_id % 28 + 1:02d}",
    }
    data.update(values)
    return data


def line(line_id, amount, **values):
    data = {
        "id": line_id,
        "company_id": 1,
        "amount": amount,
        "currency": "EUR",
        "foreign_amount": None,
        "foreign_currency": None,
        "company_amount": amount,
        "company_currency": "EUR",
        "structured_ref": None,
        "texts": [],
        "partner_ids": set(),
        "partner_name": None,
    }
    data.update(values)
    return data


def test_reference_normalisation_and_text_keys():
    assert normalize_reference("RF18 5390-0754 7034") == "RF18539007547034"
    assert normalize_reference("+++090/9337/55493+++") == "090933755493"
    keys = text_reference_keys("Payment INV 2024 00012, thanks")
    assert "INV202400012" in keys
    assert "INV202400012" in text_reference_keys("inv/2024/00012")
    assert "INV1001" in text_reference_keys("E2E-INV-1001")
    assert not text_reference_keys("ok")


def test_name_tokens_drop_legal_forms_and_accents():
    assert name_tokens("Acme GmbH") == name_tokens("ACME")
    assert name_tokens("Société Générale S.A.") == frozenset({"societe", "generale"})


def test_structured_reference_and_amount_are_certain():
    invoices = [
        invoice(1, 250.0, payment_reference="RF18539007547034"),
        invoice(2, 250.0),
    ]
    (result,) = match_lines(
        [line(1, 250.0, structured_ref="RF18 5390 0754 7034")], invoices
    )
    assert result["state"] == "matched"
    assert result["invoice_ids"] == [1]
    assert result["candidates"][0]["score"] == 90


def test_partial_payment_with_reference_is_certain():
    (result,) = match_lines(
        [line(1, 100.0, texts=["INV/2024/00007 first instalment"])],
        [invoice(7, 400.0)],
        config={"auto_score": 60},
    )
    assert result["state"] == "matched"
    assert "partial payment" in result["candidates"][0]["reasons"][1]


def test_same_amount_same_partner_is_ambiguous_ranked_by_due_date():
    invoices = [
        invoice(1, 300.0, partner_id=9, partner_name="Acme", date_due="2024-02-01"),
        invoice(2, 300.0, partner_id=9, partner_name="Acme", date_due="2024-01-01"),
    ]
    (result,) = match_lines([line(1, 300.0, partner_ids={9})], invoices)
    assert result["state"] == "ambiguous"
    assert [c["invoice_id"] for c in result["candidates"]] == [2, 1]


def test_amount_alone_is_not_enough():
    (result,) = match_lines([line(1, 300.0)], [invoice(1, 300.0)])
    assert result["state"] == "unmatched"
    assert result["candidates"][0]["invoice_id"] == 1


def test_direction_and_company_are_respected():
    bill = invoice(1, 50.0, move_type="in_invoice")
    other_company = invoice(2, 50.0, company_id=2)
    (credit,) = match_lines(
        [line(1, 50.0, texts=[bill["name"]])], [bill, other_company]
    )
    assert credit["candidates"] == []
    (debit,) = match_lines([line(2, -50.0, texts=[bill["name"]])], [bill])
    assert debit["state"] == "matched"


def test_another_partners_account_lowers_the_score():
    (result,) = match_lines(
        [line(1, 80.0, texts=["INV/2024/00003"], partner_ids={555})],
        [invoice(3, 80.0)],
    )
    assert result["state"] == "ambiguous"
    assert "paid from another partner's account" in result["candidates"][0]["reasons"]


def test_foreign_currency_amount_is_compared_in_the_invoice_currency():
    usd = invoice(4, 110.0, currency="USD", company_residual=100.0)
    (result,) = match_lines(
        [
            line(
                1,
                99.0,
                foreign_amount=110.0,
                foreign_currency="USD",
                texts=["INV/2024/00004"],
            )
        ],
        [usd],
    )
    assert result["state"] == "matched"
    (converted,) = match_lines(
        [line(2, 100.5, company_amount=100.5, texts=["INV/2024/00004"])], [usd]
    )
    assert converted["state"] == "ambiguous"
    assert "after currency conversion" in converted["candidates"][0]["reasons"][1]


def test_one_payment_for_several_invoices():
    (result,) = match_lines(
        [line(1, 250.0, texts=["INV/2024/00001 INV/2024/00002"])],
        [invoice(1, 100.0, partner_id=9), invoice(2, 150.0, partner_id=9)],
    )
    assert result["state"] == "matched"
    assert sorted(result["invoice_ids"]) == [1, 2]


def test_large_amount_buckets_are_not_scanned():
    invoices = [invoice(n, 100.0) for n in range(1, 200)]
    index = InvoiceIndex(invoices)
    (result,) = match_lines([line(1, 100.0)], index)
    assert result["candidates"] == []
