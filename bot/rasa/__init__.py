"""Everything that subclasses, patches or launches Rasa; the rest of `bot` runs without it."""
