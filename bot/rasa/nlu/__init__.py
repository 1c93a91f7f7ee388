"""Chinese NLU: the project's spaCy pipeline and Rasa components."""
