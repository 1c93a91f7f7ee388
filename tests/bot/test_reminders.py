"""The reminder pass: due-soon and overdue marks, alerts raised once, escalation, runners taking turns."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import func, select

from bot.alerts import AlertError, Alerts
from bot.lifecycle import Lifecycle
from bot.models import Alert, Ticket
from bot.reminders import ReminderPass, ReminderReport
from tests.bot.clocks import Clock
from tests.bot.races import at_once
from tests.bot.sample_tickets import AGENT_LI, AGENT_WANG, SUPERVISOR, shanghai, submit

NOW = shanghai(2026, 6, 20, 10)


def states(db):
    with db.transaction() as session:
        return dict(session.execute(select(Ticket.ticket_no, Ticket.due_state)).all())


def alert_keys(db):
    with db.transaction() as session:
        return sorted(session.execute(select(Alert.kind, Alert.dedupe_key)).all())


@pytest.fixture
def tickets(db, settings):
    return {
        "overdue": submit(db, settings, shanghai(2026, 6, 4, 9), {"assignee": "li"}),  # due 19 June
        "today": submit(db, settings, shanghai(2026, 6, 5, 23, 59)),  # due 20 June
        "soon": submit(db, settings, shanghai(2026, 6, 8, 0, 1), {"assignee": "wang"}),  # due 23 June
        "later": submit(db, settings, shanghai(2026, 6, 9, 9)),  # due 24 June: four days
        "closed": submit(db, settings, shanghai(2026, 5, 1, 9), {"status": "closed"}),
    }


def test_a_pass_marks_alerts_and_escalates(db, settings, tickets):
    report = ReminderPass(db, settings, clock=lambda: NOW).run_once()
    assert report == ReminderReport(due_soon=2, overdue=1, deadlines_moved=0)
    marked = states(db)
    assert marked[tickets["overdue"]] == "overdue" and marked[tickets["later"]] == "on_time"
    assert marked[tickets["today"]] == marked[tickets["soon"]] == "due_soon"
    assert marked[tickets["closed"]] == "on_time"
    alerts = Alerts(db).list(SUPERVISOR)
    assert {(a["kind"], a["ticket_no"]) for a in alerts} == {
        ("overdue", tickets["overdue"]),
        ("due_soon", tickets["today"]),
        ("due_soon", tickets["soon"]),
    }
    overdue = next(a for a in alerts if a["kind"] == "overdue")
    assert "已超过处理期限（2026-06-19）" in overdue["message"] and "已升级至主管" in overdue["message"]
    assert overdue["created_at"].endswith("+00:00")
    with db.transaction() as session:
        escalated = session.execute(select(Ticket.ticket_no).where(Ticket.escalated_at.isnot(None))).scalars().all()
    assert escalated == [tickets["overdue"]]
    # The next day: nothing new for tickets already marked, one ticket turns due soon.
    again = ReminderPass(db, settings, clock=lambda: NOW + timedelta(days=1)).run_once()
    assert again == ReminderReport(due_soon=1, overdue=1, deadlines_moved=0)  # "later" soon; "today" overdue
    assert len(alert_keys(db)) == 5


def test_several_runners_at_once_raise_each_alert_once(db, settings, tickets):
    runners = [ReminderPass(db, settings, clock=lambda: NOW, runner=f"replica-{i}") for i in range(4)]
    reports = at_once([runner.run_once for runner in runners])
    assert not [r for r in reports if isinstance(r, Exception)], reports
    done = [r for r in reports if r is not None]
    assert len(done) >= 1
    assert sum(r.due_soon + r.overdue for r in done) == 3
    assert len(alert_keys(db)) == 3
    # Runners that start after the first finished find nothing new either.
    for outcome in at_once([partial(runner.run_once) for runner in runners]):
        assert outcome is None or outcome == ReminderReport(0, 0, 0)
    assert len(alert_keys(db)) == 3


def test_an_extension_clears_the_mark_and_a_new_deadline_alerts_again(db, settings, tickets):
    clock = Clock(NOW)
    ReminderPass(db, settings, clock=clock).run_once()
    lifecycle = Lifecycle(db, settings, clock=clock)
    ticket = lifecycle.mark_complex(tickets["overdue"], "多方调查", 1, SUPERVISOR)  # due 4 July now
    ReminderPass(db, settings, clock=clock).run_once()
    assert states(db)[tickets["overdue"]] == "on_time"
    clock.advance(days=12)  # 2 July: due soon again, with its new deadline
    ReminderPass(db, settings, clock=clock).run_once()
    keys = [key for _, key in alert_keys(db) if key.split(":")[1] == str(ticket_id(db, tickets["overdue"]))]
    assert sorted(keys) == sorted(
        [
            f"overdue:{ticket_id(db, tickets['overdue'])}:2026-06-19",
            f"due_soon:{ticket_id(db, tickets['overdue'])}:2026-07-04",
        ]
    )
    assert ticket["deadline"] == "2026-07-04"


def ticket_id(db, ticket_no):
    with db.transaction() as session:
        return session.execute(select(Ticket.id).where(Ticket.ticket_no == ticket_no)).scalar_one()


def test_running_pauses_move_the_deadline_and_keep_the_ticket_on_time(db, settings, tickets):
    clock = Clock(shanghai(2026, 6, 15, 10))
    Lifecycle(db, settings, clock=clock).start_pause(tickets["overdue"], "appraisal", "伤残鉴定", 1, AGENT_LI)
    clock.advance(days=5)  # 20 June: 5 paused days, so due 24 June
    report = ReminderPass(db, settings, clock=clock).run_once()
    assert report.deadlines_moved == 1
    with db.transaction() as session:
        deadline = session.execute(select(Ticket.deadline).where(Ticket.ticket_no == tickets["overdue"])).scalar_one()
    assert deadline.isoformat() == "2026-06-24"
    assert states(db)[tickets["overdue"]] == "on_time"


def test_agents_see_alerts_on_their_tickets_supervisors_acknowledge(db, settings, tickets):
    ReminderPass(db, settings, clock=lambda: NOW).run_once()
    alerts = Alerts(db, clock=lambda: NOW)
    assert [a["ticket_no"] for a in alerts.list(AGENT_WANG)] == [tickets["soon"]]
    assert alerts.unacknowledged_count(SUPERVISOR) == 3 and alerts.unacknowledged_count(AGENT_LI) == 1
    first = alerts.list(SUPERVISOR)[-1]
    with pytest.raises(AlertError, match="只有主管可以确认提醒"):
        alerts.acknowledge(first["id"], AGENT_LI)
    assert alerts.acknowledge(first["id"], SUPERVISOR) is True
    assert alerts.acknowledge(first["id"], SUPERVISOR) is False
    assert alerts.unacknowledged_count(SUPERVISOR) == 2
    assert [a["id"] for a in alerts.list(SUPERVISOR, after_id=first["id"])] == sorted(
        a["id"] for a in alerts.list(SUPERVISOR) if a["id"] > first["id"]
    )
    with db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Alert)).scalar_one() == 3


def test_runners_whose_leases_overlap_still_raise_each_alert_once(db, settings, tickets, monkeypatch):
    # As when a runner's lease ran out while it was still working and another took it.
    monkeypatch.setattr("bot.leases.Lease.take", lambda self, now: True)
    runners = [ReminderPass(db, settings, clock=lambda: NOW, runner=f"replica-{i}") for i in range(4)]
    reports = at_once([runner.run_once for runner in runners])
    assert not [r for r in reports if isinstance(r, Exception)], reports
    assert alert_keys(db) == sorted(
        [
            ("due_soon", f"due_soon:{ticket_id(db, tickets['today'])}:2026-06-20"),
            ("due_soon", f"due_soon:{ticket_id(db, tickets['soon'])}:2026-06-23"),
            ("overdue", f"overdue:{ticket_id(db, tickets['overdue'])}:2026-06-19"),
        ]
    )


def test_operators_run_a_pass_from_the_cli(tmp_path, sqlite_db, settings):
    import json
    import os
    import subprocess
    import sys

    from bot.crypto import ENCRYPTION_KEYS_VARIABLE, HASH_KEY_VARIABLE
    from bot.settings import PROJECT_ROOT

    submit(sqlite_db, settings, shanghai(2020, 1, 1, 9))  # long overdue
    env = {
        "COMPLAINTS_VAR_DIR": str(tmp_path),
        "PATH": "/usr/bin:/bin",
        **{name: os.environ[name] for name in (ENCRYPTION_KEYS_VARIABLE, HASH_KEY_VARIABLE)},
    }
    run = subprocess.run(
        [sys.executable, "-m", "bot", "tickets", "remind"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"due_soon": 0, "overdue": 1, "deadlines_moved": 0}
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "tickets", "remind", "--every", "5s"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "at least one minute" in bad.stderr
