"""The complaint's category comes from its substance, and is asked when the evidence is weak."""

from actions.complaint import ValidateComplaintForm
from tests.actions.trackers import slot_events, tracker

HOSPITAL_DELAY = "我要投诉，住院报销材料交上去两个月了没消息，打了好几次客服热线都说在审核，太过分了"


async def validate(dispatcher, domain, text, new, intent="inform", events=None):
    """Runs the validation action as Rasa does after extracting `new` slot values this turn."""
    t = tracker(text, intent, slots=new, active_loop="complaint_form", events=events)
    t.events.extend({"event": "slot", "name": k, "value": v, "timestamp": 2.0} for k, v in new.items())
    return slot_events(await ValidateComplaintForm().run(dispatcher, t, domain))


async def test_a_hospital_claim_delay_that_mentions_the_hotline_is_a_claims_complaint(svc, dispatcher, domain):
    # NLU found 客服热线 and took it for the category.
    result = await validate(dispatcher, domain, HOSPITAL_DELAY, {"complaint_category": "counter_service"}, "complain")
    assert result["complaint_category"] == "claims"


async def test_weak_evidence_leaves_the_category_to_the_user(svc, dispatcher, domain):
    result = await validate(
        dispatcher, domain, "我要投诉，打电话一直没人接，气死了", {"complaint_category": "counter_service"}, "complain"
    )
    assert result["complaint_category"] is None  # the form asks, with the categories as buttons


async def test_a_later_answer_mentioning_the_hotline_keeps_the_category(svc, dispatcher, domain):
    before = [{"event": "slot", "name": "complaint_category", "value": "claims", "timestamp": 0.7}]
    result = await validate(
        dispatcher,
        domain,
        "打了三次客服电话都说在审核",
        {"requested_slot": "complaint_description", "complaint_category": "counter_service"},
        events=before,
    )
    assert result["complaint_category"] == "claims"


async def test_a_category_chosen_when_asked_is_taken(svc, dispatcher, domain):
    result = await validate(
        dispatcher, domain, "客服", {"requested_slot": "complaint_category", "complaint_category": "counter_service"}
    )
    assert result["complaint_category"] == "counter_service"
