"""Requests the security probe forged against the servers (issue 12), replayed by the exposure tests."""

# What the probe sent: the complaint action with nothing valid in it, from a
# conversation id that is a path and markup.
FORGED_SENDER = "../<script>"
FORGED_SUBMISSION = {
    "next_action": "action_submit_complaint",
    "sender_id": FORGED_SENDER,
    "version": "3.6.21",
    "domain": {},
    "tracker": {
        "sender_id": FORGED_SENDER,
        "slots": {
            "complaint_category": "not-a-category",
            "policy_number": None,
            "complainant_name": "<b>x</b>",
            "phone_number": "not-a-phone",
            "complaint_description": "forged",
            "customer_request": "forged",
            "complaint_confirmed": True,
        },
        "latest_message": {"text": "确认", "intent": {"name": "affirm", "confidence": 1.0}, "entities": []},
        "latest_event_time": 1.0,
        "followup_action": None,
        "paused": False,
        "events": [],
        "latest_input_channel": "rest",
        "active_loop": {},
        "latest_action": {"action_name": "action_listen"},
        "latest_action_name": "action_listen",
    },
}
