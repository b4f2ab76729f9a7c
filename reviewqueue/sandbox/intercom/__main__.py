"""python -m reviewqueue.sandbox.intercom --port 8026 --state var/sandbox/intercom.json --webhook-url URL

With --inbox-app-url, each conversation's page shows that Inbox app's panel (sandbox/intercom/inbox_app.py).

The access token and client secret are the sandbox's fixed local values unless
INTERCOM_ACCESS_TOKEN / INTERCOM_CLIENT_SECRET are set (both sides read the same variables).
"""

import argparse
import os
import sys

from reviewqueue.sandbox.intercom import defaults
from reviewqueue.sandbox.intercom.app import Knobs, make_app
from reviewqueue.sandbox.server import serve_forever


def _fraction(value: str) -> float:
    number = float(value)
    if not 0 <= number <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return number


def _non_negative(kind):
    def parse(value: str):
        number = kind(value)
        if number < 0:
            raise argparse.ArgumentTypeError("must not be negative")
        return number

    return parse


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reviewqueue.sandbox.intercom", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=defaults.PORT)
    parser.add_argument("--state", help="JSON file the sandbox keeps its data in (default: memory only)")
    parser.add_argument("--webhook-url", default="", help="where conversation changes are posted, signed")
    parser.add_argument(
        "--inbox-app-url",
        default="",
        help="an installed Inbox app's canvas URL (<url>/initialize, /submit), shown beside each conversation",
    )
    parser.add_argument("--rate", type=_non_negative(int), default=0, help="API calls per 10 s before 429 (0: none)")
    parser.add_argument("--latency", type=_non_negative(float), default=0.0, help="seconds added to each API call")
    parser.add_argument("--error-rate", type=_fraction, default=0.0, help="fraction of API calls answered 500")
    parser.add_argument(
        "--search-lag", type=_non_negative(float), default=0.0, help="seconds before a new contact shows in search"
    )
    parser.add_argument(
        "--plan-restricted", action="store_true", help="answer 403 api_plan_restricted on the conversation endpoints"
    )
    parser.add_argument(
        "--webhook-duplicates", type=_fraction, default=0.0, help="fraction of webhooks delivered twice"
    )
    parser.add_argument(
        "--webhook-reorder", type=_fraction, default=0.0, help="fraction of webhooks overtaken by later ones"
    )
    parser.add_argument(
        "--webhook-retry-delay",
        type=_non_negative(float),
        default=Knobs.webhook_retry_delay,
        help="seconds before a failed webhook is tried again (Intercom: about a minute)",
    )
    args = parser.parse_args(argv)

    knobs = Knobs(
        rate=args.rate,
        latency=args.latency,
        error_rate=args.error_rate,
        search_lag=args.search_lag,
        plan_restricted=args.plan_restricted,
        webhook_duplicates=args.webhook_duplicates,
        webhook_reorder=args.webhook_reorder,
        webhook_retry_delay=args.webhook_retry_delay,
        inbox_app_url=args.inbox_app_url,
    )
    app = make_app(
        state_path=args.state,
        webhook_url=args.webhook_url,
        access_token=os.environ.get("INTERCOM_ACCESS_TOKEN") or defaults.ACCESS_TOKEN,
        client_secret=os.environ.get("INTERCOM_CLIENT_SECRET") or defaults.CLIENT_SECRET,
        knobs=knobs,
    )
    print(
        f"Intercom sandbox on http://{args.host}:{args.port} (webhooks to {args.webhook_url or 'nowhere'})", flush=True
    )
    try:
        serve_forever(app, host=args.host, port=args.port)
    except OSError as error:  # most often: the port is taken
        print(f"cannot serve on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr)
        return 1
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
