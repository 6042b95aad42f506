"""Store URLs in messages: the password of a URL is never shown."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

_USER_AND_PASSWORD = re.compile(r"^([^:/?#]+://[^:/?#@]*):[^@]*@")
"""``scheme://user:password@`` at the start of a URL that ``urlsplit`` cannot read."""
_PASSWORD_PARAMETER = re.compile(r"([?&]password=)[^&#]*")
"""A password given as a query parameter, as libpq accepts (``?password=…``)."""


def redacted(url: str) -> str:
    """``url`` with its password (after the user, or as a query parameter) as ``***``."""
    url = _PASSWORD_PARAMETER.sub(r"\1***", url)
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # a malformed host, such as an unclosed [IPv6 address
        return _USER_AND_PASSWORD.sub(r"\1:***@", url)
    if password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
