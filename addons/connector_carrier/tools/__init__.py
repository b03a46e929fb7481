from . import easypost
