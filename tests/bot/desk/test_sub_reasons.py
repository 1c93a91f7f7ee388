"""A ticket's sub-reason is chosen from the taxonomy's list for its category, and keeps what it was classified with."""

from __future__ import annotations

import json
import re

from sqlalchemy import update

from bot.models import Ticket
from bot.tickets import CATEGORY_LABELS

UNKNOWN = "未知的细分原因，请从所选投诉类别的列表中选择"


def test_sub_reasons_come_from_the_taxonomy_of_the_ticket_category(desk) -> None:
    request_id = desk.handoff("conv-sub-reason", slots={"phone_number": "13812345678"})
    li = desk.agent("li")
    li.post(f"/api/handoffs/{request_id}/claim")
    base = f"/api/handoffs/{request_id}/ticket"
    ticket = li.post(
        base,
        json={
            "category": "claims",
            "complainant_name": "张三",
            "description": "理赔一个月没有结果",
            "customer_request": "尽快赔付",
        },
    ).json()

    page = li.get(f"/conversations/{request_id}").text
    assert '<select name="sub_reason">' in page
    listed = json.loads(re.search(r'<script type="application/json" id="sub-reasons">(.*?)</script>', page).group(1))
    assert set(listed) == set(CATEGORY_LABELS) and ["claim_timeliness", "理赔时效"] in listed["claims"]
    assert listed["claims"][0] == ["claim_result", "理赔结果（拒赔、赔付金额）"]  # the file's order

    for refused in ({"sub_reason": "理赔时效"}, {"sub_reason": "misleading_returns"}, {"sub_reason": "x" * 201}):
        answer = li.post(f"{base}/changes", json=refused)  # a label, another category's code, too long
        assert answer.status_code == 400, refused
    assert li.post(f"{base}/changes", json={"sub_reason": "made_up"}).json()["error"] == UNKNOWN

    chosen = li.post(f"{base}/changes", json={"sub_reason": "claim_timeliness"}).json()
    assert chosen["sub_reason"] == "claim_timeliness"
    moved = li.post(f"{base}/changes", json={"category": "sales", "sub_reason": "misleading_returns"}).json()
    assert (moved["category"], moved["sub_reason"]) == ("sales", "misleading_returns")
    assert li.post(f"{base}/changes", json={"sub_reason": ""}).json()["sub_reason"] == ""

    # A code the taxonomy file has since dropped: kept while the ticket keeps its category, never chosen anew.
    with desk.db.transaction() as session:
        session.execute(
            update(Ticket).where(Ticket.ticket_no == ticket["ticket_no"]).values(sub_reason="retired_reason")
        )
    kept = li.post(f"{base}/changes", json={"status": "investigating", "sub_reason": "retired_reason"}).json()
    assert (kept["status"], kept["sub_reason"]) == ("investigating", "retired_reason")
    elsewhere = li.post(f"{base}/changes", json={"category": "claims", "sub_reason": "retired_reason"})
    assert elsewhere.status_code == 400 and elsewhere.json()["error"] == UNKNOWN
