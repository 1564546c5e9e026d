"""A Trackway server for API tests: a fresh database, one org, its keys."""

from collections.abc import Iterator
from dataclasses import dataclass

from httpx2 import Response
from starlette.testclient import TestClient

from trackway.api.app import create_app
from trackway.domain import roles
from trackway.settings import Settings, load_settings
from trackway.store import accounts
from trackway.store.backpressure import Limits
from trackway.store.database import Database


@dataclass
class Api:
    """A test client on a migrated database, with one org and its keys."""

    client: TestClient
    database: Database
    settings: Settings
    org_id: str
    tracking_key: str
    read_key: str
    admin_key: str

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {key or self.admin_key}"}

    def post(self, path: str, body: object, key: str | None = None) -> Response:
        return self.client.post(path, json=body, headers=self.headers(key))

    def get(self, path: str, key: str | None = None) -> Response:
        return self.client.get(path, headers=self.headers(key))


def make_api(
    url: str, limits: Limits | None = None, **settings: object
) -> Iterator[Api]:
    """An `Api` on the migrated database at `url`; `limits` bound its
    writes as a server's are (default: unbounded)."""
    database = Database(url, limits=limits)
    org_id = accounts.create_org(database, "acme")
    config = load_settings({}, database_url=url, **settings)
    with TestClient(create_app(config, database)) as client:
        yield Api(
            client=client,
            database=database,
            settings=config,
            org_id=org_id,
            tracking_key=accounts.create_key(database, org_id, [roles.TRACKING]),
            read_key=accounts.create_key(
                database, org_id, [roles.CUSTOMER_READ, roles.EVENT_READ]
            ),
            admin_key=accounts.create_key(database, org_id, sorted(roles.ALL_ROLES)),
        )
    database.dispose()
