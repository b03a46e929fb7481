from . import integration_backend
from . import integration_value_map
from . import integration_message
from . import bank_match_candidate
from . import bank_statement_importer
from . import bank_line_matcher
from . import account_bank_statement_line
from . import account_move
