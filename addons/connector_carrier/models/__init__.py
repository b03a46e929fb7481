from . import integration_backend
from . import delivery_carrier
from . import carrier_shipment
from . import carrier_tracking_event
from . import stock_picking
from . import stock_quant_package
from . import sale_order
