"""The WMS contract in plain Python (no Odoo): JSON Schemas of every body,
builders of the bodies Odoo sends, parsers of the bodies the WMS sends, the
snapshot checksum, and the adapter that maps a 3PL's own API onto it.

``CONTRACT.md`` (beside this package) is the same contract for people.
"""

from .adapter import ContractAdapter, adapter_for, register_adapter
from .bodies import cancel_body, receipt_body, release_body
from .checksum import snapshot_checksum
from .parsing import (
    ContractError,
    Lot,
    PackageLine,
    ParsedLine,
    ParsedPackage,
    Receipt,
    Shipment,
    Snapshot,
    SnapshotLine,
    Status,
    envelope_of,
    parse_event,
    parse_order_status,
    parse_receipt,
    parse_shipment,
    parse_snapshot,
)
from .schemas import (
    EVENT_TYPES,
    INBOUND_SCHEMAS,
    MESSAGE_TYPE_OF_EVENT,
    OUTBOUND_SCHEMAS,
    schema_text,
)

__all__ = [
    "EVENT_TYPES",
    "INBOUND_SCHEMAS",
    "MESSAGE_TYPE_OF_EVENT",
    "OUTBOUND_SCHEMAS",
    "ContractAdapter",
    "ContractError",
    "Lot",
    "PackageLine",
    "ParsedLine",
    "ParsedPackage",
    "Receipt",
    "Shipment",
    "Snapshot",
    "SnapshotLine",
    "Status",
    "adapter_for",
    "cancel_body",
    "envelope_of",
    "parse_event",
    "parse_order_status",
    "parse_receipt",
    "parse_shipment",
    "parse_snapshot",
    "receipt_body",
    "register_adapter",
    "release_body",
    "schema_text",
    "snapshot_checksum",
]
