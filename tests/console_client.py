"""A client of the console: the `api` server, driven as a browser would."""

import re
from dataclasses import dataclass

from httpx2 import Response

from harness import Api

TOKEN = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Console:
    """Sign-in, forms and pages of the console of `api`'s server."""

    api: Api

    def token(self, path: str = "/console/sign-in") -> str:
        """The form token that the page at `path` carries."""
        page = self.api.client.get(path)
        found = TOKEN.search(page.text)
        assert found is not None, page.text
        return found.group(1)

    def sign_in(self, key: str, next_page: str | None = None) -> Response:
        form = {"key": key, "csrf": self.token()}
        if next_page is not None:
            form["next"] = next_page
        return self.post("/console/sign-in", form)

    def sign_out(self) -> Response:
        return self.post("/console/sign-out", {"csrf": self.token("/console")})

    def post(self, path: str, form: dict[str, str]) -> Response:
        return self.api.client.post(path, data=form, follow_redirects=False)

    def get(self, path: str, **headers: str) -> Response:
        return self.api.client.get(path, headers=headers, follow_redirects=False)

    def signed_in(self) -> bool:
        return self.get("/console").status_code == 200
