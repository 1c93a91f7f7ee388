"""Starts the assistant's servers: the embedded default and the production topology on one machine."""
