from . import parsers
