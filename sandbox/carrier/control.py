"""Drives one simulated carrier account from tests, benchmarks and demos:

    from sandbox.carrier.control import CarrierControl
    carrier = CarrierControl(sb, "demo")       # sb: a RunningSandbox/SandboxClient
    carrier.base_url                           # the backend's base URL (.../v2)
    carrier.advance("9400...", walk="delivered", signed_by="D. O'NEIL")

Everything goes through HTTP (no private access to the sandbox's state).
"""

from .system import DEFAULT_KEY


class CarrierControl:
    def __init__(self, client, account="demo"):
        self.client = client
        self.account = account
        self.base_url = f"{client.url}/carrier/{account}/v2"
        self.api_key = DEFAULT_KEY

    def _c(self, method, path="", **kw):
        return self.client._call(
            method, f"/_control/carrier/{self.account}{path}", **kw
        )

    def configure(self, **settings):
        state = self._c("PATCH", json=settings)
        self.api_key = state["api_key"]
        return state

    def state(self):
        return self._c("GET")

    def advance(self, tracking_code, **step):
        """One tracking step (status, status_detail, message, signed_by,
        datetime, location) or a walk (``walk=..., interval=...``)."""
        return self._c("POST", f"/trackers/{tracking_code}/advance", json=step)

    def refund_result(self, shipment_id, status):
        return self._c(
            "POST", f"/shipments/{shipment_id}/refund_result", json={"status": status}
        )

    def buy_timeouts(self, count=1, seconds=2.0):
        return self._c(
            "POST", "/buy_timeouts", json={"count": count, "seconds": seconds}
        )

    def lose_webhooks(self, count=1):
        return self._c("POST", "/webhooks/lose", json={"count": count})

    def events(self):
        return self._c("GET", "/events")["events"]

    def purchases(self):
        return self._c("GET", "/purchases")["purchases"]

    # the real API, as a connector calls it
    def api(self, method, path, **kw):
        return self.client.session.request(
            method,
            f"{self.base_url}/{path.lstrip('/')}",
            auth=(self.api_key, ""),
            timeout=kw.pop("timeout", 30),
            **kw,
        )
