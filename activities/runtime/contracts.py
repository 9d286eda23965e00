"""The TypeScript<->Python helper contracts, validated on this side: every command's input before it runs
and its result before it is sent back, against the JSON Schemas generated from the TypeScript zod
definitions (activities/contracts/<command>.json, `npx tsx scripts/contracts.ts`). A payload the
TypeScript side builds differently from what a command reads, or a result it would not accept, fails
here with the field named, instead of a KeyError deep inside the command or a zod error on the far side.
AUTOPIPE_CONTRACTS_DIR points elsewhere (tests of a changed contract)."""
import functools
import json
import os

from activities.runtime.protocol import HelperError

_DEFAULT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "contracts")


def contracts_dir():
    return os.environ.get("AUTOPIPE_CONTRACTS_DIR") or _DEFAULT_DIR


@functools.cache
def _validators(directory, command):
    from jsonschema import Draft202012Validator

    path = os.path.join(directory, f"{command}.json")
    try:
        with open(path) as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise HelperError("HelperFailed", f"no contract for helper command {command!r} ({path}); run `npx tsx scripts/contracts.ts`") from None
    return Draft202012Validator(doc["input"]), Draft202012Validator(doc["result"])


def _problems(validator, value, limit=5):
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))[:limit]
    return "; ".join(f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}" for e in errors)


def check_input(command, payload):
    """Raise InvalidInput when the payload breaks the command's contract."""
    validator, _ = _validators(contracts_dir(), command)
    problems = _problems(validator, payload)
    if problems:
        raise HelperError("InvalidInput", f"helper {command}: the input breaks its contract: {problems}")


def check_result(command, result):
    """Raise HelperFailed when a result breaks the command's contract (a bug on this side)."""
    _, validator = _validators(contracts_dir(), command)
    problems = _problems(validator, result)
    if problems:
        raise HelperError("HelperFailed", f"helper {command}: its result breaks the contract: {problems}")
    return result


def run(command, payload):
    """Validate, run, validate: what both entry points (helper_cli, helper_server) do per request."""
    from activities.runtime.commands import resolve

    check_input(command, payload)
    return check_result(command, resolve(command)(payload))
