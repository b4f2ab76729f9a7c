"""python -m reviewqueue.sandbox.slack --port 8029 --state var/sandbox/slack.json --interactions-url URL

The bot token and signing secret are the sandbox's fixed local values unless SLACK_BOT_TOKEN /
SLACK_SIGNING_SECRET are set (both sides read the same variables).
"""

import argparse
import os
import sys

from reviewqueue.sandbox.server import serve_forever
from reviewqueue.sandbox.slack import defaults
from reviewqueue.sandbox.slack.app import Knobs, make_app


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reviewqueue.sandbox.slack", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=defaults.PORT)
    parser.add_argument("--state", help="JSON file the sandbox keeps its data in (default: memory only)")
    parser.add_argument(
        "--interactions-url", default="", help="the Slack app's interactivity URL: clicks go there, signed"
    )
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to each Web API call")
    args = parser.parse_args(argv)
    if args.latency < 0:
        parser.error("--latency must not be negative")
    app = make_app(
        state_path=args.state,
        bot_token=os.environ.get("SLACK_BOT_TOKEN") or defaults.BOT_TOKEN,
        signing_secret=os.environ.get("SLACK_SIGNING_SECRET") or defaults.SIGNING_SECRET,
        knobs=Knobs(latency=args.latency, interactions_url=args.interactions_url),
    )
    print(
        f"Slack sandbox on http://{args.host}:{args.port} (interactions to {args.interactions_url or 'nowhere'})",
        flush=True,
    )
    try:
        serve_forever(app, host=args.host, port=args.port)
    except OSError as error:
        print(f"cannot serve on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
