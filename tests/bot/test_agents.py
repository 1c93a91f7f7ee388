from datetime import timedelta

import pytest

from bot.agents import SESSION_LIFETIME, AccountError, AgentService, Role
from bot.models import Agent
from tests.bot.clocks import Clock


def test_password_is_stored_as_an_argon2_hash_and_login_works(db):
    service = AgentService(db)
    service.add("li", "李客服", "correct horse battery", Role.AGENT)
    with db.transaction() as session:
        stored = session.query(Agent).one().password_hash
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    login = service.login("li", "correct horse battery")
    assert login.agent.display_name == "李客服" and not login.agent.is_supervisor
    assert service.resolve(login.token).agent.username == "li"
    assert login.csrf_token != login.token


@pytest.mark.parametrize("username, password", [("li", "wrong password!"), ("nobody", "correct horse battery")])
def test_a_wrong_password_or_unknown_user_gets_no_session(db, username, password):
    AgentService(db).add("li", "李客服", "correct horse battery", Role.AGENT)
    assert AgentService(db).login(username, password) is None


def test_sessions_expire_and_end_at_logout_or_deactivation(db):
    clock = Clock()
    service = AgentService(db, clock)
    service.add("li", "李客服", "correct horse battery", Role.AGENT)
    first = service.login("li", "correct horse battery")
    clock.now += SESSION_LIFETIME + timedelta(seconds=1)
    assert service.resolve(first.token) is None
    second = service.login("li", "correct horse battery")
    service.logout(second.token)
    assert service.resolve(second.token) is None
    third = service.login("li", "correct horse battery")
    assert service.deactivate("li")
    assert service.resolve(third.token) is None
    assert service.login("li", "correct horse battery") is None


@pytest.mark.parametrize(
    "username, name, password, message",
    [
        ("Li Si", "李四", "long enough pw", "username"),
        ("lisi", "  ", "long enough pw", "display name"),
        ("lisi", "李四", "short", "password"),
    ],
)
def test_bad_account_details_are_refused(db, username, name, password, message):
    with pytest.raises(AccountError, match=message):
        AgentService(db).add(username, name, password, Role.AGENT)


def test_usernames_are_unique(db):
    AgentService(db).add("li", "李客服", "correct horse battery", Role.AGENT)
    with pytest.raises(AccountError, match="already exists"):
        AgentService(db).add("li", "另一个", "correct horse battery", Role.SUPERVISOR)


def test_an_agent_is_online_while_the_desk_is_open(db):
    clock = Clock()
    service = AgentService(db, clock)
    account = service.add("li", "李客服", "correct horse battery", Role.AGENT)
    assert service.online_count(timedelta(seconds=90)) == 0
    service.seen(account.id)
    assert service.online_count(timedelta(seconds=90)) == 1
    clock.now += timedelta(seconds=91)
    assert service.online_count(timedelta(seconds=90)) == 0


def test_a_trainer_is_neither_online_for_the_queue_nor_a_handler(db):
    service = AgentService(db)
    trainer = service.add("sun", "孙训练", "correct horse battery", Role.TRAINER)
    login = service.login("sun", "correct horse battery")
    assert login.agent.is_trainer and login.agent.may_review and not login.agent.is_supervisor
    assert service.online_count(timedelta(seconds=90)) == 0  # the login marked it seen
    agent = service.add("li", "李客服", "correct horse battery", Role.AGENT)
    assert [a.username for a in service.handlers()] == ["li"] and not agent.may_review
    assert {a.username for a in service.list()} == {"sun", "li"} and trainer.role is Role.TRAINER
