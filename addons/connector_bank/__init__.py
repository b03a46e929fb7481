from . import parsers
from . import matching
from . import models
from . import wizards
