from . import integration_backend
from . import integration_sync_rule
from . import integration_message_type
from . import integration_message
from . import integration_binding
from . import integration_value_map
from . import integration_document_mixin
from . import res_partner
