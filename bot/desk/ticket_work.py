"""Running one ticket action for an agent: who may, the checked body, the domain call, the answer.

Agents act on the tickets they own (claiming, notes and the phone number excepted),
supervisors on any; a ticket out of the agent's sight is answered like a missing one.
"""

from __future__ import annotations

from typing import Any, Callable, Dict

from bot.agents import AgentAccount
from bot.case_review import CaseReview
from bot.desk import ticket_forms as forms
from bot.desk.casefile import Conflict, Refused, TicketHidden, ticket, visible
from bot.desk.context import Desk
from bot.desk.fields import InvalidInput
from bot.lifecycle import LifecycleError, StaleTicket
from bot.ownership import OwnershipError
from bot.tickets import TicketNotFound

Work = Callable[[Desk, AgentAccount, str, Any], Any]


class Answer(Dict[str, Any]):
    """What an action answers itself; any other result is replaced by the ticket as the agent may see it."""


def _claim(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    try:
        return desk.ownership.claim(number, agent)
    except OwnershipError as exc:  # taken meanwhile, closed, or the agent is the one complained about
        raise Conflict(str(exc)) from exc


def _assign(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    """A supervisor gives the ticket to an agent, or back to the pool when no one is named."""
    assignee, why = forms.assignee(body), forms.reason(body, "分派原因")
    return desk.ownership.assign(number, assignee, why, forms.version(body), agent)


def _release(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return desk.ownership.release(number, forms.version(body), agent)


def _subject_staff(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return desk.ownership.set_subject_staff(number, forms.subject_staff(body), forms.version(body), agent)


def _advance(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    target, content = forms.step(body)
    return desk.lifecycle.advance(number, target, content, forms.version(body), agent)


def _record(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    """Step content saved as a draft, without moving the ticket."""
    content = forms.step_content_of(body)
    if not content:
        raise InvalidInput("没有需要保存的内容")
    return desk.lifecycle.record(number, content, forms.version(body), agent)


def _follow_up_question(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    """跟进: the complainant is asked on their own channel to rate the handling."""
    return desk.lifecycle.ask_follow_up(number, forms.version(body), agent)


def _withdraw(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return desk.lifecycle.withdraw(number, forms.version(body), agent, forms.reason(body, "撤诉原因"))


def _reopen(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return desk.lifecycle.reopen(number, forms.reason(body, "重新打开原因"), forms.version(body), agent)


def _mark_complex(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return desk.lifecycle.mark_complex(number, forms.reason(body, "复杂案件的理由"), forms.version(body), agent)


def _extension(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    """An agent asks; a supervisor's extension is granted at once."""
    days, why = forms.extension(body, desk.settings.max_extension_days)
    if agent.is_supervisor:
        return desk.lifecycle.approve_extension(number, forms.version(body), agent, days=days, reason=why)
    return desk.lifecycle.request_extension(number, days, why, forms.version(body), agent)


def _approve_extension(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return desk.lifecycle.approve_extension(number, forms.version(body), agent)


def _reject_extension(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return desk.lifecycle.reject_extension(number, forms.reason(body, "驳回理由"), forms.version(body), agent)


def _start_pause(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    kind, note = forms.pause(body)
    return desk.lifecycle.start_pause(number, kind, note, forms.version(body), agent)


def _end_pause(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return desk.lifecycle.end_pause(number, forms.version(body), agent)


def _add_note(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return desk.tickets.add_note(number, agent.username, forms.note(body))


def _reveal_phone(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return Answer(phone_number=desk.tickets.reveal_phone(number, agent.username))


def _call_attempt(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    outcome, note = forms.call_attempt(body)
    return desk.callbacks.record_attempt(number, outcome, note or "", forms.version(body), agent)


def _convert(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    """A complaint from the callback, owned by the agent; the page goes to it."""
    category, description, request = forms.conversion(body)
    complaint = desk.callbacks.convert(
        number, category, forms.version(body), agent, description=description, customer_request=request
    )
    return Answer(ticket_no=complaint["ticket_no"], url=f"/tickets/{complaint['ticket_no']}")


def _typical_case(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    """A supervisor marks a closed ticket as a typical case (典型案例) with its three texts."""
    situation, analysis, lessons = forms.typical_case(body)
    return CaseReview(desk.db).mark_typical(number, situation, analysis, lessons, agent.username)


def _untypical_case(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return CaseReview(desk.db).unmark_typical(number, agent.username)


def _malicious(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return CaseReview(desk.db).mark_malicious(number, forms.reason(body, "认定恶意投诉的理由"), agent.username)


def _unmalicious(desk: Desk, agent: AgentAccount, number: str, body: Any) -> Any:
    return CaseReview(desk.db).unmark_malicious(number, agent.username)


ACTIONS: Dict[str, Work] = {
    "claim": _claim,
    "assign": _assign,
    "release": _release,
    "subject_staff": _subject_staff,
    "advance": _advance,
    "record": _record,
    "follow_up_question": _follow_up_question,
    "withdraw": _withdraw,
    "reopen": _reopen,
    "mark_complex": _mark_complex,
    "extension": _extension,
    "approve_extension": _approve_extension,
    "reject_extension": _reject_extension,
    "start_pause": _start_pause,
    "end_pause": _end_pause,
    "add_note": _add_note,
    "call_attempt": _call_attempt,
    "convert": _convert,
    "reveal_phone": _reveal_phone,
    "typical_case": _typical_case,
    "untypical_case": _untypical_case,
    "malicious": _malicious,
    "unmalicious": _unmalicious,
}
# Anyone who may see the ticket may do these; the rest needs its owner or a supervisor.
WITHOUT_OWNING = {"claim", "add_note", "reveal_phone"}
SUPERVISORS_ONLY = {
    "assign",
    "reopen",
    "approve_extension",
    "reject_extension",
    "typical_case",
    "untypical_case",
    "malicious",
    "unmalicious",
}


def act(desk: Desk, agent: AgentAccount, number: str, action: str, body: Any) -> Dict[str, Any]:
    """Runs the action and answers the ticket as it is now (or what the action itself answers)."""
    owner = visible(desk, agent, number)["assignee"]
    if action in SUPERVISORS_ONLY and not agent.is_supervisor:
        raise Refused("仅主管可以执行该操作")
    if action not in WITHOUT_OWNING and not agent.is_supervisor and owner != agent.username:
        raise Refused("请先认领该工单" if owner is None else "该工单不由您负责")
    try:
        result = ACTIONS[action](desk, agent, number, body)
    except StaleTicket as exc:
        raise Conflict(str(exc)) from exc
    except LifecycleError as exc:
        raise InvalidInput(str(exc)) from exc
    except TicketNotFound as exc:
        raise TicketHidden(number) from exc
    if isinstance(result, Answer):
        return result
    try:
        return ticket(desk, agent, number)
    except TicketHidden:
        return {"ok": True, "url": "/tickets"}  # no longer the agent's to see
