"""Pages fetched over HTTP from a running server (the live server), as a browser would."""

import time
import urllib.error
import urllib.request


def get(url: str, cookie: str = "") -> tuple[int, str, dict, float]:
    """The status, body and headers of `url`; an error answer also says how long it took."""
    request = urllib.request.Request(  # noqa: S310 (the live server's http address)
        url, headers={"Cookie": cookie, "Accept-Language": "en"}
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, response.read().decode(), dict(response.headers), 0
    except urllib.error.HTTPError as error:
        body = error.read().decode()
        return error.code, body, dict(error.headers), time.monotonic() - started
