"""The cart on Flask + Flask-Session, configured from the environment (``cart_shape``).

SQLite and PostgreSQL use Flask-Session's ``sqlalchemy`` backend (Flask-SQLAlchemy; SQLite
in WAL mode with ``synchronous=NORMAL`` as kdeps' store, PostgreSQL through psycopg 3 in
the benchmark's schema), Redis its ``redis`` backend under the benchmark's key prefix.
``SESSION_REFRESH_EACH_REQUEST`` is off, so a view reads the session and writes nothing
(its default would rewrite the session on every request). ``app`` is the WSGI app.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, json, request, session
from flask_session import Session

from benchmarks.cart_shape import PATH, SESSION_SECONDS, Store, added, answer, store_from_env


def create_app(store: Store) -> Flask:
    """The cart on Flask-Session's backend for ``store``."""
    app = Flask(__name__)
    app.config.update(
        SESSION_PERMANENT=True,
        SESSION_REFRESH_EACH_REQUEST=False,
        PERMANENT_SESSION_LIFETIME=SESSION_SECONDS,
    )
    if store.kind == "redis":
        import redis

        app.config.update(
            SESSION_TYPE="redis",
            SESSION_REDIS=redis.Redis.from_url(store.target),
            SESSION_KEY_PREFIX=store.namespace,
        )
    else:
        app.config.update(SESSION_TYPE="sqlalchemy", **_sqlalchemy(app, store))
    Session(app)

    @app.route(PATH, methods=["GET", "POST"])
    def cart() -> Response:
        items = session.get("cart")
        if request.method == "POST":
            items = session["cart"] = added(items, request.get_data())
        return Response(json.dumps(answer(request.method, items)), mimetype="application/json")

    return app


def _sqlalchemy(app: Flask, store: Store) -> dict[str, Any]:
    """The Flask-Session settings of the ``sqlalchemy`` backend on ``store``."""
    from flask_sqlalchemy import SQLAlchemy
    from sqlalchemy import event

    if store.kind == "sqlite":
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{store.target}"
        schema = None
    else:
        app.config["SQLALCHEMY_DATABASE_URI"] = store.target.replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
        schema = store.namespace
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"pool_size": 16}
    database = SQLAlchemy(app)
    if store.kind == "sqlite":
        with app.app_context():
            event.listen(database.engine, "connect", _sqlite_pragmas)
    return {"SESSION_SQLALCHEMY": database, "SESSION_SQLALCHEMY_SCHEMA": schema}


def _sqlite_pragmas(connection: Any, record: Any) -> None:
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")


app = create_app(store_from_env())
