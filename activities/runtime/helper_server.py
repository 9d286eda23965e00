"""A long-lived helper process: `python -m activities.runtime.helper_server [--torch] [--idle S]`.

Why: importing torch and MACE and loading the models costs seconds, importing ASE about one; a batch of
small structures, or writing one pw.x input, costs less. One server per worker and kind (MACE on the ml
queue, with --torch; QE input/output on the dft queue) keeps imports, models and parsed structure files
in memory across requests.

Protocol: one JSON request per stdin line, {"id": n, "command": "<helper command>", "input": {...}};
one JSON reply per line on the original stdout, {"id": n, "ok": true, "result": ...} or
{"id": n, "ok": false, "error": {"type": ..., "message": ...}}. Requests run one at a time, in order, so
PROGRESS lines on stderr belong to the request in flight. Anything a library prints goes to stderr.
The server exits when stdin closes (its worker is gone) or after `--idle` seconds without a request.
"""
import json
import os
import sys
import threading
import time
import traceback

from activities.runtime.commands import COMMANDS
from activities.runtime.contracts import run
from activities.runtime.protocol import HelperError


def _watch_idle(state, idle_seconds):
    """Exit when no request came for idle_seconds (never while one is running)."""
    while True:
        time.sleep(min(idle_seconds, 5.0))
        if not state["busy"] and time.monotonic() - state["last"] > idle_seconds:
            print(f"helper_server: idle for {idle_seconds:g} s, exiting", file=sys.stderr, flush=True)
            os._exit(0)


def _serve(reply_fd, idle_seconds):
    out = os.fdopen(reply_fd, "w", buffering=1)
    state = {"busy": False, "last": time.monotonic()}
    threading.Thread(target=_watch_idle, args=(state, idle_seconds), daemon=True).start()
    out.write(json.dumps({"id": 0, "ok": True, "result": {"ready": True, "pid": os.getpid()}}) + "\n")
    for line in sys.stdin:  # ends when stdin closes: the worker is gone
        if not line.strip():
            continue
        state["busy"] = True
        rid = None
        try:
            req = json.loads(line)
            rid = req.get("id")
            if req.get("command") not in COMMANDS:
                raise HelperError("InvalidInput", f"unknown helper command {req.get('command')!r}")
            reply = {"id": rid, "ok": True, "result": run(req["command"], req.get("input") or {})}
        except HelperError as err:
            reply = {"id": rid, "ok": False, "error": {"type": err.type, "message": err.message}}
        except Exception as err:  # keep serving: one bad request must not take the models down
            traceback.print_exc()
            reply = {"id": rid, "ok": False, "error": {"type": "HelperFailed", "message": f"{type(err).__name__}: {err}"}}
        sys.stderr.flush()
        out.write(json.dumps(reply) + "\n")
        state["busy"] = False
        state["last"] = time.monotonic()
    return 0


def main(argv):
    idle = float(argv[argv.index("--idle") + 1]) if "--idle" in argv else 600.0
    threads = int(os.environ.get("AUTOPIPE_ML_THREADS", os.environ.get("OMP_NUM_THREADS", "1")))
    reply_fd = os.dup(1)
    os.dup2(2, 1)  # stray prints from libraries must never corrupt the reply stream
    if "--torch" in argv:  # the MACE server: torch's thread count is fixed before any model loads
        try:
            import torch

            torch.set_num_threads(max(1, threads))
        except ImportError:
            pass
    return _serve(reply_fd, idle)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
