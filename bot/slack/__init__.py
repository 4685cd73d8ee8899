"""The Slack front, both ways: in, bolt listeners that ack, hand off to ``Andon`` and render the
answer; out, the Web API calls the courier makes (``web.py``, ``calls.py``) and the Home tabs."""
