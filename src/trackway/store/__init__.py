"""Tables, migrations, queries and the write path (SQLite and PostgreSQL)."""
