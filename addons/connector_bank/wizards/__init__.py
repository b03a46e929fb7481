from . import bank_statement_upload
from . import integration_value_map_create
