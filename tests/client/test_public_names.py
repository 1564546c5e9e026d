"""The client's public surface is deliberate: adding or removing a name
is a change of this test."""

import trackway.client

PUBLIC = {
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
}


def test_the_client_exports_exactly_its_public_names() -> None:
    assert set(trackway.client.__all__) == PUBLIC


def test_every_public_name_is_defined() -> None:
    missing = [n for n in PUBLIC if not hasattr(trackway.client, n)]

    assert missing == []


def test_the_exceptions_form_the_tree_the_module_docstring_draws() -> None:
    client = trackway.client
    parents = {
        client.ConfigurationError: client.TrackwayError,
        client.TransportError: client.TrackwayError,
        client.UnexpectedResponse: client.TrackwayError,
        client.ApiError: client.TrackwayError,
        client.BadRequest: client.ApiError,
        client.Unauthorized: client.ApiError,
        client.Forbidden: client.ApiError,
        client.NotFound: client.ApiError,
        client.Conflict: client.ApiError,
        client.RateLimited: client.ApiError,
        client.ServerError: client.ApiError,
    }

    found = {kind: kind.__bases__[0] for kind in parents}

    assert parents == found
    assert client.TrackwayError.__bases__ == (Exception,)


def test_the_client_imports_nothing_of_the_server() -> None:
    """It must run where only the client is wanted, against Kustomer too."""
    import ast
    from pathlib import Path

    folder = Path(trackway.client.__file__).parent
    imported = set()
    for module in folder.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)

    server = {m for m in imported if m.startswith("trackway.")}
    assert {m for m in server if not m.startswith("trackway.client")} == set()
