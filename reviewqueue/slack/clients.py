from django.conf import settings

from reviewqueue.integrations.slack.client import SlackClient


def slack_client() -> SlackClient:
    return SlackClient(base_url=settings.SLACK_API_URL, token=settings.SLACK_BOT_TOKEN)


def slack_configured() -> bool:
    return bool(settings.SLACK_BOT_TOKEN)
