"""Test and benchmark helper: drives one simulated WMS warehouse over HTTP.

from sandbox.testing import RunningSandbox
from sandbox.wms.control import WmsControl

with RunningSandbox() as sb:
    wms = WmsControl(sb, "WH")
    wms.configure(webhook_url=..., webhook_secret=...)
    wms.ship("WH/OUT/00001", shipments=[...])
"""


class WmsControl:
    def __init__(self, client, warehouse="WH"):
        self.client = client
        self.warehouse = warehouse
        self.base_url = f"{client.url}/wms/{warehouse}"  # the backend's base URL
        self._ctl = f"/_control/wms/{warehouse}"

    def _c(self, method, path="", **kw):
        return self.client._call(method, f"{self._ctl}{path}", **kw)

    def configure(self, **settings):
        return self._c("PATCH", json=settings)

    def state(self):
        return self._c("GET")

    def products(self, **tracking_by_sku):
        body = {
            "products": [{"sku": s, "tracking": t} for s, t in tracking_by_sku.items()]
        }
        return self._c("POST", "/products", json=body)["products"]

    def set_stock(self, lines, replace=False, add=False):
        body = {"lines": lines, "replace": replace, "add": add}
        return self._c("POST", "/stock", json=body)["lines"]

    def stock(self):
        return self._c("GET", "/stock")["lines"]

    def order(self, ref):
        return self._c("GET", f"/orders/{ref}")["order"]

    def pick(self, ref):
        return self._c("POST", f"/orders/{ref}/pick")

    def ship(self, ref, **spec):
        return self._c("POST", f"/orders/{ref}/ship", json=spec)["events"]

    def receipt(self, ref):
        return self._c("GET", f"/receipts/{ref}")["receipt"]

    def receive(self, ref, **spec):
        return self._c("POST", f"/receipts/{ref}/receive", json=spec)["event"]

    def push_snapshot(self, **spec):
        return self._c("POST", "/snapshot", json=spec)["event"]

    def resend(self, event_id):
        return self._c("POST", f"/events/{event_id}/resend")["event"]
