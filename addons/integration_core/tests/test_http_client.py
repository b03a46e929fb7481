"""The base outbound client against real HTTP: retries, Retry-After,
authentication failures, correlation header, secrets kept out of logs."""

import logging

import pytest
import requests

from ..exceptions import AuthenticationFailed, PermanentError, TransientError
from ..tools.correlation import correlation_context
from ..tools.http_client import IntegrationHttpClient
from .common import ScriptedPeer


def client(url, sleeps, **kw):
    return IntegrationHttpClient(
        url, sleep=sleeps.append, secrets=["tok-SECRET-123"], name="Peer", **kw
    )


def test_retries_5xx_then_succeeds():
    sleeps = []
    with ScriptedPeer([(503, "{}"), (502, "{}"), (200, '{"ok": true}')]) as peer:
        response = client(peer.url, sleeps).get("/x")
    assert response.json() == {"ok": True}
    assert len(peer.requests) == 3
    assert sleeps == [1.0, 2.0]


def test_429_honours_retry_after():
    sleeps = []
    with ScriptedPeer([(429, "{}", {"Retry-After": "3"}), (200, "{}")]) as peer:
        client(peer.url, sleeps).get("/x")
    assert sleeps == [3.0]


def test_retries_exhausted_is_transient_with_retry_after():
    sleeps = []
    with ScriptedPeer([(429, "{}", {"Retry-After": "5"})]) as peer:
        with pytest.raises(TransientError) as info:
            client(peer.url, sleeps, max_retries=2).get("/x")
    assert info.value.retry_after == 5.0
    assert "rate limited" in info.value.message
    assert len(peer.requests) == 3


def test_auth_failure_and_client_errors_are_not_retried():
    sleeps = []
    with ScriptedPeer([(401, '{"errors": "bad token tok-SECRET-123"}')]) as peer:
        with pytest.raises(AuthenticationFailed) as info:
            client(peer.url, sleeps).get("/x")
        assert len(peer.requests) == 1
    assert "tok-SECRET-123" not in info.value.detail
    with ScriptedPeer([(422, '{"errors": "bad"}')]) as peer:
        with pytest.raises(PermanentError):
            client(peer.url, sleeps).post("/x", json={})
        assert len(peer.requests) == 1


def test_timeout_is_transient():
    import time

    from werkzeug.wrappers import Response

    def slow(_request):
        time.sleep(1.5)
        return Response("{}")

    sleeps = []
    with ScriptedPeer([slow]) as peer:
        with pytest.raises(TransientError):
            client(peer.url, sleeps, timeout=0.3, max_retries=1).get("/slow")


def test_correlation_header_and_secrets_not_logged(caplog):
    sleeps = []
    caplog.set_level(logging.DEBUG, logger="odoo.addons.integration_core")
    with ScriptedPeer([(200, "{}")]) as peer:
        with correlation_context("corr-42"):
            client(
                peer.url, sleeps, headers={"X-Shopify-Access-Token": "tok-SECRET-123"}
            ).get("/x?token=tok-SECRET-123")
    assert peer.requests[0]["headers"]["X-Correlation-Id"] == "corr-42"
    assert "tok-SECRET-123" not in caplog.text
    assert "corr-42" in caplog.text


def test_connection_refused_is_transient():
    sleeps = []
    with pytest.raises(TransientError):
        client("http://127.0.0.1:9", sleeps, max_retries=1).get("/x")
    assert isinstance(requests.ConnectionError("x"), Exception)
