"""The words of Andon: what people type and press, read into intents every front executes
alike, and the help that lists them."""
