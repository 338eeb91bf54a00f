"""`python -m bot.metrics.probe [URL]`: exit 0 if a /healthz answers 200 (a container health check).

The URL defaults to STUDYBOT_HEALTH_URL, else the bot's http://127.0.0.1:9464/healthz.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request

DEFAULT_URL = "http://127.0.0.1:9464/healthz"
TIMEOUT_S = 4.0


def probe(url: str) -> int:
    """Return 0 if `url` answers 200, else 1 (and say why on stderr)."""
    if not url.startswith(("http://", "https://")):
        print(f"health check: not an http URL: {url}", file=sys.stderr)
        return 1
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:  # noqa: S310 - http(s) only
            return 0 if response.status == 200 else 1
    except urllib.error.HTTPError as e:
        print(
            f"health check: {url} answered {e.code}: {e.read().decode(errors='replace')}",
            file=sys.stderr,
        )
    except (urllib.error.URLError, OSError) as e:
        print(f"health check: {url}: {e}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(
        probe(
            sys.argv[1] if len(sys.argv) > 1 else os.environ.get("STUDYBOT_HEALTH_URL", DEFAULT_URL)
        )
    )
