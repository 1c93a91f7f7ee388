"""The production topology on one machine: nginx, Rasa replicas, action-server workers, desk, analytics consumer."""
