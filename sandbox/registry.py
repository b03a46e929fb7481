"""The one place where simulated systems are registered.

To add a system: create ``sandbox/<name>/`` with a ``System`` subclass
(see ``sandbox/core/system.py`` and README.md) and append it below.
"""


def system_classes():
    from .bank import BankSystem
    from .carrier import CarrierSystem
    from .shopify import ShopifySystem
    from .wms import WmsSystem

    return [
        ShopifySystem,
        BankSystem,
        WmsSystem,
        CarrierSystem,
    ]
