"""The migrations build exactly the schema that `tables.py` describes."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from trackway.store.database import normalise_url
from trackway.store.tables import metadata


def test_the_migrated_schema_matches_the_tables(database_url: str) -> None:
    engine = create_engine(normalise_url(database_url))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)

        differences = compare_metadata(context, metadata)

    engine.dispose()
    assert differences == []
