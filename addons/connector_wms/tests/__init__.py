from . import test_contract
from . import test_release
from . import test_shipment
