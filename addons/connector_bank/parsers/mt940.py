"""SWIFT MT940 (customer statement message) parser.

Banks bend the standard in many ways; this parser accepts:

* files with or without SWIFT blocks (``{1:..}{2:..}{4:`` ... ``-}``) and
  bank header lines, several statements per file (a new ``:20:`` or a ``-``
  line ends one);
* fields wrapped over several lines, even mid-token (ING wraps ``:28C:`` and
  ``:61:``, Sparkasse wraps the ``:86:`` tag itself);
* decimal comma amounts with optional or zero-padded digits ("9,", "11,8",
  "000000004433,52");
* ``:86:`` details as ING/Rabobank ``/CODE/value`` subfields, German
  ``?20?21..`` subfields, or free text.
"""

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from .common import (
    Balance,
    Statement,
    StatementLine,
    StatementParseError,
    clean_reference,
    clean_text,
    looks_like_iban,
)

FILE_FORMAT = "MT940"

# The :86: field is at most 6 lines of 65 characters; a line that fills the
# width was wrapped by the bank and continues without a separator.
_DETAILS_LINE_WIDTH = 65

_TAG_RE = re.compile(r"^:([0-9]{2}[A-Z]?):(.*)$")
_WRAPPED_TAG_RE = re.compile(r"^[0-9]{2}[A-Z]?:")
_SWIFT_BLOCKS_RE = re.compile(r"^(\{[1-3]:(?:[^{}]|\{[^{}]*\})*\})*\{4:")
_HEADER_BLOCKS_RE = re.compile(r"^(\{[1-3]:(?:[^{}]|\{[^{}]*\})*\})+$")
_TERMINATOR_RE = re.compile(r"^-\s*(\}.*|XXX)?$")
# Bank header lines that may follow a "-" terminator ("ABNANL2A", "940").
_HEADER_LINE_RE = re.compile(
    r"^([A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?|[0-9]{3}( [0-9]{2})?)$"
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SNIFF_RE = re.compile(r"^\s*(\{4:)?:(20|25|28C?|60[FM]|61):", re.MULTILINE)

_BALANCE_RE = re.compile(
    r"^(?P<mark>[CD])(?P<date>[0-9]{6})(?P<currency>[A-Z]{3})"
    r"(?P<amount>[0-9]+,[0-9]*)$"
)
_STATEMENT_LINE_RE = re.compile(
    r"^(?P<value_date>[0-9]{6})(?P<entry_date>[0-9]{4})?"
    r"(?P<mark>RC|RD|C|D)(?P<funds_code>[A-Z])?"
    r"(?P<amount>[0-9]+,[0-9]*)"
    r"(?P<type_code>[NSF][A-Z0-9]{3})"
    r"(?P<rest>.*)$"
)
_GERMAN_DETAILS_RE = re.compile(r"^\s*(?P<code>[0-9]{3})\s*(?P<body>\?.*)$", re.DOTALL)
_GERMAN_SUBFIELD_RE = re.compile(r"\?([0-9]{2})")
_GERMAN_PURPOSE_CODES = tuple(f"{n}" for n in range(20, 30)) + ("60", "61", "62", "63")
_SEPA_KEYWORD_RE = re.compile(
    r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC|COAM|OAMT)\+"
)
_BIC_RE = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$")
# Codes of the ING / Rabobank / ABN AMRO "/CODE/value" structured :86: field.
_STRUCTURED_CODES = frozenset(
    {
        "ADDR",
        "BENM",
        "BIC",
        "BUSP",
        "CNTP",
        "CSID",
        "EREF",
        "IBAN",
        "IREF",
        "ISDT",
        "KREF",
        "MARF",
        "NAME",
        "ORDP",
        "PREF",
        "PURP",
        "REMI",
        "RTRN",
        "SUM",
        "TRCD",
        "TRTP",
        "ULTB",
        "ULTC",
        "ULTD",
    }
)
_STRUCTURED_START_RE = re.compile(r"^/([A-Z]{2,4})/")

_OPENING_TAGS = ("60F", "60M", "60")
_CLOSING_TAGS = ("62F", "62M", "62")


@dataclass
class _Field:
    """One tagged field with its physical lines as (line number, text)."""

    tag: str
    line_number: int
    lines: list = field(default_factory=list)

    @property
    def location(self):
        return f"line {self.line_number}, :{self.tag}:"

    def joined(self):
        return "".join(text.strip() for _number, text in self.lines)


# Marks the end of one message (statement) in the token stream.
_BOUNDARY = object()


def looks_like_mt940(data: bytes) -> bool:
    """Cheap sniff: an MT940 field tag at the start of a line."""
    head = _decode(data[:8192])
    return bool(_SNIFF_RE.search(head))


def parse(data: bytes) -> list[Statement]:
    """Parse an MT940 file into statements."""
    items = _tokenise(_decode(data))
    if not any(isinstance(item, _Field) for item in items):
        raise StatementParseError("no MT940 fields found", None, FILE_FORMAT)
    return _build_statements(items)


def _error(message, location):
    return StatementParseError(message, location, FILE_FORMAT)


def _decode(data):
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older bank exports are Latin-1 / Windows-1252; every byte decodes.
        return data.decode("latin-1")


def _next_content_line(lines, start):
    for text in lines[start:]:
        stripped = _CONTROL_RE.sub("", text).strip()
        if stripped:
            return stripped
    return None


def _dash_continues_field(current, lines, index):
    """Tell a "-" inside wrapped :86:/:61: text from a statement terminator."""
    if current is None or current.tag not in ("61", "86"):
        return False
    following = _next_content_line(lines, index)
    if following is None:
        return False
    return not (
        _TAG_RE.match(following)
        or following.startswith("{")
        or _TERMINATOR_RE.match(following)
        or _HEADER_LINE_RE.match(following)
    )


def _tokenise(text):
    """Split the file into _Field objects and _BOUNDARY markers."""
    lines = text.splitlines()
    items = []
    current = None
    index = 0
    while index < len(lines):
        line_number = index + 1
        line = _CONTROL_RE.sub("", lines[index])
        index += 1
        stripped = line.strip()
        if not stripped:
            continue
        if stripped == ":" and index < len(lines):
            # Sparkasse wraps the tag itself: ":" + "86:166?00...".
            following = _CONTROL_RE.sub("", lines[index]).strip()
            if _WRAPPED_TAG_RE.match(following):
                line = stripped = ":" + following
                index += 1
        if stripped.startswith("{"):
            match = _SWIFT_BLOCKS_RE.match(stripped)
            if match or _HEADER_BLOCKS_RE.match(stripped):
                items.append(_BOUNDARY)
                current = None
                line = stripped[match.end() :] if match else ""
                stripped = line.strip()
                if not stripped:
                    continue
        if _TERMINATOR_RE.match(stripped):
            if _dash_continues_field(current, lines, index):
                current.lines.append((line_number, line))
            else:
                items.append(_BOUNDARY)
                current = None
            continue
        match = _TAG_RE.match(stripped)
        if match:
            current = _Field(match.group(1), line_number, [(line_number, match[2])])
            items.append(current)
        elif current is not None:
            current.lines.append((line_number, line))
        # Anything else sits outside a field: bank headers such as
        # "ABNANL2A", "940 00" or ":940:", which carry no data.
    return items


def _parse_short_date(value, location):
    """Parse YYMMDD; SWIFT years below 80 are 20YY."""
    try:
        year = int(value[0:2])
        year += 2000 if year < 80 else 1900
        return date(year, int(value[2:4]), int(value[4:6]))
    except ValueError:
        raise _error(f"invalid date {value!r}", location) from None


def _parse_entry_date(value, value_date, location):
    """Parse an MMDD entry date, taking the year closest to the value date."""
    month, day = int(value[0:2]), int(value[2:4])
    candidates = []
    for year in (value_date.year - 1, value_date.year, value_date.year + 1):
        try:
            candidates.append(date(year, month, day))
        except ValueError:
            continue
    if not candidates:
        raise _error(f"invalid entry date {value!r}", location)
    return min(candidates, key=lambda candidate: abs(candidate - value_date))


def _parse_amount(value):
    # "9," and "11,8" are valid: the decimal comma is mandatory, digits not.
    return Decimal(value.replace(",", "."))


def _parse_balance(item):
    value = item.joined()
    match = _BALANCE_RE.match(value)
    if not match:
        raise _error(f"invalid balance {value!r}", item.location)
    amount = _parse_amount(match["amount"])
    return Balance(
        code=item.tag,
        amount=-amount if match["mark"] == "D" else amount,
        currency=match["currency"],
        date=_parse_short_date(match["date"], item.location),
    )


def _parse_account(value):
    """Return (iban, account number, currency) from a :25: value."""
    value = value.strip().lstrip("/")
    tokens = value.split()
    first = tokens[0] if tokens else ""
    currency = None
    if len(tokens) > 1 and re.fullmatch(r"[A-Z]{3}", tokens[1]):
        currency = tokens[1]
    if looks_like_iban(first):
        return first, first, currency
    # ING appends the currency to the IBAN: "NL77INGB0574908765EUR".
    if len(first) > 3 and first[-3:].isalpha() and looks_like_iban(first[:-3]):
        return first[:-3], first[:-3], first[-3:]
    return None, value or None, currency


def _parse_statement_line(item):
    """Parse a :61: field into a StatementLine (details come from :86:)."""
    physical = item.lines
    main = physical[0][1].strip()
    used = 1
    # A line cut before the type code (Sparkasse: "...CR" + "30,00N062")
    # is completed from the next lines.
    while not _STATEMENT_LINE_RE.match(main) and used < len(physical):
        main += physical[used][1].strip()
        used += 1
    match = _STATEMENT_LINE_RE.match(main)
    if not match:
        raise _error(
            f"cannot parse statement line {physical[0][1].strip()!r}", item.location
        )
    value_date = _parse_short_date(match["value_date"], item.location)
    booking_date = value_date
    if match["entry_date"]:
        booking_date = _parse_entry_date(match["entry_date"], value_date, item.location)
    customer_reference, _separator, bank_reference = match["rest"].partition("//")
    bank_reference = bank_reference.strip()
    remaining = physical[used:]
    if remaining:
        next_text = remaining[0][1].strip()
        last_text = physical[used - 1][1]
        # ING wraps the numeric bank reference: "//00000000001" + "005".
        if (
            bank_reference.isdigit()
            and next_text.isdigit()
            and len(bank_reference) + len(next_text) <= 16
            and not last_text.endswith(" ")
        ):
            bank_reference += next_text
            remaining = remaining[1:]
    supplementary = "".join(text.strip() for _number, text in remaining)
    amount = _parse_amount(match["amount"])
    # D and RC (reversal of a credit) take money out of the account.
    if match["mark"] in ("D", "RC"):
        amount = -amount
    raw = {
        "customer_reference": clean_reference(customer_reference),
        "supplementary_details": supplementary or None,
        "funds_code": match["funds_code"],
    }
    line = StatementLine(
        date=booking_date,
        value_date=value_date,
        amount=amount,
        bank_reference=clean_reference(bank_reference),
        transaction_code=match["type_code"],
        is_reversal=match["mark"] in ("RC", "RD"),
        raw={key: value for key, value in raw.items() if value},
    )
    # Rabobank puts the counterparty account on the supplementary line, SNS
    # and ASN put it in the customer reference.
    for candidate in (supplementary, customer_reference.strip()):
        if looks_like_iban(candidate):
            line.partner_iban = candidate
            break
    return line


def _free_text(item):
    """Join :86: lines: full-width lines were wrapped mid-word."""
    text = ""
    previous_width = None
    for position, (_number, piece) in enumerate(item.lines):
        width = len(piece) + (len(item.tag) + 2 if position == 0 else 0)
        if previous_width is not None and previous_width < _DETAILS_LINE_WIDTH:
            text += " "
        text += piece
        previous_width = width
    return text


def _structured_subfields(text):
    """Split "/CODE/value/CODE/value" into {code: [words]}; first one wins."""
    subfields = {}
    current = None
    for word in text.split("/"):
        if word in _STRUCTURED_CODES:
            current = [] if word not in subfields else None
            if current is not None:
                subfields[word] = current
        elif current is not None:
            current.append(word)
    return subfields


def _subfield_value(words):
    if not words:
        return None
    return clean_text("/".join(words).strip("/"))


def _apply_structured_details(line, text):
    subfields = _structured_subfields(text)
    remittance = subfields.get("REMI") or []
    remittance_text = None
    if remittance and remittance[0] == "STRD":
        # "/REMI/STRD/CUR/<reference>/": a structured creditor reference.
        line.structured_ref = _subfield_value(remittance[2:])
    elif remittance and remittance[0] == "USTD":
        remittance_text = _subfield_value(remittance[1:])
    else:
        remittance_text = _subfield_value(remittance)
    counterparty = subfields.get("CNTP") or []
    counterparty += [""] * (3 - len(counterparty))
    line.end_to_end_id = clean_reference(_subfield_value(subfields.get("EREF")))
    line.partner_iban = (
        clean_text(counterparty[0])
        or _subfield_value(subfields.get("IBAN"))
        or line.partner_iban
    )
    line.partner_bic = clean_text(counterparty[1]) or _subfield_value(
        subfields.get("BIC")
    )
    line.partner_name = clean_text(counterparty[2]) or _subfield_value(
        subfields.get("NAME")
    )
    line.payment_ref = line.structured_ref or remittance_text or clean_text(text)
    for code, key in (
        ("PREF", "batch_payment_id"),
        ("MARF", "mandate_id"),
        ("CSID", "creditor_id"),
        ("RTRN", "return_reason"),
        ("TRCD", "bank_transaction_code"),
        ("TRTP", "transaction_type"),
    ):
        value = _subfield_value(subfields.get(code))
        if value:
            line.raw[key] = value


def _apply_german_details(line, match):
    subfields = {}
    parts = _GERMAN_SUBFIELD_RE.split(match["body"])
    for code, value in zip(parts[1::2], parts[2::2]):
        subfields.setdefault(code, []).append(value)
    purpose = "".join(
        "".join(subfields.get(code, [])) for code in _GERMAN_PURPOSE_CODES
    )
    keyword_parts = _SEPA_KEYWORD_RE.split(purpose)
    free_purpose = clean_text(keyword_parts[0])
    keywords = {}
    for keyword, value in zip(keyword_parts[1::2], keyword_parts[2::2]):
        keywords.setdefault(keyword, clean_text(value))

    def first(code):
        return clean_text("".join(subfields.get(code, []))) or None

    line.end_to_end_id = clean_reference(keywords.get("EREF"))
    line.payment_ref = (
        keywords.get("SVWZ") or free_purpose or clean_text(purpose) or first("00")
    )
    # Name lines are cut at 27 characters, mid-word.
    line.partner_name = clean_text(
        "".join(subfields.get("32", []) + subfields.get("33", []))
    )
    line.partner_iban = (
        first("38") or keywords.get("IBAN") or first("31") or line.partner_iban
    )
    bank_code = first("30")
    if bank_code and _BIC_RE.match(bank_code):
        line.partner_bic = bank_code
    elif keywords.get("BIC"):
        line.partner_bic = keywords["BIC"]
    raw = {
        "business_code": match["code"],
        "posting_text": first("00"),
        "partner_bank_code": bank_code if bank_code != line.partner_bic else None,
        "mandate_id": keywords.get("MREF"),
        "creditor_id": keywords.get("CRED"),
        "customer_reference": keywords.get("KREF"),
    }
    line.raw.update({key: value for key, value in raw.items() if value})


def _apply_details(line, item):
    """Fill a line's references, partner and payment ref from its :86:."""
    tight = "".join(text for _number, text in item.lines)
    german = _GERMAN_DETAILS_RE.match(tight)
    start = _STRUCTURED_START_RE.match(tight.lstrip())
    if german:
        _apply_german_details(line, german)
    elif start and start.group(1) in _STRUCTURED_CODES:
        _apply_structured_details(line, tight.strip())
    else:
        line.payment_ref = clean_text(_free_text(item))
    line.raw["details"] = "\n".join(text.rstrip() for _number, text in item.lines)


class _StatementBuilder:
    """Collects the fields of one statement."""

    def __init__(self):
        self.reference = None
        self.number = None
        self.account_iban = None
        self.account_number = None
        self.account_currency = None
        self.opening = None
        self.closing = None
        self.balances = []
        self.lines = []

    def add(self, item, previous_tag):
        tag = item.tag
        if tag == "20":
            self.reference = clean_text(item.joined())
        elif tag == "25":
            account = _parse_account(item.joined())
            self.account_iban, self.account_number, self.account_currency = account
        elif tag in ("28", "28C"):
            self.number = clean_text(item.joined())
        elif tag in _OPENING_TAGS + _CLOSING_TAGS + ("64", "65"):
            balance = _parse_balance(item)
            self.balances.append(balance)
            if tag in _OPENING_TAGS and self.opening is None:
                self.opening = balance
            elif tag in _CLOSING_TAGS:
                self.closing = balance
        elif tag == "61":
            self.lines.append(_parse_statement_line(item))
        elif tag == "86" and previous_tag == "61":
            _apply_details(self.lines[-1], item)
        # Other fields (:21:, :13D:, :34F:, :90C:, statement-level :86:)
        # carry nothing the statement model keeps.

    def build(self):
        currency = next(
            (b.currency for b in (self.opening, self.closing) if b is not None),
            self.account_currency,
        )
        for line in self.lines:
            line.currency = currency
        statement_date = max((line.date for line in self.lines), default=None)
        if statement_date is None:
            statement_date = next(
                (b.date for b in (self.closing, self.opening) if b is not None), None
            )
        statement_id = self.reference
        if self.reference and self.number:
            statement_id = f"{self.reference}/{self.number}"
        return Statement(
            statement_id=statement_id or self.number,
            account_iban=self.account_iban,
            account_number=self.account_number,
            currency=currency,
            date=statement_date,
            opening_balance=self.opening.amount if self.opening else None,
            closing_balance=self.closing.amount if self.closing else None,
            lines=self.lines,
            balances=self.balances,
        )


def _build_statements(items):
    statements = []
    builder = None
    previous_tag = None
    for item in items:
        if item is _BOUNDARY:
            if builder is not None:
                statements.append(builder.build())
            builder = None
            previous_tag = None
            continue
        if item.tag == "20" and builder is not None:
            statements.append(builder.build())
            builder = None
        if builder is None:
            # Fragments without :20: (e.g. a pasted :61:/:86: pair) still
            # form a statement so their lines are not lost.
            builder = _StatementBuilder()
        builder.add(item, previous_tag)
        previous_tag = item.tag
    if builder is not None:
        statements.append(builder.build())
    return statements
