"""The web console at `/console`: customers, their sessions, live events.

Pages are rendered on the server from the Jinja2 templates beside this
file; the one script (static/console.js) shows times in the viewer's zone
and feeds the live page. Everything is read through `trackway.store`, and
nothing here writes to it.

`console_routes` gives the routes that `trackway.api.app` mounts.
"""

from trackway.console.routes import console_routes

__all__ = ["console_routes"]
