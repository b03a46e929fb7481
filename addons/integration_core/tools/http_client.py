"""The outbound HTTP client every connector builds on (``requests.Session``).

Timeouts on every call, retries on 429/5xx and connection errors honouring
``Retry-After``, a client-side rate limit per backend, the correlation id in a
header, and secrets kept out of the log. Errors come out as the core's
exception classes so that message processing knows whether to retry.
"""

import logging
import threading
import time

import requests

from ..exceptions import AuthenticationFailed, PermanentError, TransientError
from .backoff import parse_retry_after
from .correlation import CORRELATION_HEADER, current_correlation_id
from .redaction import redact_headers, redact_text

_logger = logging.getLogger(__name__)
RETRY_STATUSES = {429, 500, 502, 503, 504}


class RateLimiter:
    """Token bucket: ``rate`` calls per second with bursts of ``burst``."""

    def __init__(self, rate, burst=None, clock=time.monotonic, sleep=time.sleep):
        self.rate = float(rate)
        self.capacity = float(burst or max(rate, 1))
        self.tokens = self.capacity
        self.clock = clock
        self.sleep = sleep
        self.updated = clock()
        self.lock = threading.Lock()

    def acquire(self):
        """Take one token, waiting as long as needed; returns seconds waited."""
        if self.rate <= 0:
            return 0.0
        with self.lock:
            now = self.clock()
            self.tokens = min(
                self.capacity, self.tokens + (now - self.updated) * self.rate
            )
            self.updated = now
            wait = 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
            self.tokens -= 1
        if wait:
            self.sleep(wait)
        return wait


_limiters = {}
_limiters_lock = threading.Lock()


def shared_rate_limiter(key, rate):
    """One limiter per backend and process, shared by all its clients."""
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None or limiter.rate != float(rate):
            limiter = _limiters[key] = RateLimiter(rate)
        return limiter


def summarize_response(response, limit=2000):
    return f"HTTP {response.status_code} {response.reason}\n{response.text[:limit]}"


class IntegrationHttpClient:
    """HTTP calls to one backend. ``secrets`` are masked in every log line."""

    def __init__(
        self,
        base_url,
        *,
        timeout=30,
        max_retries=3,
        backoff_base=1.0,
        max_wait=60,
        rate_limiter=None,
        headers=None,
        secrets=(),
        session=None,
        sleep=time.sleep,
        name="backend",
    ):
        self.base_url = (base_url or "").rstrip("/")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.max_wait = max_wait
        self.rate_limiter = rate_limiter
        self.headers = dict(headers or {})
        self.secrets = [s for s in secrets if s]
        self.session = session or requests.Session()
        self.sleep = sleep
        self.name = name
        self.calls = 0

    def url(self, path):
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def _log(self, level, text, *args):
        _logger.log(level, redact_text(text % args if args else text, self.secrets))

    def request(self, method, path, *, expected=(200, 201, 202, 204), **kwargs):
        """Send a request; return the response or raise a core exception."""
        url = self.url(path)
        headers = {**self.headers, **kwargs.pop("headers", {})}
        correlation_id = current_correlation_id()
        if correlation_id:
            headers.setdefault(CORRELATION_HEADER, correlation_id)
        attempt = 0
        while True:
            attempt += 1
            if self.rate_limiter:
                self.rate_limiter.acquire()
            self.calls += 1
            started = time.monotonic()
            try:
                response = self.session.request(
                    method, url, headers=headers, timeout=self.timeout, **kwargs
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                self._log(
                    logging.WARNING,
                    "%s %s %s failed: %s",
                    self.name,
                    method,
                    url,
                    exc,
                )
                if attempt <= self.max_retries:
                    self.sleep(self._wait(attempt, None))
                    continue
                raise TransientError(
                    f"{self.name} could not be reached ({type(exc).__name__})",
                    redact_text(str(exc), self.secrets),
                ) from exc
            elapsed = time.monotonic() - started
            self._log(
                logging.DEBUG,
                "%s %s %s -> %s in %.3fs headers=%s",
                self.name,
                method,
                url,
                response.status_code,
                elapsed,
                redact_headers(headers),
            )
            status = response.status_code
            if (status < 400) if expected is None else (status in expected):
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            if status in RETRY_STATUSES:
                if attempt <= self.max_retries and (retry_after or 0) <= self.max_wait:
                    self._log(
                        logging.INFO,
                        "%s %s %s -> %s, retry %s/%s",
                        self.name,
                        method,
                        url,
                        status,
                        attempt,
                        self.max_retries,
                    )
                    self.sleep(self._wait(attempt, retry_after))
                    continue
                error = TransientError(
                    f"{self.name} answered HTTP {status} "
                    f"{'(rate limited)' if status == 429 else '(server error)'}",
                    redact_text(summarize_response(response), self.secrets),
                    retry_after=retry_after,
                )
            else:
                detail = redact_text(summarize_response(response), self.secrets)
                if status in (401, 403):
                    error = AuthenticationFailed(
                        f"{self.name} refused the credentials (HTTP {status})", detail
                    )
                else:
                    error = PermanentError(
                        f"{self.name} rejected the request (HTTP {status})", detail
                    )
            error.http_status = status  # for the call log
            raise error

    def _wait(self, attempt, retry_after):
        if retry_after is not None:
            return min(retry_after, self.max_wait)
        return min(self.backoff_base * 2 ** (attempt - 1), self.max_wait)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.request("POST", path, **kwargs)
