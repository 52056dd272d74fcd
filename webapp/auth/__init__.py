"""Signing in: flask-login's user loader, the session cookie, role gates for views, and the
pages for passwords and API tokens. The people themselves are ``people``'s."""
