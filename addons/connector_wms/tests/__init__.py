from . import test_contract
from . import test_release
from . import test_shipment
from . import test_cancel_receipt
from . import test_snapshot_poll
from . import test_business_signals
from . import test_trace
from . import test_concurrent_confirmations
