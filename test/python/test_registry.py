"""Every helper command names a module and function that exist, and both entry points share the registry."""
import ast
import importlib.util
import json

import pytest

from activities.runtime import helper_cli
from activities.runtime.commands import COMMANDS


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_points_to_a_defined_function(command):
    module, func = COMMANDS[command]
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin, f"{command}: module {module} not found"
    tree = ast.parse(open(spec.origin).read())
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert func in defined, f"{command}: {module} defines no {func}()"


def test_command_names_say_their_group():
    for command, (module, _) in COMMANDS.items():
        group = module.split(".")[1]
        prefix = command.split("-")[0]
        assert prefix in {group, "qe", "dataset", "versions"} or (prefix == "structures" and group in {"structures", "mace"}), (command, module)


def test_unknown_command_is_a_typed_error(capsys):
    assert helper_cli.main(["helper_cli", "no-such-command", "/dev/null"]) == 1
    reply = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert reply["ok"] is False and reply["error"]["type"] == "InvalidInput"
    assert "no-such-command" not in COMMANDS


def test_helper_error_becomes_a_typed_reply(tmp_path, capsys):
    bad = tmp_path / "in.json"
    bad.write_text(json.dumps({"store": str(tmp_path / "not-a-store.sqlite")}))
    (tmp_path / "not-a-store.sqlite").write_text("this is not sqlite")
    assert helper_cli.main(["helper_cli", "store-info", str(bad)]) == 1
    reply = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert reply == {"ok": False, "error": {"type": "InvalidInput", "message": reply["error"]["message"]}}
    assert "not a readable store" in reply["error"]["message"]
