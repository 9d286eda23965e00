"""Molecular dynamics of many trajectories in lockstep on one Batch: Langevin (BAOAB) at each
trajectory's temperature, and for NPT a stochastic cell rescaling barostat at its pressure.

NPT is the default for exploration: at the starting volume (NVT) a crystal never samples thermal
expansion, so the potential meets expanded lattices for the first time in production. The barostat is
Bernetti & Bussi's stochastic cell rescaling (J. Chem. Phys. 153, 114107 (2020)) for the volume, which
samples the isothermal-isobaric ensemble with a first-order, robust relaxation, plus a deterministic
traceless relaxation of the three diagonal stresses (Berendsen-like), so anisotropic crystals can change
their axis ratios. Units are ASE's (Å, eV, amu).
"""
import numpy as np
from ase import units

from activities.md.engine import Batch

FRICTION_PER_FS = 0.01  # Langevin friction (1/fs): velocity memory of ~100 fs
BAROSTAT_TAU_FS = 100.0  # volume relaxation time: a 400-step run sees several volume relaxations
COMPRESSIBILITY_PER_GPA = 1.0 / 100.0  # a typical solid's (Si: 1/98 GPa); only sets the relaxation speed


class Dynamics:
    def __init__(self, batch: Batch, masses, temperatures_K, pressures_GPa, npt, timestep_fs, seed):
        self.b = batch
        self.dt = timestep_fs * units.fs
        self.rng = np.random.default_rng(seed)
        self.m = np.asarray(masses, dtype=float)[:, None]
        self.T = np.asarray(temperatures_K, dtype=float)  # per system
        self.P = np.asarray(pressures_GPa, dtype=float) * units.GPa  # eV/Å^3
        self.npt = np.asarray(npt, dtype=bool)
        kT = units.kB * self.T[batch.system]
        self.sigma = np.sqrt(kT[:, None] / self.m)  # thermal velocity per atom and component
        self.c1 = np.exp(-FRICTION_PER_FS / units.fs * self.dt)
        self.velocities = self.rng.normal(size=(batch.n, 3)) * self.sigma
        self._zero_momentum()
        self.energy, self.forces, self.stress, self.gamma, self.rmin = batch.evaluate()
        self.step_count = 0

    def _zero_momentum(self):
        b = self.b
        p = self.m * self.velocities
        ptot = np.add.reduceat(p, b.offsets[:-1], axis=0)
        mtot = np.add.reduceat(self.m[:, 0], b.offsets[:-1])
        self.velocities -= (ptot / mtot[:, None])[b.system]

    def kinetic(self):
        """Kinetic energy per system (eV)."""
        ke = 0.5 * (self.m * self.velocities**2).sum(axis=1)
        return np.add.reduceat(ke, self.b.offsets[:-1])

    def temperature(self):
        counts = np.diff(self.b.offsets)
        return 2 * self.kinetic() / (3 * np.maximum(counts - 1, 1) * units.kB)

    def pressure(self):
        """Instantaneous pressure per system (eV/Å^3) and the diagonal pressures (3 per system)."""
        V = self.b.volumes()
        kin = np.add.reduceat(self.m * self.velocities**2, self.b.offsets[:-1], axis=0)
        diag = kin / V[:, None] - self.stress[:, :3]
        return diag.mean(axis=1), diag

    def step(self):
        b, dt = self.b, self.dt
        v = self.velocities
        v += 0.5 * dt * self.forces / self.m
        b.positions += 0.5 * dt * v
        v *= self.c1
        v += np.sqrt(1 - self.c1**2) * self.sigma * self.rng.normal(size=v.shape)
        b.positions += 0.5 * dt * v
        self.energy, self.forces, self.stress, self.gamma, self.rmin = b.evaluate()
        v += 0.5 * dt * self.forces / self.m
        if self.npt.any():
            self._barostat()
        self.step_count += 1

    def _barostat(self):
        """Stochastic cell rescaling (isotropic volume) + traceless diagonal relaxation, NPT systems only."""
        b, dt = self.b, self.dt
        V = b.volumes()
        P, Pdiag = self.pressure()
        tau = BAROSTAT_TAU_FS * units.fs
        beta = COMPRESSIBILITY_PER_GPA / units.GPa
        kT = units.kB * self.T
        deps = -(beta / tau) * (self.P - P - kT / V) * dt + np.sqrt(2 * kT * beta * dt / (V * tau)) * self.rng.normal(size=len(V))
        aniso = (beta * dt / (3 * tau)) * (Pdiag - P[:, None])
        deps = np.where(self.npt, deps, 0.0)
        aniso = np.where(self.npt[:, None], aniso, 0.0)
        # Bound one step's strain: a wildly extrapolating potential must not turn the cell inside out.
        mu = np.exp(np.clip(deps[:, None] / 3 + aniso, -0.01, 0.01))  # per system, per axis
        scale = mu[b.system]
        b.positions *= scale
        b.cells *= mu[:, None, :]
        self.velocities /= scale
