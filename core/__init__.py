"""Shared foundation: database base, money, errors, clock and translation helpers.

Nothing here knows about funds, grants or the web.
"""
