"""A Python client for Trackway and for Kustomer's Tracking API.

```python
from trackway.client import Client, Event, Identity

with Client() as client:  # TRACKWAY_URL and TRACKWAY_KEY
    record = client.identity_event(
        Identity(email="jane@example.com"), Event(name="checkout-started")
    )
    for event in client.timeline(record.customer_id):
        print(event.published_at, event.name)
```

Every call but `timeline` exists at Kustomer too, so the same code runs
against `https://api.kustomerapp.com` with a Kustomer key. Tracking calls
send an `Idempotency-Key` (one per call, the same on each retry).

Exceptions:

    TrackwayError
    ├── ConfigurationError      no API key given
    ├── TransportError          no answer, on every try (.request)
    ├── UnexpectedResponse      a 2xx answer that cannot be read
    └── ApiError                a non-2xx answer: .status .code .detail
        │                       .pointer .problems .request .response
        ├── BadRequest          400
        ├── Unauthorized        401
        ├── Forbidden           403
        ├── NotFound            404
        ├── Conflict            409
        ├── RateLimited         429 (.retry_after)
        └── ServerError         5xx

The client logs retries on the `trackway.client` logger (no URLs, keys or
bodies) and configures no handler.
"""

from trackway.client._async import AsyncClient
from trackway.client._calls import KUSTOMER_URL, UnexpectedResponse
from trackway.client._errors import (
    ApiError,
    BadRequest,
    ConfigurationError,
    Conflict,
    Forbidden,
    NotFound,
    Problem,
    RateLimited,
    ServerError,
    TrackwayError,
    TransportError,
    Unauthorized,
)
from trackway.client._models import (
    Customer,
    CustomerEvent,
    Email,
    Event,
    Identity,
    IdentityRecord,
    Location,
    Phone,
    Session,
    TrackedEvent,
)
from trackway.client._retry import Retry
from trackway.client._sync import Client

__all__ = [
    "KUSTOMER_URL",
    "ApiError",
    "AsyncClient",
    "BadRequest",
    "Client",
    "ConfigurationError",
    "Conflict",
    "Customer",
    "CustomerEvent",
    "Email",
    "Event",
    "Forbidden",
    "Identity",
    "IdentityRecord",
    "Location",
    "NotFound",
    "Phone",
    "Problem",
    "RateLimited",
    "Retry",
    "ServerError",
    "Session",
    "TrackedEvent",
    "TrackwayError",
    "TransportError",
    "Unauthorized",
    "UnexpectedResponse",
]
