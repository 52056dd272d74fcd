"""Beancount plugins that enforce the fund's rules on any Beancount file."""
