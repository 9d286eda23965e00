"""The reply protocol shared by every helper command."""
import json
import sys


class HelperError(Exception):
    """A failure with a type the TypeScript side maps to an ApplicationFailure type."""

    def __init__(self, type_: str, message: str):
        super().__init__(message)
        self.type = type_
        self.message = message


def progress(**details):
    """One heartbeat for the activity (stderr, so stdout keeps only the reply)."""
    print("PROGRESS " + json.dumps(details), file=sys.stderr, flush=True)


def reply_ok(result):
    sys.stdout.write("\n" + json.dumps({"ok": True, "result": result}) + "\n")
    sys.stdout.flush()


def reply_error(type_, message):
    sys.stdout.write("\n" + json.dumps({"ok": False, "error": {"type": type_, "message": message}}) + "\n")
    sys.stdout.flush()
