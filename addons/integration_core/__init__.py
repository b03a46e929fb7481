from . import tools
from . import exceptions
from . import models
from . import controllers
from . import wizards
