"""`python -m bot.launch embedded` (scripts/run) or `python -m bot.launch production` (scripts/run-production)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import List, Optional

from bot.launch import embedded
from bot.launch.production import run as production
from bot.launch.production.nginx import COMPOSE_NGINX, render_nginx_config


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.launch", description="Starts the assistant's servers.")
    modes = parser.add_subparsers(dest="mode", required=True)
    modes.add_parser("embedded", help="the embedded default on SQLite (make run); configuration: README")
    topology = modes.add_parser(
        "production", help="the production topology on one machine (make run-production); docs/production.md"
    )
    topology.add_argument(
        "--compose-nginx",
        action="store_true",
        help="print the compose file's load-balancer configuration (deploy/nginx/nginx.conf) and exit",
    )
    args = parser.parse_args(argv)
    if args.mode == "embedded":
        return embedded.main(os.environ)
    if args.compose_nginx:
        print(render_nginx_config(COMPOSE_NGINX), end="")
        return 0
    return production.main()


if __name__ == "__main__":
    sys.exit(main())
