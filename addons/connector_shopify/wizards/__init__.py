from . import integration_value_map_create
