"""Storage that fails to answer gives 503 with Retry-After, never a 500."""

from sqlalchemy import text

from harness import Api


def test_a_write_the_database_refuses_is_503_with_retry_after(api: Api) -> None:
    with api.database.write() as connection:
        connection.execute(text("DROP TABLE sessions"))

    response = api.post("/v1/tracking/event", {"name": "page-viewed"})

    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    [error] = response.json()["errors"]
    assert (error["status"], error["code"]) == ("503", "unavailable")


def test_a_failed_write_keeps_nothing_of_its_transaction(api: Api) -> None:
    with api.database.write() as connection:
        connection.execute(text("DROP TABLE sessions"))
    body = {"trackingId": "v-1", "name": "page-viewed"}

    api.post("/v1/tracking/event", body)

    with api.database.read() as connection:
        visitors = connection.execute(text("SELECT count(*) FROM visitors"))
        assert visitors.scalar_one() == 0


def test_a_read_the_database_refuses_is_503(api: Api) -> None:
    with api.database.write() as connection:
        connection.execute(text("DROP TABLE customers"))

    response = api.get("/v1/customers/6b11a02c0000000000000000")

    assert response.status_code == 503
