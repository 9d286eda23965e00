"""CHGNet fine-tuning's pure parts: the split, the per-element reference refit, stress shapes, and a model
file that is not ours being refused without running anything in it."""
import os
import pickle

import numpy as np
import pytest

from activities.mace.chgnet_finetune import load_model, reference_shift, split, voigt_or_full
from activities.runtime.protocol import HelperError


def test_split_is_deterministic_disjoint_and_never_empty():
    for n in (2, 3, 5, 12, 40):
        train, valid = split(n, 0.2, seed=7)
        assert (train, valid) == split(n, 0.2, seed=7)
        assert sorted(train + valid) == list(range(n))
        assert train and valid
    assert len(split(40, 0.2, seed=1)[1]) == 8
    assert split(40, 0.2, seed=1) != split(40, 0.2, seed=2)


def test_reference_shift_recovers_per_element_offsets():
    # residual per atom = x_A * dA + x_B * dB, for several compositions: both offsets come back exactly
    fractions = [[1.0, 0.0], [0.5, 0.5], [0.25, 0.75], [0.0, 1.0]]
    d = np.array([-101.3, -3.2])
    shift = reference_shift(fractions, np.asarray(fractions) @ d)
    assert shift == pytest.approx(d)


def test_reference_shift_of_one_element_is_the_mean_residual():
    residuals = [-102.41, -102.47, -102.52]
    assert reference_shift([[1.0]] * 3, residuals) == pytest.approx([np.mean(residuals)])


def test_stress_voigt_and_full_agree():
    full = np.array([[1.0, 0.4, 0.5], [0.4, 2.0, 0.6], [0.5, 0.6, 3.0]])
    voigt = [1.0, 2.0, 3.0, 0.6, 0.5, 0.4]  # ASE's xx yy zz yz xz xy
    assert voigt_or_full(voigt) == pytest.approx(full)
    assert voigt_or_full(full.reshape(-1)) == pytest.approx(full)
    with pytest.raises(ValueError):
        voigt_or_full([1.0, 2.0])


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/autopipe-chgnet-pickle-ran",))


def test_a_pickled_object_is_refused_as_a_model_and_never_runs(tmp_path):
    pytest.importorskip("chgnet")
    marker = "/tmp/autopipe-chgnet-pickle-ran"
    if os.path.exists(marker):
        os.remove(marker)
    bad = tmp_path / "evil.pt"
    bad.write_bytes(pickle.dumps({"model": _Payload()}))
    with pytest.raises(HelperError) as err:
        load_model(str(bad))
    assert err.value.type == "InvalidConfig" and "not a CHGNet model written by a fine-tune" in str(err.value)
    assert not os.path.exists(marker)
    with pytest.raises(HelperError, match="not found"):
        load_model(str(tmp_path / "missing.pt"))
