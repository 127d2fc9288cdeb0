"""One TLS client context per process, shared by every vendor client.

httpx builds a context per client and loads certifi's CA bundle into it: ~16 ms per client
(measured), before any request. Vendor clients are many and short-lived (one or two per step and
vendor, hundreds in the test suite); an SSL context is safe to share between them and between
threads. The context is httpx's own default (certificate and host name checks against certifi's
bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR` where set), read from the environment once, when the
process makes its first client.
"""

from __future__ import annotations

import functools
import ssl

import httpx


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying client context, built once per process."""
    return httpx.create_ssl_context()
