"""Training the model with `rasa train` behind a progress view (`python -m bot model train`, `make train`)."""
