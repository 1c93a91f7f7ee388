"""The agent desk: a web application where human agents take over escalated conversations."""
