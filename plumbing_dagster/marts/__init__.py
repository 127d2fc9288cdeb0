"""Marts: business tables built from staging."""
