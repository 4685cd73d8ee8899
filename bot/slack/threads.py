"""Messages in channels the bot is in. Thread replies feed the five whys once it lands; until
then they are acknowledged so Slack does not retry them."""

from slack_bolt import App

from bot.andon import Andon


def register(app: App, andon: Andon) -> None:
    @app.event("message")
    def on_message() -> None:
        return None
