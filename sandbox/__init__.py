"""Sandbox service: speaks external systems' contracts for tests, demos, benchmarks.

The Odoo addons never import this package. See README.md.
"""

__version__ = "1.0.0"
