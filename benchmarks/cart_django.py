"""The cart on Django sessions, configured from the environment (``cart_shape``).

SQLite and PostgreSQL use the ``db`` session engine (``django_session``, created by the
``sessions`` migration at import; SQLite in WAL mode with ``synchronous=NORMAL`` as
kdeps' store, PostgreSQL through psycopg 3 in the benchmark's schema); Redis uses the
``cache`` engine on ``django.core.cache.backends.redis.RedisCache`` under the
benchmark's key prefix. Connections are kept across requests (``CONN_MAX_AGE=None``);
the only middleware is ``SessionMiddleware``. ``application`` is the WSGI app,
``asgi`` the ASGI one.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import django
from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse
from django.urls import path

from benchmarks.cart_shape import PATH, SESSION_SECONDS, Store, added, answer, store_from_env


def _settings(store: Store) -> dict[str, Any]:
    """Django settings for the cart on ``store``."""
    common: dict[str, Any] = {
        "SECRET_KEY": "bench-only-" + "x" * 40,
        "ALLOWED_HOSTS": ["*"],
        "ROOT_URLCONF": __name__,
        "INSTALLED_APPS": ["django.contrib.sessions"],
        "MIDDLEWARE": ["django.contrib.sessions.middleware.SessionMiddleware"],
        "SESSION_COOKIE_AGE": SESSION_SECONDS,
        "USE_TZ": True,
        "DATABASES": {},
    }
    if store.kind == "redis":
        cache = {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": store.target,
            "KEY_PREFIX": store.namespace,
        }
        return {
            **common,
            "SESSION_ENGINE": "django.contrib.sessions.backends.cache",
            "CACHES": {"default": cache},
        }
    if store.kind == "sqlite":
        pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        database = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": store.target,
            "OPTIONS": {"init_command": pragmas},
        }
    else:
        url = urlsplit(store.target)
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": url.path.lstrip("/"),
            "HOST": url.hostname,
            "PORT": url.port or 5432,
            "USER": url.username or "",
            "OPTIONS": {"options": f"-c search_path={store.namespace}"},
        }
    database["CONN_MAX_AGE"] = None
    return {
        **common,
        "SESSION_ENGINE": "django.contrib.sessions.backends.db",
        "DATABASES": {"default": database},
    }


def cart(request: HttpRequest) -> HttpResponse:
    """The cart example's two routes on ``request.session``."""
    items = request.session.get("cart")
    if request.method == "POST":
        items = request.session["cart"] = added(items, request.body)
    body = json.dumps(answer(request.method or "GET", items)).encode()
    response = HttpResponse(body, content_type="application/json")
    response["Content-Length"] = str(len(body))  # else gunicorn answers chunked
    return response


STORE = store_from_env()
settings.configure(**_settings(STORE))
django.setup()
if STORE.kind != "redis":
    call_command("migrate", "sessions", verbosity=0)
urlpatterns = [path(PATH.lstrip("/"), cart)]
application = get_wsgi_application()
asgi = get_asgi_application()
