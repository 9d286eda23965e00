"""Data files are never code: a .pckl.gzip whose pickle calls os.system (or reaches for getattr) is refused
by every reader of datasets before anything runs, and real Pacemaker DataFrames of every pickle protocol
still load exactly."""
import gzip
import os
import pickle

import numpy as np
import pandas as pd
import pytest
from ase.build import bulk
from ase.calculators.singlepoint import SinglePointCalculator
from ase.constraints import FixAtoms

from activities.ace.common import read_dataframe, read_structures
from activities.runtime.protocol import HelperError
from activities.safety.pickles import loads
from activities.store.dataset_files import pckl_rows, read_pckl


class _RunsCommand:
    def __init__(self, cmd):
        self.cmd = cmd

    def __reduce__(self):
        return (os.system, (self.cmd,))


class _GetattrEscape:
    """getattr(<allowed object>, '__class__') ... the classic way out of a find_class allow-list."""

    def __reduce__(self):
        return (getattr, (bulk("Cu"), "write"))


def _dataset(with_calc=True):
    a = bulk("Cu", "fcc", a=3.6, cubic=True)
    a.rattle(0.05, seed=1)
    b = a.copy()
    if with_calc:
        b.calc = SinglePointCalculator(b, energy=-1.0, forces=np.zeros((4, 3)), stress=np.zeros(6))
    b.set_constraint(FixAtoms([0]))
    return pd.DataFrame({"name": ["a", "b"], "ase_atoms": [a, b], "energy": [-1.0, -2.0], "forces": [np.zeros((4, 3))] * 2,
                         "energy_corrected": [-1.0, -2.0], "NUMBER_OF_ATOMS": [4, 4]})


def _write(path, obj, protocol=4):
    with gzip.open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=protocol)
    return str(path)


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_pacemaker_dataframes_load_exactly(tmp_path, protocol):
    df = _dataset()
    back = read_dataframe(_write(tmp_path / "d.pckl.gzip", df, protocol))
    assert back.equals(df)
    assert back["ase_atoms"][1].get_potential_energy() == -1.0


@pytest.mark.parametrize("payload", ["column", "attrs", "atoms_info"])
def test_a_pickle_that_runs_a_command_is_refused_by_every_reader(tmp_path, payload):
    marker = tmp_path / "MARKER"
    evil = _RunsCommand(f"touch {marker}")
    df = _dataset()
    if payload == "column":
        df["x"] = [evil, evil]
    elif payload == "attrs":
        df.attrs["x"] = evil
    else:
        df["ase_atoms"][0].info["x"] = evil
    path = _write(tmp_path / "evil.pckl.gzip", df)
    readers = [read_dataframe, read_structures, read_pckl, lambda p: list(pckl_rows(p))]
    for read in readers:
        with pytest.raises(HelperError) as err:
            read(path)
        assert err.value.type == "UnsafeInput"
        assert path in err.value.message and "posix.system" in err.value.message and "Nothing from it was executed" in err.value.message
    assert not marker.exists()


def test_getattr_is_granted_only_for_the_calculator_method_ase_pickles(tmp_path):
    with pytest.raises(pickle.UnpicklingError, match=r"getattr\(<Atoms>, 'write'\)"):
        loads(pickle.dumps(_GetattrEscape(), protocol=4))


def test_a_plain_pickle_of_a_function_is_refused(tmp_path):
    with pytest.raises(pickle.UnpicklingError, match="os.path.join|posixpath.join"):
        loads(pickle.dumps(os.path.join, protocol=4))
