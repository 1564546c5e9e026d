"""Storage that fails to answer gives 503 with Retry-After, never a 500.

Each backend is broken its own way: SQLite loses a table; PostgreSQL turns
read-only (as a standby does after a failover) or refuses connections.
"""

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from harness import Api


def refuse_writes(api: Api) -> None:
    with api.database.write() as connection:
        if api.database.is_sqlite:
            connection.execute(text("DROP TABLE sessions"))
        else:
            name = make_url(api.database.url).database
            connection.execute(
                text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
            )
    api.database.engine.dispose()


def refuse_connections(api: Api) -> None:
    if api.database.is_sqlite:
        with api.database.write() as connection:
            connection.execute(text("DROP TABLE customers"))
        return
    _allow_connections(api, False)
    api.database.engine.dispose()


def allow_connections(api: Api) -> None:
    if not api.database.is_sqlite:
        _allow_connections(api, True)


def _allow_connections(api: Api, allowed: bool) -> None:
    # A database cannot close its own doors: ask from the server's other one.
    url = make_url(api.database.url)
    engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(
            text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS {allowed}')
        )
    engine.dispose()


def test_a_write_the_database_refuses_is_503_with_retry_after(api: Api) -> None:
    refuse_writes(api)

    response = api.post("/v1/tracking/event", {"name": "page-viewed"})

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    [error] = response.json()["errors"]
    assert (error["status"], error["code"]) == ("503", "unavailable")


def test_a_failed_write_keeps_nothing_of_its_transaction(api: Api) -> None:
    refuse_writes(api)
    body = {"trackingId": "v-1", "name": "page-viewed"}

    api.post("/v1/tracking/event", body)

    with api.database.read() as connection:
        visitors = connection.execute(text("SELECT count(*) FROM visitors"))
        assert visitors.scalar_one() == 0


def test_a_read_the_database_refuses_is_503(api: Api) -> None:
    refuse_connections(api)
    try:
        response = api.get("/v1/customers/6b11a02c0000000000000000")
    finally:
        allow_connections(api)

    assert response.status_code == 503
