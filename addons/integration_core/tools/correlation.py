"""Correlation ids: one id follows an exchange through jobs, calls and logs.

While a message is processed, every log line written by any logger carries
``[corr=<id>]``; outbound calls send it in the ``X-Correlation-Id`` header.
The message being processed is known the same way (``processing_scope``), so
that the calls its handler makes are logged against it.
"""

import contextlib
import contextvars
import logging
import uuid

CORRELATION_HEADER = "X-Correlation-Id"
_current = contextvars.ContextVar("integration_correlation_id", default=None)
_scope = contextvars.ContextVar("integration_processing_scope", default=None)


def new_correlation_id():
    return uuid.uuid4().hex


def current_correlation_id():
    return _current.get()


@contextlib.contextmanager
def correlation_context(correlation_id):
    token = _current.set(correlation_id)
    try:
        yield correlation_id
    finally:
        _current.reset(token)


class ProcessingScope:
    """The message being processed and the call logs written meanwhile (kept
    so that a rolled-back handler's calls can be logged again)."""

    __slots__ = ("message_id", "call_logs")

    def __init__(self, message_id):
        self.message_id = message_id
        self.call_logs = []


def current_scope():
    return _scope.get()


@contextlib.contextmanager
def processing_scope(message_id):
    scope = ProcessingScope(message_id)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def _install_record_factory():
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_integration_correlation", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        correlation_id = _current.get()
        if correlation_id:
            record.msg = f"[corr={correlation_id}] {record.msg}"
        return record

    factory._integration_correlation = True
    logging.setLogRecordFactory(factory)


_install_record_factory()
