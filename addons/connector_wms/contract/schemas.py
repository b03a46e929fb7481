"""JSON Schemas (draft 2020-12) of every body of the WMS contract.

These dicts are the source of truth: the message types of the addon take
their ``json_schema`` from here when the module is installed or updated, and
``CONTRACT.md`` prints them. Version 1 of the contract.
"""

import json

CONTRACT_VERSION = "1"

DATETIME = {
    "type": "string",
    "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})$",
}
DATE = {"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}
TEXT = {"type": "string", "minLength": 1, "maxLength": 200}
OPTIONAL_TEXT = {"type": ["string", "null"], "maxLength": 200}
QUANTITY = {"type": "number", "minimum": 0}
POSITIVE = {"type": "number", "exclusiveMinimum": 0}

LOT = {
    "type": "object",
    "required": ["lot", "quantity"],
    "additionalProperties": False,
    "properties": {
        "lot": TEXT,
        "quantity": POSITIVE,
        "expiry_date": {"anyOf": [DATE, {"type": "null"}]},
    },
}
SERIALS = {"type": "array", "items": TEXT, "uniqueItems": True}

# -- the envelope every webhook (and every event of the poll) has ---------
EVENT_TYPES = (
    "shipment.confirmed",
    "receipt.confirmed",
    "order.status",
    "stock.snapshot",
)
MESSAGE_TYPE_OF_EVENT = {
    "shipment.confirmed": "wms.shipment",
    "receipt.confirmed": "wms.receipt_confirmed",
    "order.status": "wms.order_status",
    "stock.snapshot": "wms.snapshot",
}


def _envelope(event_type, data_schema):
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"WMS event {event_type} (contract v{CONTRACT_VERSION})",
        "type": "object",
        "required": ["event_id", "event_type", "occurred_at", "data"],
        "properties": {
            "event_id": TEXT,
            "event_type": {"const": event_type},
            "occurred_at": DATETIME,
            "warehouse": OPTIONAL_TEXT,
            "contract_version": {"type": "string"},
            "data": data_schema,
        },
    }


SHIPMENT_DATA = {
    "type": "object",
    "required": ["shipment_id", "order_ref", "sequence", "final", "lines"],
    "properties": {
        "shipment_id": TEXT,
        "order_ref": TEXT,
        "revision": {"type": "integer", "minimum": 1},
        "sequence": {"type": "integer", "minimum": 1},
        "final": {"type": "boolean"},
        "shipment_count": {"type": "integer", "minimum": 1},
        "shipped_at": DATETIME,
        "carrier": OPTIONAL_TEXT,
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "quantity"],
                "properties": {
                    "line_id": OPTIONAL_TEXT,
                    "sku": TEXT,
                    "quantity": QUANTITY,
                    "lots": {"type": "array", "items": LOT},
                    "serials": SERIALS,
                },
            },
        },
        "packages": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["package_ref"],
                "properties": {
                    "package_ref": TEXT,
                    "weight_kg": {"type": ["number", "null"], "minimum": 0},
                    "tracking_number": OPTIONAL_TEXT,
                    "carrier": OPTIONAL_TEXT,
                    "contents": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["sku", "quantity"],
                            "properties": {
                                "sku": TEXT,
                                "quantity": POSITIVE,
                                "lot": OPTIONAL_TEXT,
                            },
                        },
                    },
                },
            },
        },
    },
    # the last shipment of an order says how many there were
    "if": {"properties": {"final": {"const": True}}},
    "then": {"required": ["shipment_count"]},
}

RECEIPT_DATA = {
    "type": "object",
    "required": ["receipt_id", "receipt_ref", "sequence", "final", "lines"],
    "properties": {
        "receipt_id": TEXT,
        "receipt_ref": TEXT,
        "sequence": {"type": "integer", "minimum": 1},
        "final": {"type": "boolean"},
        "received_at": DATETIME,
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "quantity_received"],
                "properties": {
                    "line_id": OPTIONAL_TEXT,
                    "sku": TEXT,
                    "quantity_received": QUANTITY,
                    "quantity_rejected": QUANTITY,
                    "reject_reason": OPTIONAL_TEXT,
                    "lots": {"type": "array", "items": LOT},
                    "serials": SERIALS,
                },
            },
        },
    },
}

ORDER_STATUSES = (
    "received",
    "acknowledged",
    "picking",
    "picked",
    "cancelled",
    "cancel_refused",
    "refused",
)
ORDER_STATUS_DATA = {
    "type": "object",
    "required": ["order_ref", "status"],
    "properties": {
        "order_ref": TEXT,
        "kind": {"enum": ["outbound", "inbound"]},
        "status": {"enum": list(ORDER_STATUSES)},
        "revision": {"type": "integer", "minimum": 1},
        "reason": OPTIONAL_TEXT,
    },
}

SNAPSHOT_DATA = {
    "type": "object",
    "required": ["snapshot_id", "as_of", "line_count", "checksum", "lines"],
    "properties": {
        "snapshot_id": TEXT,
        "as_of": DATETIME,
        "line_count": {"type": "integer", "minimum": 0},
        "checksum": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "quantity"],
                "properties": {
                    "sku": TEXT,
                    "lot": OPTIONAL_TEXT,
                    "location": OPTIONAL_TEXT,
                    "quantity": {"type": "number"},
                },
            },
        },
    },
}

INBOUND_SCHEMAS = {
    "wms.shipment": _envelope("shipment.confirmed", SHIPMENT_DATA),
    "wms.receipt_confirmed": _envelope("receipt.confirmed", RECEIPT_DATA),
    "wms.order_status": _envelope("order.status", ORDER_STATUS_DATA),
    "wms.snapshot": _envelope("stock.snapshot", SNAPSHOT_DATA),
}

# -- what Odoo sends -----------------------------------------------------------
ADDRESS = {
    "type": "object",
    "required": ["name"],
    "properties": {
        key: OPTIONAL_TEXT
        for key in (
            "name",
            "street",
            "street2",
            "zip",
            "city",
            "state",
            "country",
            "phone",
            "email",
        )
    },
}
ORDER_LINE = {
    "type": "object",
    "required": ["line_id", "sku", "quantity", "uom", "tracking"],
    "properties": {
        "line_id": TEXT,
        "sku": TEXT,
        "name": OPTIONAL_TEXT,
        "quantity": POSITIVE,
        "uom": TEXT,
        "tracking": {"enum": ["none", "lot", "serial"]},
    },
}
RELEASE_BODY = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Release of an outbound order (Odoo -> WMS)",
    "type": "object",
    "required": ["order_ref", "revision", "reference", "ship_to", "lines"],
    "properties": {
        "order_ref": TEXT,
        "revision": {"type": "integer", "minimum": 1},
        "reference": TEXT,
        "origin": OPTIONAL_TEXT,
        "warehouse": OPTIONAL_TEXT,
        "ship_to": ADDRESS,
        "carrier": OPTIONAL_TEXT,
        "scheduled_date": {"anyOf": [DATETIME, {"type": "null"}]},
        "lines": {"type": "array", "minItems": 1, "items": ORDER_LINE},
    },
}
CANCEL_BODY = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Cancel request of an outbound order (Odoo -> WMS)",
    "type": "object",
    "required": ["order_ref"],
    "properties": {"order_ref": TEXT, "reason": OPTIONAL_TEXT},
}
RECEIPT_BODY = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Announcement of an inbound receipt (Odoo -> WMS)",
    "type": "object",
    "required": ["receipt_ref", "revision", "reference", "lines"],
    "properties": {
        "receipt_ref": TEXT,
        "revision": {"type": "integer", "minimum": 1},
        "reference": TEXT,
        "origin": OPTIONAL_TEXT,
        "warehouse": OPTIONAL_TEXT,
        "supplier": ADDRESS,
        "expected_date": {"anyOf": [DATETIME, {"type": "null"}]},
        "lines": {"type": "array", "minItems": 1, "items": ORDER_LINE},
    },
}
OUTBOUND_SCHEMAS = {
    "release": RELEASE_BODY,
    "cancel": CANCEL_BODY,
    "receipt": RECEIPT_BODY,
}
# The outbound message types carry the outbox's {"model", "ids"} payload; the
# body they send is checked against OUTBOUND_SCHEMAS before it leaves.
OUTBOX_PAYLOAD = {
    "type": "object",
    "required": ["model", "ids"],
    "properties": {
        "model": {"type": "string"},
        "ids": {"type": "array", "items": {"type": "integer"}},
        "keys": {"type": "object"},
    },
}
# A cancel asked in Odoo (the outbound message; its body is CANCEL_BODY)
CANCEL_REQUEST = {
    "type": "object",
    "required": ["picking_id", "order_ref"],
    "properties": {
        "picking_id": {"type": "integer"},
        "order_ref": {"type": "string", "minLength": 1},
        "reason": {"type": ["string", "null"]},
        "previous_state": {"type": ["string", "null"]},
    },
}
MESSAGE_TYPE_SCHEMAS = {
    **INBOUND_SCHEMAS,
    "wms.release": OUTBOX_PAYLOAD,
    "wms.cancel": CANCEL_REQUEST,
    "wms.receipt": OUTBOX_PAYLOAD,
}


def schema_text(code):
    """The schema of message type ``code`` as the JSON text Odoo stores."""
    return json.dumps(MESSAGE_TYPE_SCHEMAS[code], indent=2, sort_keys=True)
