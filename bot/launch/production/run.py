"""`make run-production`: checks, prepares, starts and supervises the topology until Ctrl-C (docs/production.md)."""

from __future__ import annotations

import os
import signal
from types import FrameType
from typing import Optional

from sqlalchemy.engine import make_url

from bot.launch.production.config import Config
from bot.launch.production.console import say
from bot.launch.production.preparation import preflight, prepare_databases
from bot.launch.production.supervisor import Topology


def summary(config: Config) -> str:
    database = make_url(config.database_url).render_as_string(hide_password=True)
    operator = f"DATABASE_URL={database} COMPLAINTS_VAR_DIR={config.var_dir} .venv/bin/python -m bot"
    replicas = f"(nginx → {len(config.rasa_ports)} Rasa replicas)"
    return f"""
The production topology is running (docs/production.md).
  Chat page (web/app):   http://127.0.0.1:{config.lb_port}/webhooks/web/     {replicas}
  REST channel:          http://127.0.0.1:{config.lb_port}/webhooks/rest/webhook
  Agent desk:            http://127.0.0.1:{config.desk_port}/
  Rasa HTTP API:         http://127.0.0.1:{config.lb_api_port}/   (internal; ?token=$RASA_TOKEN)
  Operator CLI:          {operator} agents add wang --name 王小明 | analytics show | tickets list
  Logs and state:        {config.log_dir}/, {config.run_dir / 'state.json'}
Processes that exit are started again; outages of PostgreSQL, Redis and RabbitMQ are reported here.
Press Ctrl-C to stop."""


def main() -> int:
    config = Config.from_env(os.environ)
    preflight(config)
    config = config.with_action_server_token()
    prepare_databases(config)
    topology = Topology(config)

    def stop(signum: int, _frame: Optional[FrameType]) -> None:
        topology.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        topology.start()
        if not topology.stopping:
            print(summary(config), flush=True)
            topology.run()
    finally:
        say("Stopping...")
        topology.stop()
    return 0
