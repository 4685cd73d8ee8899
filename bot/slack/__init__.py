"""The Slack front: bolt listeners that ack, hand off to ``Andon`` and render the answer."""
