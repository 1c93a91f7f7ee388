"""Complaint self-service assistant: domain and infrastructure, usable without Rasa."""
