"""Secrets come from environment variables and never appear in messages, logs or lineage."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from sources.connectors.errors import SourceConfigError

MASK = "***"
# Query parameters whose values are credentials in practice (api_key, access_token, sig...).
SECRET_PARAM = re.compile(r"token|key|secret|passw|pwd|sig|auth|credential|session", re.I)


def env_secret(name: str, source_system: str, what: str, env: Mapping[str, str] | None = None):
    """The value of environment variable `name`; a clear error naming it when unset or empty."""
    value = (os.environ if env is None else env).get(name, "")
    if not value.strip():
        raise SourceConfigError(
            f"source '{source_system}': environment variable {name} is not set; set it to {what}"
        )
    return value


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret (also in its URL-encoded forms) replaced by ***."""
    for secret in secrets:
        if not secret or len(secret) < 3:
            continue
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            text = text.replace(form, MASK)
    return text


def safe_url(url: str) -> str:
    """A URL fit for messages: no user:password, secret-looking query values masked."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port:
        host += f":{parts.port}"
    query = urlencode(
        [(k, MASK if SECRET_PARAM.search(k) else v) for k, v in parse_qsl(parts.query, True)],
        safe="*",
    )
    return urlunsplit((parts.scheme, host, parts.path, query, ""))
