"""``python3 -m sandbox --host 127.0.0.1 --port 8079``."""

import argparse
import logging
import os

from .server import serve


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python3 -m sandbox",
        description="Sandbox of external systems (Shopify, ...) for tests and demos.",
    )
    parser.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=int, default=int(os.environ.get("SANDBOX_PORT", "8079"))
    )
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    parser.add_argument(
        "--webhook-concurrency",
        type=int,
        default=int(os.environ.get("SANDBOX_WEBHOOK_CONCURRENCY", "1")),
        help="webhook delivery workers (>1 gives up ordering, like real Shopify)",
    )
    parser.add_argument(
        "--id-start", type=int, default=None, help="first id handed out"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    serve(
        args.host,
        args.port,
        quiet=args.quiet,
        webhook_config={"concurrency": args.webhook_concurrency},
        id_start=args.id_start,
    )


if __name__ == "__main__":
    main()
