from . import test_tools
from . import test_backend
from . import test_orders
from . import test_cancel_refund
from . import test_stock
from . import test_fulfillment
from . import test_faults
from . import test_conformance
