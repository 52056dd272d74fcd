"""Public disclosure (信息公开): pages and open data anyone may read without signing in."""

from webapp.public.routes import bp

__all__ = ["bp"]
