"""The LAMMPS hand-over (activities/md/lammps.py) against the potential it describes: file names, the
element order of pair_coeff and of the data file's atom types, masses and units. LAMMPS itself is not run:
no LAMMPS in the package registries has ML-PACE."""
import json
import os
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from ase.build import bulk
from ase.data import atomic_masses, atomic_numbers
from ase.io import read

from activities.md.lammps import write

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture(scope="module")
def potential(tmp_path_factory):
    out = tmp_path_factory.mktemp("pot")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "test", "fixtures", "md", "random_potential.py"), str(out),
                        "--elements", "Cu,Al", "--functions", "8"], capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def dataset(path, elements):
    a = bulk("Cu", "fcc", a=3.9, cubic=True)
    a.symbols = [elements[i % len(elements)] for i in range(len(a))]
    pd.DataFrame({"ase_atoms": [a], "energy": [0.0]}).to_pickle(path, compression="gzip")
    return a


def test_in_lammps_matches_the_potential(potential, tmp_path):
    d = os.path.dirname(potential["potential"])
    a = dataset(str(tmp_path / "d.pckl.gzip"), ["Al", "Cu"])
    r = write({"dir": d, "potential": potential["potential"], "active_set": potential["active_set"],
               "yace": os.path.join(d, "potential.yace"), "dataset": str(tmp_path / "d.pckl.gzip")})
    els = potential["elements"]  # pyace's order
    assert r["elements"] == els
    text = open(r["in_lammps"]).read()
    assert re.search(r"^units\s+metal$", text, re.M)
    assert re.search(r"^timestep\s+0\.001\b", text, re.M)  # ps in metal units: 1 fs
    # active learning: B-basis .yaml + .asi, elements in the potential's order; production: the .yace
    assert re.search(r"^pair_style\s+pace/extrapolation$", text, re.M)
    m = re.search(r"^pair_coeff\s+\* \* (\S+) (\S+) (.+)$", text, re.M)
    assert m and os.path.exists(os.path.join(d, m.group(1))) and os.path.exists(os.path.join(d, m.group(2)))
    assert m.group(1).endswith(".yaml") and m.group(2).endswith(".asi") and m.group(3).split() == els
    assert re.search(rf"^# pair_coeff\s+\* \* potential\.yace {' '.join(els)}$", text, re.M)
    assert "fix             pace_gamma all pair 10 pace/extrapolation gamma 1" in text
    assert re.search(r"^fix\s+\S+ all halt 10 v_max_pace_gamma > \$\{gamma_halt\}$", text, re.M)
    assert re.search(r"^thermo_style\s+custom .*c_max_pace_gamma", text, re.M)
    assert re.search(rf"^dump_modify\s+pace_dump skip v_dump_skip element {' '.join(els)}$", text, re.M)
    # the data file: atom types in the potential's order with their masses; the structure round-trips
    data = open(r["data"]).read()
    masses = re.findall(r"^\s*(\d+)\s+([\d.]+)", data.split("Masses")[1].split("Atoms")[0], re.M)
    assert [(int(t), float(mass)) for t, mass in masses] == [(k + 1, pytest.approx(atomic_masses[atomic_numbers[e]])) for k, e in enumerate(els)]
    back = read(r["data"], format="lammps-data", Z_of_type={k + 1: atomic_numbers[e] for k, e in enumerate(els)}, units="metal")
    assert sorted(back.get_chemical_symbols()) == sorted(a.repeat((3, 3, 3)).get_chemical_symbols())
    assert np.isclose(back.get_volume(), a.get_volume() * 27)


def test_without_a_dataset_the_script_asks_for_a_structure(potential, tmp_path):
    d = os.path.dirname(potential["potential"])
    r = write({"dir": d, "potential": potential["potential"], "active_set": potential["active_set"]})
    assert r["data"] is None
    assert "read_data       YOUR_STRUCTURE.data" in open(r["in_lammps"]).read()
