// The cost guard: before pw.x starts, estimate what the calculation needs (atoms, valence electrons,
// bands, k-points, the dense FFT grid from the cell and ecutrho, memory) and refuse what can only
// exhaust the machine, with the numbers and the limit that was exceeded (dft.limits in the campaign).
// The same estimate runs on the exact pw.x input in the DFT activity's pre-flight and, before anything
// starts, on the structures `validate` and `label dft` are given.
import { ApplicationFailure } from '@temporalio/common';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DftSettings } from '../../common/campaign-schema';
import { NonRetryableErrors } from '../../common/errors';
import { valenceElectrons } from './pseudopotentials';

const BOHR = 0.529177210903; // Å

export interface CostInput {
  /** Cell vectors in Å, one row per vector. */
  cell: number[][];
  /** Chemical symbol per atom. */
  symbols: string[];
  /** Monkhorst-Pack grid. */
  kpts: number[];
  ecutwfc: number;
  ecutrho: number;
  spin: boolean;
  smearing: boolean;
  /** Valence electrons per element (from the UPF headers). */
  valence: Record<string, number>;
}

export interface DftCost {
  atoms: number;
  electrons: number;
  bands: number;
  kpts: number[];
  kpoints: number;
  fftGrid: number[];
  fftPoints: number;
  planeWaves: number;
  memoryGb: number;
}

export interface DftLimits {
  max_atoms: number;
  max_kpoints: number;
  max_fft_points: number;
  /** Default: 80 % of this machine's memory. */
  max_memory_gb?: number;
}

function det3(m: number[][]): number {
  const [a, b, c] = m as [number[], number[], number[]];
  return a[0]! * (b[1]! * c[2]! - b[2]! * c[1]!) - a[1]! * (b[0]! * c[2]! - b[2]! * c[0]!) + a[2]! * (b[0]! * c[1]! - b[1]! * c[0]!);
}

/** Reciprocal cell without the 2π factor (ASE's `cell.reciprocal()`), rows b_i with a_i·b_j = δ_ij. */
export function reciprocal(cell: number[][]): number[][] {
  const [a, b, c] = cell as [number[], number[], number[]];
  const cross = (u: number[], v: number[]) => [u[1]! * v[2]! - u[2]! * v[1]!, u[2]! * v[0]! - u[0]! * v[2]!, u[0]! * v[1]! - u[1]! * v[0]!];
  const vol = det3(cell);
  return [cross(b, c), cross(c, a), cross(a, b)].map((r) => r.map((x) => x / vol));
}

/** ASE's kspacing_to_grid (ase/io/espresso.py): int(|b_i| / spacing) + 1 per periodic direction. */
export function kptsFromSpacing(cell: number[][], kspacing: number): number[] {
  return reciprocal(cell).map((b) => Math.floor(Math.hypot(b[0]!, b[1]!, b[2]!) / kspacing) + 1);
}

/** Smallest n >= x whose prime factors are 2, 3 and 5 (the FFT sizes pw.x picks). */
function goodFftSize(x: number): number {
  if (!Number.isFinite(x) || x > 1e7) return Math.ceil(x);
  for (let n = Math.max(1, Math.ceil(x)); ; n++) {
    let m = n;
    for (const p of [2, 3, 5]) while (m % p === 0) m /= p;
    if (m === 1) return n;
  }
}

export function estimateDftCost(i: CostInput): DftCost {
  const atoms = i.symbols.length;
  const electrons = i.symbols.reduce((s, el) => s + (i.valence[el] ?? 0), 0);
  // pw.x's default band count: half the electrons, +20 % (at least 4 more) with smearing.
  const occupied = Math.ceil(electrons / 2);
  const bands = i.smearing ? Math.max(Math.ceil(1.2 * occupied), occupied + 4) : Math.max(1, occupied);
  const kpoints = i.kpts.reduce((a, b) => a * b, 1);
  // Dense grid: |G| <= sqrt(ecutrho) bohr^-1, n_i >= 2 Gmax |a_i| / 2π (pw.x's own sizes, test/unit/dft-cost.test.ts).
  const gmaxRho = Math.sqrt(i.ecutrho);
  const fftGrid = i.cell.map((a) => goodFftSize((2 * gmaxRho * Math.hypot(a[0]!, a[1]!, a[2]!)) / BOHR / (2 * Math.PI)));
  const fftPoints = fftGrid.reduce((a, b) => a * b, 1);
  const volumeBohr3 = Math.abs(det3(i.cell)) / BOHR ** 3;
  const planeWaves = Math.ceil((volumeBohr3 * i.ecutwfc ** 1.5) / (6 * Math.PI ** 2));
  // Memory: wavefunctions kept for every k-point (time reversal halves the grid) and spin, the
  // Davidson work space (about four sets of bands), and some thirty real-space arrays on the dense grid.
  const nspin = i.spin ? 2 : 1;
  const kStored = Math.ceil(kpoints / 2) * nspin;
  const bytes = 16 * planeWaves * bands * (kStored + 4) + 8 * fftPoints * 30 * nspin + 2e8;
  return { atoms, electrons, bands, kpts: i.kpts, kpoints, fftGrid, fftPoints, planeWaves, memoryGb: bytes / 1e9 };
}

export function defaultMemoryLimitGb(): number {
  return Math.floor((os.totalmem() / 1e9) * 0.8 * 10) / 10;
}

const big = (n: number) => (n >= 1e6 ? n.toExponential(2) : String(n));
const gb = (x: number) => (x >= 100 ? String(Math.round(x)) : x.toPrecision(3));

/** One sentence per exceeded limit, with the estimate, the limit and the key that raises it. */
export function costProblems(cost: DftCost, limits: DftLimits, where: string): string[] {
  const memLimit = limits.max_memory_gb ?? defaultMemoryLimitGb();
  const out: string[] = [];
  if (cost.atoms > limits.max_atoms) out.push(`${where}: ${cost.atoms} atoms, more than dft.limits.max_atoms (${limits.max_atoms})`);
  if (cost.kpoints > limits.max_kpoints)
    out.push(`${where}: a ${cost.kpts.join('x')} k-point grid (${cost.kpoints.toExponential(2)} points) exceeds dft.limits.max_kpoints (${limits.max_kpoints}): raise dft.kspacing`);
  if (cost.fftPoints > limits.max_fft_points)
    out.push(`${where}: the dense FFT grid ${cost.fftGrid.join('x')} (${cost.fftPoints.toExponential(2)} points, from the cell and ecutrho) exceeds dft.limits.max_fft_points (${limits.max_fft_points.toExponential(2)}): a smaller cell (less vacuum) or a lower ecutrho`);
  if (cost.memoryGb > memLimit)
    out.push(`${where}: pw.x would need about ${gb(cost.memoryGb)} GB (${cost.atoms} atoms, ${cost.electrons} electrons, ${cost.bands} bands, ${big(cost.planeWaves)} plane waves, ${big(cost.kpoints)} k-points), more than dft.limits.max_memory_gb (${memLimit} GB)`);
  return out;
}

export function formatCost(c: DftCost): string {
  return `${c.atoms} atoms, ${c.electrons} electrons, ${c.bands} bands, k-grid ${c.kpts.join('x')}, FFT ${c.fftGrid.join('x')}, ~${big(c.planeWaves)} plane waves, ~${gb(c.memoryGb)} GB`;
}

/** The pieces of a pw.x input the estimate needs, as ASE writes it (CELL_PARAMETERS/ATOMIC_POSITIONS in Å). */
export function parsePwInput(text: string): { cell: number[][]; symbols: string[]; kpts: number[]; ecutwfc: number; ecutrho?: number; spin: boolean; smearing: boolean; pseudoDir?: string; species: Record<string, string> } {
  const lines = text.split('\n');
  const value = (key: string) => text.match(new RegExp(`^\\s*${key}\\s*=\\s*'?([^'\\n,]+)'?`, 'mi'))?.[1]?.trim();
  const block = (name: string) => {
    const i = lines.findIndex((l) => l.trim().toUpperCase().startsWith(name));
    if (i < 0) return [];
    const out: string[] = [];
    for (const l of lines.slice(i + 1)) {
      if (!l.trim()) break;
      out.push(l.trim());
    }
    return out;
  };
  const cell = block('CELL_PARAMETERS').slice(0, 3).map((l) => l.split(/\s+/).map(Number));
  const symbols = block('ATOMIC_POSITIONS').map((l) => l.split(/\s+/)[0]!.replace(/\d+$/, ''));
  const kpts = (block('K_POINTS')[0] ?? '1 1 1').split(/\s+/).slice(0, 3).map(Number);
  const species = Object.fromEntries(block('ATOMIC_SPECIES').map((l) => l.split(/\s+/)).map((p) => [p[0]!, p[2]!]));
  const num = (k: string) => (value(k) === undefined ? undefined : Number(value(k)!.replace(/[dD]/, 'e')));
  return {
    cell,
    symbols,
    kpts,
    ecutwfc: num('ecutwfc') ?? NaN,
    ecutrho: num('ecutrho'),
    spin: num('nspin') === 2,
    smearing: (value('occupations') ?? '').toLowerCase() === 'smearing',
    pseudoDir: value('pseudo_dir'),
    species,
  };
}

function refuse(type: string, message: string): never {
  throw ApplicationFailure.create({ type, nonRetryable: true, message });
}

/**
 * The DFT activity's pre-flight on the written input, before pw.x starts: every pseudopotential a file
 * inside pseudo_dir, and the estimated cost within dft.limits. Throws a non-retryable failure.
 */
export function checkPwInput(inputFile: string, dft: Pick<DftSettings, 'pseudo_dir' | 'limits'>, where: string): DftCost {
  const p = parsePwInput(readFileSync(inputFile, 'utf8'));
  const dir = path.resolve(p.pseudoDir ?? dft.pseudo_dir);
  const valence: Record<string, number> = {};
  for (const [el, file] of Object.entries(p.species)) {
    const full = path.resolve(dir, file);
    if (path.dirname(full) !== dir) refuse(NonRetryableErrors.InvalidConfig, `dft.pseudopotentials.${el}: "${file}" must be a file name inside dft.pseudo_dir (${dir}), not a path`);
    const z = valenceElectrons(full);
    if (z === undefined) refuse(NonRetryableErrors.MissingPseudopotential, `dft.pseudopotentials.${el}: ${full} is not a readable UPF file (no z_valence in its header)`);
    valence[el] = z;
  }
  const cost = estimateDftCost({ cell: p.cell, symbols: p.symbols, kpts: p.kpts, ecutwfc: p.ecutwfc, ecutrho: p.ecutrho ?? 4 * p.ecutwfc, spin: p.spin, smearing: p.smearing, valence });
  const problems = costProblems(cost, dft.limits, where);
  if (problems.length) refuse(NonRetryableErrors.TooExpensive, `${problems.join('; ')} (nothing was started; raise the limit in dft.limits if this machine can take it)`);
  return cost;
}
