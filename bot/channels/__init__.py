"""Input and output channels: how policyholders reach the assistant."""
