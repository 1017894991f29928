"""A PUT through a presigned URL, as an instance or a URL's holder sends it: (status, error body)."""

from __future__ import annotations

import urllib.error
import urllib.request


def put(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    # An explicit Content-Type: urllib's default form type would have the server parse the bytes as a form.
    request = urllib.request.Request(url, data=body, method="PUT",
                                     headers={"Content-Type": "application/octet-stream", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
