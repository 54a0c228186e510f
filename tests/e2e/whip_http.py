"""The HTTP half of WHIP and WHEP for the test scripts beside this file: an
SDP offer POSTed (or a session DELETEd) over HTTPS, trusting only the
server's generated authority, with the access key as a bearer token."""

import ssl
import urllib.request


def request(method, url, ca, key, body=None):
    """Returns (status, Location, body text)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if body is not None:
        headers["Content-Type"] = "application/sdp"
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    ctx = ssl.create_default_context(cafile=ca)
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return resp.status, resp.headers.get("Location"), resp.read().decode()
