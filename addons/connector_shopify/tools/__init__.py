"""Plain-Python pieces of the Shopify connector (no ORM): money, dates,
order and refund mapping, GraphQL documents, Link pagination, stock plans."""

from . import money
from . import dates
from . import order_mapping
from . import refund_mapping
from . import graphql
from . import pagination
from . import stock
