from .system import CarrierSystem

__all__ = ["CarrierSystem"]
