"""ISO 20022 camt.053 (bank-to-customer statement) parser.

Covers versions 001.02, .03, .04 and .08. Elements are matched by local name,
so every camt.053.001.NN namespace (and a missing one) is accepted.
"""

import re
from datetime import date
from decimal import Decimal

from lxml import etree

from .common import (
    Balance,
    Statement,
    StatementLine,
    StatementParseError,
    clean_reference,
    clean_text,
)

FILE_FORMAT = "camt.053"

_AMOUNT_RE = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_DATE_RE = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})(Z|[+-][0-9]{2}:[0-9]{2})?$")
_DATETIME_RE = re.compile(
    r"^([0-9]{4})-([0-9]{2})-([0-9]{2})T[0-9]{2}:[0-9]{2}:[0-9]{2}"
    r"(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$"
)
_TRUE_VALUES = ("true", "1")

# Preference order when a statement lacks the booked opening/closing balance.
_OPENING_CODES = ("OPBD", "PRCD", "ITBD", "OPAV")
_CLOSING_CODES = ("CLBD", "ITBD", "CLAV")


def looks_like_camt053(data: bytes) -> bool:
    """Cheap sniff: an XML document mentioning camt.053 or BkToCstmrStmt."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return False
    return b"camt.053" in head or b"BkToCstmrStmt" in head


def parse(data: bytes) -> list[Statement]:
    """Parse a camt.053 file into statements (booked entries only)."""
    root = _parse_xml(data)
    return _CamtReader(root).parse_statements()


def _error(message, element=None):
    location = _where(element) if element is not None else None
    return StatementParseError(message, location, FILE_FORMAT)


def _where(element):
    """Describe an element's place as a local-name XML path plus line."""
    parts = []
    node = element
    while node is not None:
        name = node.tag
        parent = node.getparent()
        if parent is not None:
            siblings = [child for child in parent if child.tag == name]
            if len(siblings) > 1:
                name = f"{name}[{siblings.index(node) + 1}]"
        parts.append(name)
        node = parent
    path = "/" + "/".join(reversed(parts))
    if element.sourceline:
        return f"{path}, line {element.sourceline}"
    return path


def _parse_xml(data):
    # No entity expansion, no network, no huge trees: statements come from
    # outside and must not be able to read files or exhaust memory.
    parser = etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as err:
        line, column = err.position
        raise StatementParseError(
            f"XML is not well-formed: {err.msg}",
            f"line {line}, column {column}",
            FILE_FORMAT,
        ) from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise _error("DTD declarations are not allowed", root)
    for element in root.iter():
        # Entity references stay unresolved and have a non-string tag.
        if isinstance(element.tag, str):
            element.tag = etree.QName(element).localname
    if root.tag != "Document" or root.find("BkToCstmrStmt") is None:
        raise _error("not a camt.053 document (no Document/BkToCstmrStmt)", root)
    return root


def _text(element, path):
    if element is None:
        return None
    found = element.find(path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def _texts(element, path):
    if element is None:
        return []
    return [
        found.text.strip()
        for found in element.findall(path)
        if found.text and found.text.strip()
    ]


def _join(values):
    return clean_text(" ".join(values)) if values else None


def _parse_amount(amount_element):
    """Return (Decimal, currency) of an ``<Amt Ccy="..">`` style element."""
    value = (amount_element.text or "").strip()
    if not _AMOUNT_RE.match(value):
        raise _error(f"invalid amount {value!r}", amount_element)
    return Decimal(value), amount_element.get("Ccy")


def _parse_sign(element):
    """Return +1 for CRDT and -1 for DBIT from ``element/CdtDbtInd``."""
    indicator = element.find("CdtDbtInd")
    if indicator is None:
        raise _error("missing <CdtDbtInd>", element)
    value = (indicator.text or "").strip()
    if value == "CRDT":
        return 1
    if value == "DBIT":
        return -1
    raise _error(f"invalid CdtDbtInd {value!r} (expected CRDT or DBIT)", indicator)


def _parse_date(container):
    """Return the date of a ``<Dt>``/``<DtTm>`` choice inside ``container``.

    A date-time keeps its own calendar day (the offset is not converted):
    that is the day the bank booked it in its own time zone.
    """
    if container is None:
        return None
    node = container.find("Dt")
    pattern = _DATE_RE
    if node is None:
        node = container.find("DtTm")
        pattern = _DATETIME_RE
    if node is None:
        raise _error("missing <Dt> or <DtTm>", container)
    value = (node.text or "").strip()
    match = pattern.match(value)
    if not match:
        raise _error(f"invalid date {value!r}", node)
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        raise _error(f"invalid date {value!r}", node) from None


def _bank_transaction_code(code_element):
    """Return "DOMAIN-FAMILY-SUBFAMILY", else the proprietary code."""
    if code_element is None:
        return None
    domain = _text(code_element, "Domn/Cd")
    family = _text(code_element, "Domn/Fmly/Cd")
    sub_family = _text(code_element, "Domn/Fmly/SubFmlyCd")
    if domain:
        return "-".join(part for part in (domain, family, sub_family) if part)
    return _text(code_element, "Prtry/Cd")


def _pick_balance(balances, codes, currency, closing):
    for code in codes:
        candidates = [balance for balance in balances if balance.code == code]
        same_currency = [b for b in candidates if b.currency == currency]
        candidates = same_currency or candidates
        if code == "ITBD" and not closing and len(candidates) < 2:
            # A single interim balance is the end of the period, not its start.
            continue
        if candidates:
            return candidates[-1] if closing else candidates[0]
    return None


class _CamtReader:
    """Walks a namespace-stripped camt.053 tree."""

    def __init__(self, root):
        self.root = root

    def parse_statements(self):
        statements_parent = self.root.find("BkToCstmrStmt")
        statement_nodes = statements_parent.findall("Stmt")
        if not statement_nodes:
            raise _error("no <Stmt> in the document", statements_parent)
        return [self._read_statement(node) for node in statement_nodes]

    def _read_statement(self, node):
        account = node.find("Acct")
        iban = _text(account, "Id/IBAN")
        balances = [self._read_balance(balance) for balance in node.findall("Bal")]
        currency = _text(account, "Ccy")
        if not currency:
            booked = [b for b in balances if b.code in ("OPBD", "CLBD")]
            currency = next((b.currency for b in booked + balances if b.currency), None)
        lines = []
        for index, entry in enumerate(node.findall("Ntry")):
            lines.extend(self._read_entry(entry, index, currency))
        if not currency and lines:
            currency = lines[0].currency
        opening = _pick_balance(balances, _OPENING_CODES, currency, closing=False)
        closing = _pick_balance(balances, _CLOSING_CODES, currency, closing=True)
        statement_date = max((line.date for line in lines), default=None)
        if statement_date is None and closing is not None:
            statement_date = closing.date
        return Statement(
            statement_id=_text(node, "Id"),
            account_iban=iban,
            account_number=iban or _text(account, "Id/Othr/Id"),
            currency=currency,
            date=statement_date,
            opening_balance=opening.amount if opening else None,
            closing_balance=closing.amount if closing else None,
            lines=lines,
            balances=balances,
        )

    def _read_balance(self, node):
        code = _text(node, "Tp/CdOrPrtry/Cd") or _text(node, "Tp/CdOrPrtry/Prtry")
        amount_node = node.find("Amt")
        if amount_node is None:
            raise _error("missing <Amt>", node)
        amount, currency = _parse_amount(amount_node)
        sign = _parse_sign(node)
        return Balance(
            code=code or "",
            amount=sign * amount,
            currency=currency,
            date=_parse_date(node.find("Dt")),
        )

    def _read_entry(self, entry, index, statement_currency):
        status = _text(entry, "Sts/Cd") or _text(entry, "Sts")
        if status and status.upper() != "BOOK":
            # Pending (PDNG) and information (INFO) entries are not booked
            # yet and must not reach the statement.
            return []
        amount_node = entry.find("Amt")
        if amount_node is None:
            raise _error("missing <Amt>", entry)
        amount, currency = _parse_amount(amount_node)
        sign = _parse_sign(entry)
        booking_date = _parse_date(entry.find("BookgDt"))
        value_date = _parse_date(entry.find("ValDt"))
        if booking_date is None:
            booking_date = value_date
        if booking_date is None:
            raise _error("missing <BookgDt>", entry)
        context = {
            "entry": entry,
            "index": index,
            "sign": sign,
            "currency": currency or statement_currency,
            "date": booking_date,
            "value_date": value_date,
            "is_reversal": (_text(entry, "RvslInd") or "").lower() in _TRUE_VALUES,
        }
        transactions = entry.findall("NtryDtls/TxDtls")
        signed_amount = sign * amount
        if len(transactions) > 1:
            split_amounts = self._split_amounts(transactions, context, signed_amount)
            if split_amounts:
                return [
                    self._make_line(context, tx, tx_amount, tx_sign, tx_index)
                    for tx_index, (tx, (tx_amount, tx_sign)) in enumerate(
                        zip(transactions, split_amounts)
                    )
                ]
            line = self._make_line(context, None, signed_amount, sign, None)
            line.raw["transaction_count"] = len(transactions)
            return [line]
        single = transactions[0] if transactions else None
        return [self._make_line(context, single, signed_amount, sign, None)]

    def _split_amounts(self, transactions, context, signed_amount):
        """Return [(signed amount, sign)] per TxDtls, or None if unsplittable.

        A batch is split only when every TxDtls states an amount in the entry
        currency and they add up to the entry: otherwise the statement would
        no longer balance, so the entry stays one line.
        """
        result = []
        for tx in transactions:
            amount_node = tx.find("Amt")
            if amount_node is None:
                amount_node = tx.find("AmtDtls/TxAmt/Amt")
            if amount_node is None:
                return None
            amount, currency = _parse_amount(amount_node)
            if currency and context["currency"] and currency != context["currency"]:
                return None
            tx_sign = context["sign"]
            if tx.find("CdtDbtInd") is not None:
                tx_sign = _parse_sign(tx)
            result.append((tx_sign * amount, tx_sign))
        if sum(amount for amount, _sign in result) != signed_amount:
            return None
        return result

    def _instructed_amount(self, tx, context):
        """The amount the payer instructed, when in another currency.

        ``AmtDtls/InstdAmt`` holds what was ordered (e.g. USD 110.00) before
        the bank converted it into the account currency: the amount that
        pays a foreign-currency invoice. Returns a signed ``(str, currency)``
        or ``(None, None)``.
        """
        node = tx.find("AmtDtls/InstdAmt/Amt") if tx is not None else None
        if node is None:
            return None, None
        amount, currency = _parse_amount(node)
        if not currency or currency == context["currency"]:
            return None, None
        return str(context["sign"] * amount), currency

    def _make_line(self, context, tx, amount, sign, tx_index):
        entry = context["entry"]
        entry_bank_reference = _text(entry, "AcctSvcrRef")
        tx_bank_reference = _text(tx, "Refs/AcctSvcrRef")
        if tx_index is None:
            bank_reference = entry_bank_reference or tx_bank_reference
        else:
            bank_reference = tx_bank_reference or entry_bank_reference
        structured = (_texts(tx, "RmtInf/Strd/CdtrRefInf/Ref") or [None])[0]
        unstructured = _join(_texts(tx, "RmtInf/Ustrd"))
        additional_tx = _join(_texts(tx, "AddtlTxInf"))
        additional_entry = _join(_texts(entry, "AddtlNtryInf"))
        payment_ref = (
            structured
            or unstructured
            or additional_tx
            or additional_entry
            or _join(_texts(tx, "RmtInf/Strd/AddtlRmtInf"))
        )
        # Our counterparty: who paid us on a credit, whom we paid on a debit.
        role = "Dbtr" if sign > 0 else "Cdtr"
        parties = tx.find("RltdPties") if tx is not None else None
        agent = f"RltdAgts/{role}Agt/FinInstnId"
        original_amount, original_currency = self._instructed_amount(tx, context)
        raw = {
            "entry_index": context["index"],
            "original_amount": original_amount,
            "original_currency": original_currency,
            "tx_index": tx_index,
            "additional_info": additional_tx or additional_entry,
            "unstructured": unstructured if structured else None,
            "instruction_id": _text(tx, "Refs/InstrId"),
            "mandate_id": _text(tx, "Refs/MndtId"),
            "batch_payment_id": _text(entry, "NtryDtls/Btch/PmtInfId"),
            "return_reason": _text(tx, "RtrInf/Rsn/Cd")
            or _text(tx, "RtrInf/Rsn/Prtry"),
            "tx_transaction_code": _bank_transaction_code(
                tx.find("BkTxCd") if tx is not None else None
            ),
        }
        return StatementLine(
            date=context["date"],
            value_date=context["value_date"],
            amount=amount,
            currency=context["currency"],
            payment_ref=payment_ref,
            structured_ref=structured,
            bank_reference=clean_reference(bank_reference),
            entry_reference=clean_reference(_text(entry, "NtryRef")),
            end_to_end_id=clean_reference(_text(tx, "Refs/EndToEndId")),
            partner_name=clean_text(
                _text(parties, f"{role}/Nm") or _text(parties, f"{role}/Pty/Nm")
            ),
            partner_iban=_text(parties, f"{role}Acct/Id/IBAN")
            or _text(parties, f"{role}Acct/Id/Othr/Id"),
            partner_bic=_text(tx, f"{agent}/BIC") or _text(tx, f"{agent}/BICFI"),
            transaction_code=_bank_transaction_code(entry.find("BkTxCd")),
            is_reversal=context["is_reversal"],
            raw={key: value for key, value in raw.items() if value is not None},
        )
