"""Apply the Alembic migrations shipped inside the package."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from trackway.store.database import normalise_url

MIGRATIONS = Path(__file__).parent / "migrations"
# The PostgreSQL advisory lock a migration holds: any fixed number, the
# same in every Trackway process.
MIGRATION_LOCK = 0x7472_6163_6B77


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", normalise_url(url).replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Bring the database at `url` to the latest schema."""
    command.upgrade(alembic_config(url), "head")
