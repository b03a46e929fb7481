"""Simulated bank JSON API (accounts, booked transactions with a cursor)."""

from .system import BankSystem
