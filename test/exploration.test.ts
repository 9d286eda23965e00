// The exploration engine on real tools: the compiled kernel against pyace, the MD ladder (NPT relaxes the
// cell, NVT keeps it), halting and harvesting on gamma, heartbeats with step and gamma, cancellation, a
// potential that blows up, a 4,096-atom cell cut down to DFT-sized cells, and the LAMMPS hand-over fitAce
// writes. The potential: Si fitted by fitAce to Stillinger-Weber-labelled cells (bench/si_sw_dataset.py).
import { MockActivityEnvironment } from '@temporalio/testing';
import { CancelledFailure } from '@temporalio/common';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { fitAce } from '../activities/ace/fit';
import { exploreMd, type ExploreInput, type ExploreOutput } from '../activities/md/explore';
import { ExplorationSchema, TrainingSchema, type Campaign } from '../common/campaign-schema';
import { projectRoot, pythonExe, pythonPath } from '../host/paths';

const env = { PYTHONPATH: pythonPath, TF_CPP_MIN_LOG_LEVEL: '3', AUTOPIPE_ML_THREADS: '2' };
const fixture = (f: string) => path.join(projectRoot, 'test', 'fixtures', 'md', f);
const pyLast = async (args: string[]) => JSON.parse((await execa(pythonExe, args, { env, cwd: projectRoot })).stdout.trim().split('\n').pop()!);

let dir: string;
let pot: { potentialYaml: string; asi: string };

/** Write ASE structures made by a Python expression `atoms` (a list) to an extxyz file. */
async function starts(name: string, code: string): Promise<string> {
  const out = path.join(dir, `${name}.extxyz`);
  await execa(pythonExe, ['-c', `import numpy as np\nfrom ase.build import bulk\nfrom ase.io import write\n${code}\nwrite(${JSON.stringify(out)}, atoms, format="extxyz")`], { env });
  return out;
}

function input(name: string, startStructures: string, exploration: Partial<Campaign['exploration']>): ExploreInput {
  return {
    outDir: path.join(dir, name),
    potential: pot.potentialYaml,
    activeSet: pot.asi,
    startStructures,
    exploration: ExplorationSchema.parse({ uncertain_starts: 0, ...exploration }),
    minDistance: 1.5,
    seed: 5,
  };
}

function processesIn(cwd: string): string[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readlinkSync(`/proc/${p}/cwd`) === cwd;
    } catch {
      return false;
    }
  });
}

beforeAll(async () => {
  process.env.AUTOPIPE_ML_THREADS = '2';
  dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-explore-'));
  const data = path.join(dir, 'si-sw.pckl.gzip');
  await execa(pythonExe, [path.join(projectRoot, 'bench', 'si_sw_dataset.py'), '--out', data, '--count', '24', '--seed', '2'], { env });
  const training = TrainingSchema.parse({ number_of_functions_per_element: 20, maxiter: 60, test_size: 0 });
  const fit = await fitAce({ outDir: path.join(dir, 'potentials', 'gen-0'), datasetFile: data, elements: ['Si'], training, seed: 1 });
  pot = { potentialYaml: fit.potentialYaml, asi: fit.asi! };
});

describe('exploration engine', () => {
  it('evaluates what pyace evaluates: energies, forces, stresses, gamma (Al-Cu, order-4 Si, the fitted Si)', async () => {
    const pots = [pot];
    for (const [els, order] of [['Al,Cu', '3'], ['Si', '4']] as const) {
      pots.push(await pyLast([fixture('random_potential.py'), path.join(dir, `rnd-${els}`), '--elements', els, '--order', order]).then((r) => ({ potentialYaml: r.potential, asi: r.active_set })));
    }
    for (const p of pots) {
      const r = await pyLast([fixture('kernel_check.py'), p.potentialYaml, p.asi]);
      expect(r.max_abs_dev.energy).toBeLessThan(1e-8); // eV/atom
      expect(r.max_abs_dev.forces).toBeLessThan(1e-6 * Math.max(1, r.scale.forces)); // eV/Å
      expect(r.max_abs_dev.stress).toBeLessThan(1e-7);
      expect(r.max_abs_dev.gamma_rel).toBeLessThan(1e-6);
      expect(r.scale.gamma).toBeGreaterThan(1); // the structures do extrapolate: the grade is tested, not zero
    }
  });

  it('runs every start x temperature x pressure; NPT relaxes the cell, NVT keeps it', async () => {
    const file = await starts('bulk', 'atoms = [bulk("Si", "diamond", a=a, cubic=True).repeat((2, 2, 2)) for a in (5.30, 5.55)]');
    const npt = await exploreMd(input('npt', file, { temperatures: [300, 600], pressures: [0, 5], steps: 300, gamma_select: 1e3, gamma_halt: 1e4 }));
    expect(npt.trajectories.map((t) => t.id).sort()).toEqual(['s0-T300-P0', 's0-T300-P5', 's0-T600-P0', 's0-T600-P5', 's1-T300-P0', 's1-T300-P5', 's1-T600-P0', 's1-T600-P5']);
    expect(npt.trajectories.every((t) => t.steps === 300 && !t.halted && t.ensemble === 'npt')).toBe(true);
    const vol = (id: string) => npt.trajectories.find((t) => t.id === id)!.volume_ratio;
    expect(vol('s0-T300-P0')).toBeGreaterThan(1.01); // compressed start (a = 5.30 Å) expands at 0 GPa
    expect(vol('s1-T300-P0')).toBeLessThan(0.99); // stretched start (a = 5.55 Å) contracts
    expect(vol('s0-T300-P5')).toBeLessThan(vol('s0-T300-P0')); // 5 GPa holds it smaller
    expect(npt.engine.atom_steps).toBe(8 * 64 * 300);
    const nvt = await exploreMd(input('nvt', file, { temperatures: [600], ensemble: 'nvt', steps: 100, gamma_select: 1e3, gamma_halt: 1e4 }));
    expect(nvt.trajectories.map((t) => [t.id, t.volume_ratio])).toEqual([['s0-T600-nvt', 1], ['s1-T600-nvt', 1]]);
    // Langevin (100 fs) pulls the temperature to 600 K: half the initial kinetic energy goes into the lattice first
    expect(nvt.trajectories.every((t) => t.mean_temperature > 300 && t.mean_temperature < 800)).toBe(true);
  });

  it('halts above gamma_halt, harvests frames above gamma_select, heartbeats step and gamma', async () => {
    const file = await starts('hot', 'atoms = [bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 2, 2))]');
    const menv = new MockActivityEnvironment();
    const beats: Record<string, number>[] = [];
    menv.on('heartbeat', (d: unknown) => {
      if (d && typeof d === 'object' && 'step' in d) beats.push(d as Record<string, number>);
    });
    const r = (await menv.run(exploreMd, input('halt', file, { temperatures: [2500], steps: 2000, gamma_select: 1.2, gamma_halt: 3 }))) as ExploreOutput;
    const t = r.trajectories[0]!;
    expect(t.halted).toBe(true);
    expect(t.reason).toMatch(/^gamma [\d.]+ > 3$/);
    expect(t.gamma_max).toBeGreaterThan(3);
    const frames = readFileSync(r.output, 'utf8');
    expect(frames).toMatch(/source="md_halt"/);
    expect(r.gamma.every((g) => g >= 1.2)).toBe(true);
    expect(r.above_select).toBe(r.candidates);
    expect(beats.length).toBeGreaterThan(0);
    expect(beats.at(-1)).toMatchObject({ step: t.steps, halted: 1, gamma_max: expect.any(Number), trajectories: 1 });
  });

  it('stops when cancelled, leaving no process', async () => {
    const file = await starts('long', 'atoms = [bulk("Si", "diamond", a=5.43, cubic=True).repeat((3, 3, 3))]');
    const menv = new MockActivityEnvironment();
    menv.on('heartbeat', (d: unknown) => {
      if (d && typeof d === 'object' && 'step' in d && (d as { step: number }).step > 0) menv.cancel();
    });
    const inp = input('cancel', file, { temperatures: [300], steps: 10_000_000, gamma_select: 1e3, gamma_halt: 1e4 });
    const err = await menv.run(exploreMd, inp).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CancelledFailure);
    await new Promise((res) => setTimeout(res, 1500));
    expect(processesIn(inp.outDir)).toEqual([]);
    expect(existsSync(path.join(inp.outDir, 'candidates.extxyz'))).toBe(false);
  });

  it('halts a trajectory whose potential blows up, keeping no candidate with atoms too close', async () => {
    const file = await starts('crushed', 'a = bulk("Si", "diamond", a=5.43, cubic=True).repeat((2, 2, 2)); a.positions[1] = a.positions[0] + [0.4, 0.3, 0.2]; atoms = [a]');
    const r = await exploreMd(input('blowup', file, { temperatures: [300], steps: 50, gamma_select: 1e3, gamma_halt: 1e4 }));
    expect(r.halted).toBe(1);
    expect(r.trajectories[0]!.reason).toMatch(/blew up/);
    expect(r.candidates).toBe(0); // the halting frame is harvested, then refused for DFT (closer than min_distance)
  });

  it('explores 4,096 atoms: cut-outs within max_atoms_dft keep the centre gamma (pyace, within 10 %)', async () => {
    const file = await starts('big', 'atoms = [bulk("Si", "diamond", a=5.43, cubic=True).repeat((8, 8, 8))]');
    const inp = { ...input('big', file, { temperatures: [2000], steps: 40, gamma_select: 1.5, gamma_halt: 1e4, max_atoms_dft: 64 }), framesOutput: path.join(dir, 'big', 'frames.extxyz') };
    const r = await exploreMd(inp);
    expect(r.largest_cell).toBe(4096);
    expect(r.cutouts).toBeGreaterThan(0);
    const check = await pyLast([path.join(projectRoot, 'bench', 'exploration_cutouts.py'), r.output, inp.framesOutput, pot.potentialYaml, pot.asi, '64']);
    expect(check).toMatchObject({ within_max_atoms_dft: true, all_within_10_percent: true, from_atoms: 4096 });
    expect(check.cutouts).toBe(r.cutouts);
    expect(check.max_rel_gamma_diff).toBeLessThan(1e-6); // exact environment, not just within 10 %
  });

  it('fitAce leaves the LAMMPS hand-over beside the potential', () => {
    const d = path.dirname(pot.potentialYaml);
    for (const f of ['potential.yaml', 'potential.yace', 'potential.asi', 'in.lammps', 'structure.data']) expect(existsSync(path.join(d, f))).toBe(true);
    const text = readFileSync(path.join(d, 'in.lammps'), 'utf8');
    expect(text).toMatch(/^pair_coeff\s+\* \* potential\.yaml potential\.asi Si$/m);
    expect(readFileSync(path.join(d, 'structure.data'), 'utf8')).toMatch(/1 atom types/);
  });
});
