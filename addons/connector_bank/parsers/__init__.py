from . import common
from . import camt053
from . import mt940
from .common import (
    Balance,
    Statement,
    StatementLine,
    StatementParseError,
    file_hash,
    line_import_key,
    parse_statement_file,
    statement_import_keys,
)
