"""gunicorn's settings for Special Fund: ``gunicorn -c gunicorn.conf.py`` (docs/operations.md,
"Production"). They live in the installed package, ``webapp.gunicorn_config``, where the
tests check them; copy this file to /etc/specialfund/ and override a setting below it for
one site, e.g. ``workers = 4``. The command line and ``GUNICORN_CMD_ARGS`` win over both.
"""

from webapp.gunicorn_config import (  # noqa: F401  (gunicorn reads these names)
    access_log_format,
    accesslog,
    bind,
    control_socket_disable,
    errorlog,
    graceful_timeout,
    keepalive,
    timeout,
    workers,
    wsgi_app,
)
