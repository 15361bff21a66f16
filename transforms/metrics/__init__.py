"""Adoption analytics."""
