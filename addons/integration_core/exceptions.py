"""Errors raised while processing a message, by what a person can do about them.

Each carries a one-line business message ("Shopify order #1042: SKU
'TSHIRT-RED-XL' is not mapped to a product") apart from the technical detail.
The message's processing turns them into states:

* ``ValidationFailed``, ``MappingError``, ``BusinessRuleError``: the message
  waits as *failed* for a person; nothing is retried blindly.
* ``TransientError``: retried with exponential backoff (or the remote's
  Retry-After) until the backend's attempts run out, then *dead*.
  ``ConcurrencyConflict`` is one of our own side (another job holds the same
  data): retried the same way, but it says nothing about the remote system's
  health, so it does not count as a failure of the backend.
* ``PermanentError``: *dead* at once (retrying cannot help).
* ``SkipMessage``: not applied on purpose (flow off, system of record is the
  other side, stale update): *ignored*, or a conflict for a person.
"""

CATEGORY_VALIDATION = "validation"
CATEGORY_MAPPING = "mapping"
CATEGORY_BUSINESS = "business"
CATEGORY_TRANSIENT = "transient"
CATEGORY_PERMANENT = "permanent"

ERROR_CATEGORIES = [
    (CATEGORY_VALIDATION, "Validation"),
    (CATEGORY_MAPPING, "Mapping"),
    (CATEGORY_BUSINESS, "Business rule"),
    (CATEGORY_TRANSIENT, "Transient technical"),
    (CATEGORY_PERMANENT, "Permanent technical"),
]


class IntegrationError(Exception):
    """Base class: ``message`` for people, ``detail`` for the technical log."""

    category = CATEGORY_PERMANENT
    # A failure that says something about the remote system (counted on the
    # backend's health); False for problems of our own side.
    remote_health = True

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.message = message
        self.detail = detail
        # Optional: the Odoo record the problem is about (a picking, an
        # order); the failed message links to it, so that the desk's *Open*
        # shows it although the handler's work was rolled back.
        self.records = None

    def about(self, records):
        """Name the record(s) the problem is about; returns the error."""
        self.records = records
        return self


class ValidationFailed(IntegrationError):
    category = CATEGORY_VALIDATION

    def __init__(self, message, violations=None, detail=None):
        self.violations = list(violations or [])
        if self.violations and not detail:
            detail = "\n".join(self.violations)
        super().__init__(message, detail)


class MappingError(IntegrationError):
    """An external code has no Odoo counterpart: names backend, kind and code."""

    category = CATEGORY_MAPPING

    def __init__(self, backend_name, kind, code, message=None, kind_label=None):
        self.backend_name = backend_name
        self.kind = kind
        self.code = code
        label = kind_label or kind
        super().__init__(
            message or f"{backend_name}: {label} '{code}' is not mapped",
            f"No value map on backend {backend_name!r} for kind {kind!r}, "
            f"code {code!r}, and no default.",
        )


class BusinessRuleError(IntegrationError):
    category = CATEGORY_BUSINESS


CONFLICT_RETRY_SECONDS = 2


class TransientError(IntegrationError):
    """Worth retrying later: network, 429, 5xx, a lock held by someone else."""

    category = CATEGORY_TRANSIENT

    def __init__(self, message, detail=None, retry_after=None):
        super().__init__(message, detail)
        self.retry_after = retry_after


class ConcurrencyConflict(TransientError):
    """Another job works on the same data right now (a lock, the same record
    made twice at once): retried soon; not a failure of the remote system.

    Soon is seconds (``CONFLICT_RETRY_SECONDS`` unless told), not the
    backend's backoff, which is meant for a remote that is down: the other
    transaction is done in about a second."""

    remote_health = False

    def __init__(self, message, detail=None, retry_after=None):
        super().__init__(
            message,
            detail,
            CONFLICT_RETRY_SECONDS if retry_after is None else retry_after,
        )


class PermanentError(IntegrationError):
    category = CATEGORY_PERMANENT


class AuthenticationFailed(PermanentError):
    """The remote refused our credentials (401/403): counts for the breaker."""


class CircuitOpen(PermanentError):
    """Calls to this backend are stopped until a manager fixes the credentials."""


class SkipMessage(Exception):
    """Not applied on purpose. ``conflict=True`` puts it before a person."""

    def __init__(self, reason, conflict=False):
        super().__init__(reason)
        self.reason = reason
        self.conflict = conflict
