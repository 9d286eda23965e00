"""The exploration engine: ACE energies, forces, stresses and extrapolation grades for a batch of systems
at once, with Verlet neighbour lists.

Why not pyace's ASE calculator: it rebuilds the neighbour environment in Python-facing code at every
call (superlinear in the cell size) and evaluates one structure at a time on one thread. Here the
neighbour list is rebuilt (numba cell lists, neighbours.py) only when an atom has moved by half the
skin, the ACE evaluation is the compiled kernel of ace_kernel.py over all atoms of all systems in one
call (numba threads; forces, virials and image shifts included), and the grade is one matrix product
with the active set. bench/exploration-throughput.ts
measures the difference.
"""
import os

import numpy as np

from activities.md.ace_model import load_model

DEFAULT_SKIN = 0.5  # Å; a list holds pairs within cutoff + skin and lives until an atom moved skin/2


def set_threads(threads):
    import numba

    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


class Batch:
    """Systems (periodic cells) evaluated together. Arrays are concatenated over systems; system k owns
    atoms offsets[k]:offsets[k+1]. Positions and cells may change between evaluations (MD, NPT)."""

    def __init__(self, model, numbers_list, positions_list, cells):
        self.model = model
        index = {z: i for i, z in enumerate(_atomic_numbers(model.elements))}
        unknown = sorted({int(z) for nums in numbers_list for z in nums if int(z) not in index})
        if unknown:
            from ase.data import chemical_symbols

            names = ", ".join(chemical_symbols[z] for z in unknown)
            raise ValueError(f"element(s) {names} not in the potential ({', '.join(model.elements)})")
        self.numbers = np.concatenate([np.asarray(n, dtype=np.int64) for n in numbers_list])
        self.species = np.array([index[int(z)] for z in self.numbers], dtype=np.int64)
        self.positions = np.ascontiguousarray(np.concatenate(positions_list), dtype=float)
        self.cells = np.array(cells, dtype=float).reshape(-1, 3, 3)
        counts = [len(n) for n in numbers_list]
        self.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.system = np.repeat(np.arange(len(counts)), counts).astype(np.int64)
        self.n = len(self.numbers)
        self.skin = DEFAULT_SKIN
        self._lists = [None] * len(counts)  # per system: (start, j, S) with local indices
        self._ref_frac = np.zeros_like(self.positions)
        self._ref_cells = self.cells.copy()
        self._ref_inv = np.linalg.inv(self.cells)
        self._joined = None
        self.rebuilds = 0

    @property
    def nsystems(self):
        return len(self.offsets) - 1

    def volumes(self):
        return np.abs(np.linalg.det(self.cells))

    def wrap(self):
        """Wrap atoms into their cells (positions only; lists store shifts, so they are rebuilt)."""
        frac = np.einsum("ni,nij->nj", self.positions, np.linalg.inv(self.cells)[self.system])
        frac -= np.floor(frac)
        self.positions[:] = np.einsum("ni,nij->nj", frac, self.cells[self.system])
        self._lists = [None] * self.nsystems

    def _stale(self):
        """Systems whose neighbour list may miss a pair: an atom moved more than skin/2 relative to the
        affinely deformed cell, or the cell strained enough to bring cutoff+skin pairs inside."""
        from activities.md.neighbours import largest_displacements

        maxd = largest_displacements(self.positions, self._ref_frac, self.cells, self.offsets)
        strain = np.abs(self._ref_inv @ self.cells - np.eye(3)).sum(axis=2).max(axis=1)
        rc = self.model.cutoff + self.skin
        bad = 2 * maxd + strain * rc > self.skin
        return [k for k in range(self.nsystems) if self._lists[k] is None or bad[k]]

    def _build(self, k):
        from activities.md.neighbours import neighbour_list

        a, b = self.offsets[k], self.offsets[k + 1]
        pos = self.positions[a:b]
        cell = self.cells[k]
        self._lists[k] = neighbour_list(pos, cell, self.model.cutoff + self.skin)
        self._ref_frac[a:b] = pos @ np.linalg.inv(cell)
        self._ref_cells[k] = cell
        self._ref_inv[k] = np.linalg.inv(cell)
        self._joined = None
        self.rebuilds += 1

    def _join(self):
        """The systems' lists as one, with global atom indices."""
        starts, js, shifts_S = [np.zeros(1, np.int64)], [], []
        total = 0
        for k, (start, j, S) in enumerate(self._lists):
            starts.append(start[1:] + total)
            js.append(j + self.offsets[k])
            shifts_S.append(S)
            total += len(j)
        self._joined = (
            np.concatenate(starts).astype(np.int64),
            np.concatenate(js).astype(np.int64) if js else np.zeros(0, np.int64),
            np.ascontiguousarray(np.concatenate(shifts_S)) if shifts_S else np.zeros((0, 3)),
        )

    def evaluate(self, nchunks=None):
        """Energies per system, forces per atom, stress per system (ASE Voigt, eV/Å^3), gamma per atom,
        closest neighbour per atom."""
        m = self.model
        for k in self._stale():
            self._build(k)
        if self._joined is None:
            self._join()
        start, j, S = self._joined
        n = self.n
        import numba

        threads = numba.get_num_threads()
        energies = np.empty(n)
        forces_t = np.zeros((threads, n, 3))
        virial = np.empty((n, 6))
        gamma = np.empty(n)
        rmin = np.empty(n)
        from activities.md import ace_kernel as K

        if nchunks is None:
            nchunks = max(1, min(n, 8 * threads))
        K.compute(
            self.positions, self.cells, self.system, self.species, start, j, S, nchunks,
            m.nradbase, m.nradmax, m.lmax, m.rscale, m.nlut, m.rad_tab, m.cut, m.cut_in, m.dcut_in, m.zbl,
            m.alm, m.blm, m.cl, m.dl, m.ndensity, m.npot, m.fs_params, m.rho_core_cut, m.drho_core_cut,
            m.r1_start, m.r1_mu, m.r1_n, m.r1_coeff, m.f_start, m.f_rank, m.f_coeff, m.f_ms_start, m.ms_aidx, m.ms_anidx,
            m.ms_sign, m.ms_gcg, m.c_start, m.c_col, m.u_start, m.u_c, m.u_k, m.u_a, m.u_m, m.asi_linear, m.a_size,
            len(m.elements), m.fs_params.shape[1], m.asi, m.asi_size, energies, forces_t, virial, gamma, rmin,
        )
        forces = forces_t[0] if threads == 1 else forces_t.sum(axis=0)
        if n:
            e_sys = np.add.reduceat(energies, self.offsets[:-1])
            stress = np.add.reduceat(virial, self.offsets[:-1], axis=0) / self.volumes()[:, None]
        else:
            e_sys, stress = np.zeros(0), np.zeros((self.nsystems, 6))
        return e_sys, forces, stress, gamma, rmin

    def subset(self, keep):
        """A new batch of the systems in `keep` (state copied, lists kept)."""
        keep = list(keep)
        nb = Batch.__new__(Batch)
        nb.model = self.model
        sl = [np.arange(self.offsets[k], self.offsets[k + 1]) for k in keep]
        idx = np.concatenate(sl) if sl else np.zeros(0, np.int64)
        nb.numbers, nb.species = self.numbers[idx], self.species[idx]
        nb.positions = np.ascontiguousarray(self.positions[idx])
        nb.cells = self.cells[keep].copy()
        counts = [len(s) for s in sl]
        nb.offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        nb.system = np.repeat(np.arange(len(counts)), counts).astype(np.int64)
        nb.n = len(idx)
        nb.skin = self.skin
        nb._lists = [self._lists[k] for k in keep]
        nb._ref_frac = self._ref_frac[idx].copy()
        nb._ref_cells = self._ref_cells[keep].copy()
        nb._ref_inv = self._ref_inv[keep].copy()
        nb._joined = None
        nb.rebuilds = self.rebuilds
        return nb


def _atomic_numbers(elements):
    from ase.data import atomic_numbers

    return [atomic_numbers[e] for e in elements]


def load(potential_yaml, active_set=None, threads=None):
    """The model (flat arrays) and the thread count for the kernel; threads default to AUTOPIPE_ML_THREADS
    or all cores."""
    for f in (potential_yaml, active_set):
        if f is not None and not os.path.isfile(f):
            raise FileNotFoundError(f)
    if threads is None:
        threads = int(os.environ.get("AUTOPIPE_ML_THREADS", os.cpu_count() or 1))
    set_threads(threads)
    return load_model(potential_yaml, active_set)


def evaluate_atoms(model, atoms_list):
    """Energy, forces, stress, per-atom gamma of ASE structures (one batch), e.g. to rank start structures."""
    b = Batch(model, [a.numbers for a in atoms_list], [a.positions for a in atoms_list], [a.cell.array for a in atoms_list])
    e, f, s, g, _ = b.evaluate()
    out = []
    for k in range(b.nsystems):
        sl = slice(b.offsets[k], b.offsets[k + 1])
        out.append({"energy": float(e[k]), "forces": f[sl], "stress": s[k], "gamma": g[sl]})
    return out
