"""The helper command registry: command name -> (module, function). Names are `<group>-<verb>`, the group
being the activities/ folder the module lives in. Modules are imported lazily, so `qe-read` never loads
torch."""
import importlib

COMMANDS = {
    "versions": ("activities.runtime.versions", "versions"),
    "qe-write": ("activities.dft.qe", "write_input"),
    "qe-read": ("activities.dft.qe", "read_output"),
    "mace-eval": ("activities.mace.evaluate", "evaluate"),
    "mace-label": ("activities.mace.label", "label_batch"),
    "mace-score": ("activities.mace.score", "score"),
    "mace-inspect": ("activities.mace.models", "inspect"),
    "mace-prepare-foundation": ("activities.mace.models", "prepare_foundation"),
    "mace-surrogates": ("activities.mace.surrogates", "surrogates"),
    "mace-chgnet-finetune": ("activities.mace.chgnet_finetune", "finetune"),
    "mace-sevennet-finetune": ("activities.mace.sevennet_finetune", "finetune"),
    "mace-sevennet-reference": ("activities.mace.sevennet_reference", "fit_reference"),
    "ace-gamma": ("activities.ace.gamma", "evaluate"),
    "ace-fit-check": ("activities.ace.fit_check", "check"),
    "ace-candidates": ("activities.ace.selection", "candidates"),
    "ace-selected": ("activities.ace.selection", "selected"),
    "ace-replay": ("activities.ace.replay", "replay"),
    "evaluation-score": ("activities.evaluation.evaluate", "evaluate"),
    "md-explore": ("activities.md.explore", "explore"),
    "md-lammps": ("activities.md.lammps", "write"),
    "md-engine-info": ("activities.md.engine_info", "info"),
    "structures-generate": ("activities.structures.commands", "generate"),
    "structures-index": ("activities.structures.index", "index"),
    "structures-subset": ("activities.mace.surrogates", "subset"),
    "store-insert": ("activities.store.commands", "insert"),
    "store-add-labels": ("activities.store.commands", "add_labels"),
    "store-query": ("activities.store.commands", "query"),
    "store-structures": ("activities.store.commands", "structures"),
    "store-labels": ("activities.store.commands", "labels"),
    "store-info": ("activities.store.commands", "info"),
    "store-record": ("activities.store.commands", "record"),
    "store-label": ("activities.store.commands", "label"),
    "store-members": ("activities.store.commands", "add_members"),
    "dataset-export": ("activities.store.datasets", "export"),
    "dataset-import": ("activities.store.datasets", "import_"),
    "dataset-info": ("activities.store.datasets", "info"),
    "report-collect": ("activities.report.collect", "collect"),
    "report-history": ("activities.report.collect", "history"),
    "report-plots": ("activities.report.plots", "plots"),
    "safety-describe": ("activities.safety.structures", "describe"),
}


def resolve(command):
    """The function behind a command name (KeyError for an unknown one)."""
    module_name, func_name = COMMANDS[command]
    return getattr(importlib.import_module(module_name), func_name)
