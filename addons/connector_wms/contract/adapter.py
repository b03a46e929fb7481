"""The one replaceable place between the contract and a warehouse's API.

The connector never builds a URL or reads an answer itself: it asks the
backend's adapter. :class:`ContractAdapter` speaks the WMS contract as
``CONTRACT.md`` writes it. A 3PL with its own API (ShipBob, ...) gets a
subclass that maps requests, answers and webhooks to and from the
contract's shapes, registered with :func:`register_adapter`; the rest of
the connector (Odoo side) does not change.

A request is ``Request(method, path, json, params)``; an outcome is a plain
dict with a ``status`` the connector acts on.
"""

from collections import namedtuple

Request = namedtuple("Request", "method path json params", defaults=(None, None))

_ADAPTERS = {}


def register_adapter(cls):
    """Class decorator: make ``cls`` selectable by its ``code``."""
    _ADAPTERS[cls.code] = cls
    return cls


def adapter_for(code):
    """An adapter instance for ``code`` (unknown codes: the contract's)."""
    return _ADAPTERS.get(code or "contract", ContractAdapter)()


def _error_text(answer):
    if isinstance(answer, dict):
        return answer.get("message") or answer.get("error") or ""
    return ""


@register_adapter
class ContractAdapter:
    """The WMS contract itself (identity mapping)."""

    code = "contract"
    label = "WMS contract v1"

    # -- calls Odoo makes ---------------------------------------------------------
    def info(self):
        return Request("GET", "")

    def release(self, body):
        return Request("POST", "outbound-orders", body)

    def cancel(self, body):
        return Request("POST", f"outbound-orders/{body['order_ref']}/cancel", body)

    def receipt(self, body):
        return Request("POST", "inbound-receipts", body)

    def events(self, cursor, limit):
        params = {"limit": limit}
        if cursor:
            params["after"] = cursor
        return Request("GET", "events", params=params)

    def snapshot_start(self):
        return Request("POST", "stock-snapshots", {})

    def snapshot_page(self, snapshot_id, cursor, page_size):
        params = {"page_size": page_size}
        if cursor:
            params["cursor"] = cursor
        return Request("GET", f"stock-snapshots/{snapshot_id}", params=params)

    # -- answers ------------------------------------------------------------------
    def release_outcome(self, status_code, answer):
        """``received`` (accepted at that revision), ``locked`` (the WMS
        refuses changes: already picked), ``stale`` (it holds a newer
        revision), ``refused`` (it refused the order, with a reason)."""
        answer = answer if isinstance(answer, dict) else {}
        if status_code in (200, 201, 202):
            return {"status": "received", "revision": answer.get("revision")}
        error = answer.get("error")
        if status_code == 409 and error == "order_locked":
            return {"status": "locked", "message": _error_text(answer)}
        if status_code == 409 and error == "stale_revision":
            return {"status": "stale", "revision": answer.get("revision")}
        return {
            "status": "refused",
            "message": _error_text(answer),
            "problems": answer.get("problems") or [],
        }

    def cancel_outcome(self, status_code, answer):
        """``cancelled``, ``refused`` (too late: picked or shipped), or
        ``pending`` (the WMS answers later with an order.status event)."""
        answer = answer if isinstance(answer, dict) else {}
        if status_code == 200 and answer.get("status") == "cancelled":
            return {"status": "cancelled"}
        if status_code == 404:
            # the WMS never had it: nothing to stop there
            return {"status": "cancelled", "unknown": True}
        if status_code == 202:
            return {"status": "pending"}
        return {
            "status": "refused",
            "wms_status": answer.get("status"),
            "message": _error_text(answer),
        }

    def receipt_outcome(self, status_code, answer):
        return self.release_outcome(status_code, answer)

    def events_page(self, answer):
        """``(events, next_cursor, has_more)`` of a page of the poll."""
        return (
            list(answer.get("events") or []),
            answer.get("next_cursor"),
            bool(answer.get("has_more")),
        )

    def snapshot_header(self, answer):
        """``{"snapshot_id", "as_of", "line_count", "checksum"}``."""
        return {
            key: answer.get(key)
            for key in ("snapshot_id", "as_of", "line_count", "checksum")
        }

    def snapshot_lines(self, answer):
        """``(lines, next_cursor)`` of a page of a pulled snapshot."""
        return list(answer.get("lines") or []), answer.get("next_cursor")

    # -- webhooks the WMS sends ------------------------------------------------------
    def inbound_event(self, body):
        """A webhook body as a contract event (identity here; a 3PL adapter
        turns its own webhook into the contract's envelope)."""
        return body
