"""One-shot entry point: python -m activities.runtime.helper_cli <command> <input.json>."""
import json
import sys
import traceback

from activities.runtime.commands import COMMANDS
from activities.runtime.contracts import run
from activities.runtime.protocol import HelperError, reply_error, reply_ok


def main(argv):
    if len(argv) != 3 or argv[1] not in COMMANDS:
        reply_error("InvalidInput", f"usage: python -m activities.runtime.helper_cli <{'|'.join(COMMANDS)}> <input.json>")
        return 1
    try:
        with open(argv[2]) as fh:
            text = fh.read()
        payload = json.loads(text) if text.strip() else {}
        reply_ok(run(argv[1], payload))
        return 0
    except HelperError as err:
        reply_error(err.type, err.message)
        return 1
    except Exception as err:  # an unexpected crash: keep the traceback in the log, type it for Temporal
        traceback.print_exc()
        reply_error("HelperFailed", f"{type(err).__name__}: {err}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
