"""Plain-Python mechanics shared by every connector (no ORM in here)."""

from . import signing
from . import redaction
from . import schema
from . import correlation
from . import backoff
from . import http_client
from . import signals
from . import batching
