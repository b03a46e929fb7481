from . import integration_message_assign
from . import integration_message_ignore
from . import integration_message_payload_edit
from . import integration_value_map_create
from . import integration_message_replay
from . import integration_trace
from . import integration_trace_step
