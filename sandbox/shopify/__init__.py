"""Simulated Shopify (Admin GraphQL + REST, OAuth client credentials, webhooks)."""

from .system import ShopifySystem
