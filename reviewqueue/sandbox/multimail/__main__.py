"""python -m reviewqueue.sandbox.multimail --port 8025 --state var/sandbox/multimail.json
--webhook-url http://127.0.0.1:8000/webhooks/multimail [--latency-ms 20 --error-rate 0.1 …]"""

import argparse
import sys

from reviewqueue.sandbox.multimail import defaults
from reviewqueue.sandbox.multimail.app import Knobs, make_app
from reviewqueue.sandbox.multimail.state import SandboxError
from reviewqueue.sandbox.server import serve_forever


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m reviewqueue.sandbox.multimail", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=defaults.PORT)
    parser.add_argument("--state", default=None, help="JSON file holding the sandbox's data across restarts")
    parser.add_argument("--webhook-url", default=None, help="subscribe this URL to every event (signed)")
    parser.add_argument("--webhook-secret", default=defaults.WEBHOOK_SECRET)
    parser.add_argument("--no-seed", action="store_true", help="do not add the demo mailbox and subscription")
    parser.add_argument("--latency-ms", type=float)
    parser.add_argument("--error-rate", type=float)
    parser.add_argument("--rate-limit-rate", type=float)
    parser.add_argument("--scan-ms", type=float)
    parser.add_argument("--delivery-ms", type=float)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        knobs = Knobs.from_env()
        flags = ("latency_ms", "error_rate", "rate_limit_rate", "scan_ms", "delivery_ms")
        knobs.update({name: getattr(args, name) for name in flags if getattr(args, name) is not None})
    except SandboxError as error:
        print(f"multimail sandbox: {error.message}", file=sys.stderr)
        return 2
    try:
        app = make_app(
            args.state,
            knobs,
            webhook_url=args.webhook_url,
            webhook_secret=args.webhook_secret,
            seed_demo=not args.no_seed,
        )
    except (ValueError, SandboxError) as error:
        print(f"multimail sandbox: {getattr(error, 'message', error)}", file=sys.stderr)
        return 2
    print(f"multimail sandbox on http://{args.host}:{args.port} (state: {args.state or 'in memory'})", flush=True)
    try:
        serve_forever(app, host=args.host, port=args.port)
    except OSError as error:  # e.g. the port is taken
        print(
            f"multimail sandbox: cannot listen on {args.host}:{args.port}: {error.strerror or error}", file=sys.stderr
        )
        return 2
    finally:
        app.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
