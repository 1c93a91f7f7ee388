"""`python -m bot.rasa.action_server`: rasa-sdk's action server, answering only callers that know the shared secret.

rasa-sdk's own `rasa run actions` has no authentication and listens on every
interface. This entry serves the same app (rasa_sdk.endpoint.create_app) on
BIND_HOST (loopback unless set) and answers 401 to any request but /health
without the header X-Action-Server-Token carrying ACTION_SERVER_TOKEN. Rasa
sends that header from the action endpoint's `headers:` in endpoints.yml and
endpoints.production.yml. Every launcher starts the action server through
this module (bot/launch/commands.py, deploy/).

Without ACTION_SERVER_TOKEN a random secret is created once in
var/keys/action-server-token (owner-only), which the Rasa server entry
(bot/rasa/server.py) reads too: no secret is ever in the code.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import re
import secrets
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple

from bot.settings import Settings

if TYPE_CHECKING:
    from sanic import HTTPResponse, Request, Sanic

HEADER = "X-Action-Server-Token"
TOKEN_ENV = "ACTION_SERVER_TOKEN"
OPEN_PATHS = ("/health",)
# Safe inside an HTTP header, a YAML scalar, an nginx string and a shell word.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9._+/=-]{32,512}")
MAX_REQUEST_BYTES = 16 * 1024 * 1024  # Rasa sends the whole tracker; a long conversation's is several hundred KB

log = logging.getLogger("bot.rasa.action_server")  # also when run as __main__


class TokenError(ValueError):
    """ACTION_SERVER_TOKEN cannot be used."""


def token_file(var_dir: Path) -> Path:
    return var_dir / "keys" / "action-server-token"


def shared_token(settings: Settings) -> str:
    """ACTION_SERVER_TOKEN if set (validated), else the var directory's generated secret (created once)."""
    if settings.action_server_token:
        if not TOKEN_PATTERN.fullmatch(settings.action_server_token):
            raise TokenError(
                f"{TOKEN_ENV} must be 32 to 512 characters of A-Z a-z 0-9 . _ + / = -, " "e.g. `openssl rand -hex 32`"
            )
        if "change-me" in settings.action_server_token.lower():
            raise TokenError(f"{TOKEN_ENV} is still the example's placeholder: set a secret of your own")
        return settings.action_server_token
    path = token_file(settings.var_dir)
    if not path.exists():
        _create_once(path, secrets.token_hex(32))
    token = path.read_text(encoding="ascii").strip()
    if not TOKEN_PATTERN.fullmatch(token):
        raise TokenError(f"{path} does not hold a usable token; delete it to have a new one generated")
    return token


def _create_once(path: Path, token: str) -> None:
    """Writes `token` to `path` unless another process got there first; readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(token + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, path)  # atomic, and fails if the file exists
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)


def authorised(given: Optional[str], token: str) -> bool:
    """Constant-time comparison of the request's header with the shared secret."""
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


class RefusalLog:
    """Logs refused requests: at most one line per client address a minute, then a count of the rest."""

    MAX_ADDRESSES = 10_000

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.clock = every, clock
        self.last: Dict[str, Tuple[float, int]] = {}  # address -> (time of its last line, refusals since)

    def refused(self, method: str, path: str, address: str) -> None:
        now = self.clock()
        since, count = self.last.get(address, (None, 0))
        if since is not None and now - since < self.every:
            self.last[address] = (since, count + 1)
            return
        if len(self.last) >= self.MAX_ADDRESSES:
            self.last.clear()
        more = f" ({count} more from there since the last such line)" if count else ""
        log.warning("refused %s %s from %s: %s header missing or wrong%s", method, path[:200], address, HEADER, more)
        self.last[address] = (now, 0)


def create_app(token: str, actions_package: str = "actions") -> "Sanic":
    """rasa-sdk's action server app, with no CORS and every route but /health behind the shared secret."""
    from rasa_sdk.endpoint import create_app as create_sdk_app
    from sanic import response

    if not TOKEN_PATTERN.fullmatch(token):
        raise TokenError("the action server's token is missing or malformed")
    app = create_sdk_app(actions_package, cors_origins=None)  # Rasa calls it server to server
    app.config.REQUEST_MAX_SIZE = MAX_REQUEST_BYTES
    refusals = RefusalLog()

    @app.on_request
    async def require_token(request: "Request") -> Optional["HTTPResponse"]:
        if request.path in OPEN_PATHS or authorised(request.headers.get(HEADER), token):
            return None
        refusals.refused(request.method, request.path, request.ip)
        return response.json({"error": "unauthorized"}, status=401)

    return app


def warn_if_draft_materials(settings: Settings) -> None:
    """One warning at start while the claim-materials script the actions answer with is an unreviewed draft."""
    from bot import materials

    warning = materials.load(settings.materials_file).draft_warning()
    if warning:
        log.warning(warning)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot.rasa.action_server",
        description="Run the action server (rasa-sdk) behind the shared secret.",
    )
    parser.add_argument("--host", default=None, help="address to listen on (default: BIND_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--actions", default="actions", help="package with the actions")
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    from bot.logs import LoggingSetupError, configure_logging

    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    try:
        configure_logging("actions", settings)
        token = shared_token(settings)
    except (LoggingSetupError, TokenError) as exc:
        print(f"The action server cannot start: {exc}\n动作服务器无法启动：配置有误（见上）。", file=sys.stderr)
        return 2
    from rasa_sdk.plugin import plugin_manager
    from rasa_sdk.utils import number_of_sanic_workers

    app = create_app(token, args.actions)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    warn_if_draft_materials(settings)
    host = args.host or settings.bind_host
    log.info("action server listening on http://%s:%d (every route but /health needs %s)", host, args.port, HEADER)
    app.run(host=host, port=args.port, workers=number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
