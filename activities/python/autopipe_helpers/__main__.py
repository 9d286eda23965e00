"""Entry point: python -m autopipe_helpers <command> <input.json>."""
import importlib
import json
import sys
import traceback

from .protocol import HelperError, reply_error, reply_ok

# command -> (module, function); modules are imported lazily so `qe-read` never loads torch.
COMMANDS = {
    "versions": ("versions", "versions"),
    "qe-write": ("qe", "write_input"),
    "qe-read": ("qe", "read_output"),
    "dataset-write": ("datasets", "write_dataset"),
    "mace-eval": ("mace_eval", "evaluate"),
    "mace-label": ("mace_label", "label_batch"),
    "mace-score": ("mace_score", "score"),
    "mace-inspect": ("mace_models", "inspect"),
    "mace-prepare-foundation": ("mace_models", "prepare_foundation"),
    "mace-surrogates": ("mace_structures", "surrogates"),
    "mace-subset": ("mace_structures", "subset"),
    "pace-eval": ("pace_eval", "evaluate"),
    "pace-check": ("pace_check", "check"),
    "pace-candidates": ("pace_selection", "candidates"),
    "pace-selected": ("pace_selection", "selected"),
    "pace-replay": ("pace_replay", "replay"),
    "structures-make": ("structures", "make"),
    "structures-generate": ("structures", "generate"),
    "store-insert": ("store_commands", "insert"),
    "store-add-labels": ("store_commands", "add_labels"),
    "store-query": ("store_commands", "query"),
    "store-structures": ("store_commands", "structures"),
    "store-labels": ("store_commands", "labels"),
    "store-info": ("store_commands", "info"),
    "dataset-export": ("datasets", "export"),
    "dataset-import": ("datasets", "import_"),
    "dataset-info": ("datasets", "info"),
    "structures-index": ("structure_index", "index"),
    "md-explore": ("md_explore", "explore"),
}


def main(argv):
    if len(argv) != 3 or argv[1] not in COMMANDS:
        reply_error("InvalidInput", f"usage: python -m autopipe_helpers <{'|'.join(COMMANDS)}> <input.json>")
        return 1
    module_name, func_name = COMMANDS[argv[1]]
    try:
        with open(argv[2]) as fh:
            text = fh.read()
        payload = json.loads(text) if text.strip() else {}
        module = importlib.import_module(f".{module_name}", __package__)
        reply_ok(getattr(module, func_name)(payload))
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
