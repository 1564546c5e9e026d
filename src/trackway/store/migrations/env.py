"""Alembic environment: runs migrations on the URL the CLI passes in.

Servers on several machines may start, and migrate, at the same moment. On
PostgreSQL the migration transaction first takes an advisory lock, so the
others wait for it and then find the schema already current. SQLite's
write lock does the same there.
"""

from alembic import context
from sqlalchemy import create_engine, pool, text

from trackway.store.migrate import MIGRATION_LOCK
from trackway.store.tables import metadata

config = context.config


def run() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                lock = text("SELECT pg_advisory_xact_lock(:key)")
                connection.execute(lock, {"key": MIGRATION_LOCK})
            context.run_migrations()
    engine.dispose()


run()
