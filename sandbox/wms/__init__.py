"""Simulated warehouse system speaking connector_wms's contract (CONTRACT.md)."""

from .system import WmsSystem
