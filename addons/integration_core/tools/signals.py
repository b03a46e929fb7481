"""Business signals of the Overview: what a connector declares, checked and
made ready for the count and for the list a click opens. Pure functions,
tested without the ORM.

A connector's ``_<type>_business_signals()`` returns a list of dicts:

``key``
    Stable name of the signal within the backend (``not_released``): the
    Overview's click asks for it again by this name.
``label``
    What the figure counts, in words, thresholds included ("delivery orders
    confirmed over 4 h ago, not released to the warehouse").
``model`` and ``domain``
    The records behind the figure. The core counts them (one
    ``search_count``, as superuser, within the backend's company) and a
    click opens exactly that domain, with the user's own rights.
``help`` (optional)
    A tooltip: what to do about them.
``context`` (optional)
    Extra context of the list a click opens (``search_default_*``,
    ``group_by``).
``views`` (optional)
    XML ids of the views of that list: ``{"list": ..., "form": ...,
    "search": ...}``; missing ones are the model's defaults.

A signal without ``model`` may give its ``count`` itself (the older form);
it is shown, but opens nothing.
"""

import datetime

SIGNAL_KEYS = ("key", "label", "model", "domain", "help", "context", "views", "count")
VIEW_TYPES = ("list", "form", "search")


def check_signal(signal):
    """The signal with its defaults, or ValueError naming what is wrong:
    a connector's mistake shows in its tests, not as a wrong figure."""
    if not isinstance(signal, dict):
        raise ValueError(f"a business signal is a dict, not {signal!r}")
    unknown = set(signal) - set(SIGNAL_KEYS)
    if unknown:
        raise ValueError(f"unknown keys in business signal: {sorted(unknown)}")
    if not signal.get("label"):
        raise ValueError(f"a business signal needs a label: {signal!r}")
    if signal.get("model"):
        if not signal.get("key"):
            raise ValueError(f"signal {signal['label']!r} with a model needs a key")
        if not isinstance(signal.get("domain", []), list):
            raise ValueError(f"the domain of signal {signal['key']!r} is a list")
        views = signal.get("views") or {}
        if not isinstance(views, dict) or set(views) - set(VIEW_TYPES):
            raise ValueError(
                f"the views of signal {signal['key']!r} are a dict of {VIEW_TYPES}"
            )
        if "count" in signal:
            raise ValueError(
                f"signal {signal['key']!r}: the core counts the domain; give "
                "either a model and a domain or a count"
            )
    elif "count" not in signal:
        raise ValueError(f"signal {signal['label']!r} needs a model or a count")
    return {
        "key": signal.get("key") or "",
        "label": str(signal["label"]),
        "model": signal.get("model") or False,
        "domain": list(signal.get("domain") or []),
        "help": signal.get("help") or "",
        "context": dict(signal.get("context") or {}),
        "views": dict(signal.get("views") or {}),
        **({"count": int(signal["count"])} if "count" in signal else {}),
    }


def _value(value):
    """A domain value as the web client's JSON carries it."""
    if isinstance(value, datetime.datetime):
        return value.replace(microsecond=0, tzinfo=None).isoformat(sep=" ")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_value(v) for v in value]
    return value


def client_domain(domain):
    """``domain`` with dates and datetimes as strings (UTC, as Odoo stores
    them) and tuples as lists: what an action returned to the browser can
    carry and the server reads back as the same domain."""
    result = []
    for term in domain:
        if isinstance(term, (list, tuple)) and len(term) == 3:
            result.append([term[0], term[1], _value(term[2])])
        else:
            result.append(term)
    return result


def company_scoped(domain, company_id, has_company_field):
    """The signal's domain within one company: each company's Overview
    counts only its own records."""
    if not has_company_field:
        return list(domain)
    return [("company_id", "=", company_id)] + list(domain)
