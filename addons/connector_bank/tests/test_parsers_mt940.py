"""MT940 parser tests on hand-written fixtures (no Odoo needed)."""

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from ..parsers import mt940
from ..parsers.common import StatementParseError, statement_import_keys

FIXTURES = Path(__file__).parent / "fixtures"


def _parse(name):
    return mt940.parse((FIXTURES / name).read_bytes())


def _single_line_file(statement_line, details="Test"):
    text = (
        ":20:INLINE\n:25:NL91ABNA0417164300\n:28C:1\n:60F:C240101EUR0,00\n"
        f":61:{statement_line}\n:86:{details}\n"
    )
    return text.encode()


def test_swift_blocks_ing_subfields_and_wrapped_lines():
    first, second = _parse("mt940_ing_swift.940")
    # ":28C:0000" continues on the next line with "1".
    assert first.statement_id == "FIXTURE-ING-1/00001"
    # The IBAN is recognised although ING glues the currency to it.
    assert first.account_iban == "NL91ABNA0417164300"
    assert first.currency == "EUR"
    assert first.opening_balance == Decimal("100.00")
    assert first.closing_balance == Decimal("346.7")
    assert [balance.code for balance in first.balances] == ["60F", "62F", "64"]
    total = sum(line.amount for line in first.lines)
    assert first.opening_balance + total == first.closing_balance

    credit, debit, refund, reversed_credit = first.lines
    assert credit.amount == Decimal("250")
    assert credit.date == credit.value_date == date(2024, 3, 1)
    # The wrapped bank reference "24030100001" + "234" is joined again.
    assert credit.bank_reference == "24030100001234"
    assert credit.raw["supplementary_details"] == "/TRCD/00100/"
    assert credit.end_to_end_id == "INV-2024-0001"
    assert credit.partner_iban == "NL39RABO0300065264"
    assert credit.partner_bic == "RABONL2U"
    assert credit.partner_name == "ACME B.V."
    assert credit.payment_ref == "Invoice 2024-0001"
    assert credit.transaction_code == "NTRF"
    assert credit.currency == "EUR"

    assert debit.amount == Decimal("-11.8")
    assert debit.raw["supplementary_details"] == "/TRCD/01016/"
    assert debit.structured_ref == "RF18539007547034"
    assert debit.payment_ref == "RF18539007547034"
    assert debit.raw["mandate_id"] == "MANDATE-1"
    assert debit.partner_name == "Energy Co"
    assert debit.partner_bic == "COBADEFFXXX"

    # RD (reversal of a debit) books money in, RC takes it out.
    assert refund.amount == Decimal("9")
    assert refund.is_reversal is True
    assert refund.raw["return_reason"] == "MS03"
    assert refund.end_to_end_id == "E2E-RETURN-9"
    assert reversed_credit.amount == Decimal("-0.5")
    assert reversed_credit.is_reversal is True
    assert reversed_credit.bank_reference is None

    assert second.statement_id == "FIXTURE-ING-2/00002"
    assert second.lines == []
    assert second.date == date(2024, 3, 3)


def test_german_subfields_statements_split_by_dash_and_intermediate_balances():
    first, second = _parse("mt940_german_multi.sta")
    assert first.account_iban is None
    assert first.account_number == "37040044/0532013000"
    assert first.opening_balance == Decimal("1000.00")
    assert first.closing_balance == Decimal("975.00")
    assert [balance.code for balance in first.balances] == ["60F", "62M"]
    (debit,) = first.lines
    # "DR" is a debit with funds code R, not a reversal.
    assert debit.amount == Decimal("-25.00")
    assert debit.is_reversal is False
    assert debit.raw["funds_code"] == "R"
    # Entry date 12-31 belongs to the year before the 2024-01-02 value date.
    assert debit.value_date == date(2024, 1, 2)
    assert debit.date == date(2023, 12, 31)
    assert debit.bank_reference == "8327000090031789"
    assert debit.end_to_end_id == "E2E-DE-0001"
    assert debit.payment_ref == "Strom Januar 2024 Kundennr 4711"
    assert debit.partner_name == "Stadtwerke Beispielstadt GmbH"
    assert debit.partner_iban == "DE89370400440532013000"
    assert debit.partner_bic == "COBADEFFXXX"
    assert debit.raw["mandate_id"] == "M-44"
    assert debit.raw["creditor_id"] == "DE98ZZZ09999999999"
    assert debit.raw["business_code"] == "105"
    assert debit.raw["posting_text"] == "SEPA-LASTSCHRIFT"

    assert second.opening_balance == Decimal("975.00")
    assert [balance.code for balance in second.balances] == ["60M", "62F"]
    (credit,) = second.lines
    assert credit.amount == Decimal("1234.5")
    assert credit.end_to_end_id is None  # NOTPROVIDED
    assert credit.payment_ref == "Rechnung 2024-17"
    assert credit.partner_name == "Kunde AG"
    assert second.opening_balance + credit.amount == second.closing_balance


def test_free_text_details_and_supplementary_account():
    (statement,) = _parse("mt940_freetext.sta")
    assert statement.account_iban == "NL91ABNA0417164300"
    assert statement.opening_balance == Decimal("50.00")
    credit, card = statement.lines
    assert credit.amount == Decimal("100.00")
    assert credit.partner_iban == "NL39RABO0300065264"
    assert credit.payment_ref == "Payment for order 5521 from J. Jansen Amsterdam"
    assert credit.transaction_code == "N541"
    # A full-width (65 character) line was cut mid-word by the bank.
    assert card.payment_ref == (
        "CARD PAYMENT 15.01.24 12:01 COFFEE CORNER AMSTERDAM TERMINAL 00427 PAS999"
    )
    assert card.raw["details"].count("\n") == 1
    keys = statement_import_keys(statement)
    assert len(set(keys)) == 2


@pytest.mark.parametrize(
    ("amount_text", "expected"),
    [
        ("9,", Decimal("9")),
        ("11,8", Decimal("11.8")),
        ("000000004433,52", Decimal("4433.52")),
        ("0,01", Decimal("0.01")),
    ],
)
def test_decimal_comma_amounts(amount_text, expected):
    data = _single_line_file(f"240101C{amount_text}NTRFNONREF")
    (statement,) = mt940.parse(data)
    assert statement.lines[0].amount == expected


def test_tag_wrapped_over_two_lines_and_amount_on_next_line():
    data = (
        b":61:2401020102CR\n"
        b"30,00N062NONREF\n"
        b":\n"
        b"86:166?00GUTSCHRIFT?20SVWZ+Wrapped tag\n"
    )
    (statement,) = mt940.parse(data)
    (line,) = statement.lines
    assert line.amount == Decimal("30.00")
    assert line.payment_ref == "Wrapped tag"
    assert statement.statement_id is None


def test_dash_inside_details_is_text_not_a_statement_end():
    data = (
        b":20:DASH\n:25:NL91ABNA0417164300EUR\n:60F:C240101EUR0,00\n"
        b":61:240101C1,00NDDTEREF//1\n"
        b":86:/EREF/X1//MARF/MND\n-\nEV01//REMI/USTD//Dues/\n"
        b":62F:C240101EUR1,00\n-\n"
    )
    (statement,) = mt940.parse(data)
    (line,) = statement.lines
    assert line.raw["mandate_id"] == "MND-EV01"
    assert line.payment_ref == "Dues"
    assert statement.closing_balance == Decimal("1.00")


def test_windows_line_endings_and_latin1_bytes():
    data = _single_line_file("240101D5,00NTRFNONREF", "Caf\xe9 M\xfcller").replace(
        b"\n", b"\r\n"
    )
    data = data.decode().encode("latin-1")
    (statement,) = mt940.parse(data)
    assert statement.lines[0].payment_ref == "Caf\xe9 M\xfcller"
    assert statement.lines[0].amount == Decimal("-5.00")


@pytest.mark.parametrize(
    ("fixture", "location", "detail"),
    [
        ("mt940_malformed_statement_line.sta", "line 5, :61:", "24011XC100,00"),
        ("mt940_malformed_balance.sta", "line 7, :62F:", "C240115EUR1O0,00"),
    ],
)
def test_malformed_file_raises_one_error_naming_line_and_tag(fixture, location, detail):
    with pytest.raises(StatementParseError) as caught:
        _parse(fixture)
    message = str(caught.value)
    assert message.startswith("MT940: ")
    assert f"(at {location})" in message
    assert detail in message
    assert caught.value.location == location


def test_invalid_date_in_statement_line():
    data = _single_line_file("241301C1,00NTRFNONREF")
    with pytest.raises(StatementParseError, match=r"invalid date '241301'.*line 5"):
        mt940.parse(data)


def test_text_without_fields_is_refused():
    with pytest.raises(StatementParseError, match="no MT940 fields"):
        mt940.parse(b"ABNANL2A\n940\n-\n")
