// Exploration throughput: atoms x steps per second of the exploration engine (activities/md) against
// today's ASE loop on the same ACE potential, at 64, 512 and 4,096 atoms on 1 and 2 threads, and ACE
// against the MACE teacher on the same cells; then a 4,096-atom exploration through the exploreMd
// activity function whose cut-outs are checked with pyace. All ratios come from one run.
//
//   nice -n 5 npx tsx bench/exploration-throughput.ts [--sizes 64,512,4096] [--threads 1,2] [--seconds 3]
//                                                    [--dir /tmp/autopipe-bench-exploration] [--skip-big]
//
// Potential: Si, the campaign's default ACE basis (40 functions, orders <= 3, lmax 3, nradmax 6, cutoff
// 5 Å) fitted by fitAce (150 iterations) to 60 Stillinger-Weber-labelled 64-atom cells
// (bench/si_sw_dataset.py); the MACE model: the teacher's bootstrap architecture (16x0e, 2
// interactions, r_max 4.5 Å) trained for 2 epochs by trainMace (speed does not depend on the weights).
// Both are cached in --dir. Per-route details: bench/exploration_throughput.py.
import { execa } from 'execa';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fitAce } from '../activities/ace/fit';
import { trainMace } from '../activities/mace/train';
import { exploreMd } from '../activities/md/explore';
import { ExplorationSchema, TrainingSchema } from '../common/campaign-schema';
import { projectRoot, pythonExe, pythonPath } from '../host/paths';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '64,512,4096' },
    threads: { type: 'string', default: '1,2' },
    seconds: { type: 'string', default: '3' },
    dir: { type: 'string' },
    'skip-big': { type: 'boolean' },
    out: { type: 'string' },
  },
});
const dir = path.resolve(values.dir ?? path.join(os.tmpdir(), 'autopipe-bench-exploration'));
mkdirSync(dir, { recursive: true });
const env = { PYTHONPATH: pythonPath, TF_CPP_MIN_LOG_LEVEL: '3' };
const bench = (f: string) => path.join(projectRoot, 'bench', f);

async function potential() {
  const pot = path.join(dir, 'si-ace');
  const fit = { potentialYaml: path.join(pot, 'potential.yaml'), asi: path.join(pot, 'potential.asi') };
  if (existsSync(fit.asi)) return fit;
  const data = path.join(dir, 'si-sw.pckl.gzip');
  await execa(pythonExe, [bench('si_sw_dataset.py'), '--out', data, '--count', '60', '--seed', '1', '--mace-extxyz', path.join(dir, 'si-sw-ref.extxyz')], { env });
  const r = await fitAce({ outDir: pot, datasetFile: data, elements: ['Si'], training: TrainingSchema.parse({ test_size: 0 }), seed: 1, maxiter: 150 });
  console.error(`fitted ${r.potentialYaml}: ${JSON.stringify(r.metrics)}`);
  return { potentialYaml: r.potentialYaml, asi: r.asi! };
}

async function maceModel(): Promise<string> {
  const model = path.join(dir, 'mace', 'teacher.model');
  if (existsSync(model)) return model;
  const r = await trainMace({ outDir: path.join(dir, 'mace'), name: 'teacher', trainFile: path.join(dir, 'si-sw-ref.extxyz'), seed: 1, maxEpochs: 2, hiddenIrreps: '16x0e', rMax: 4.5, batchSize: 4 });
  return r.model;
}

interface Row { atoms: number; threads: number; route: string; atom_steps_per_s: number; cpu_us_per_atom_step: number; steps: number }

const pot = await potential();
const mace = await maceModel();
const load0 = os.loadavg();
const started = new Date().toISOString();
const r = await execa(
  pythonExe,
  [bench('exploration_throughput.py'), pot.potentialYaml, pot.asi, mace, '--sizes', values.sizes!, '--threads', values.threads!, '--seconds', values.seconds!],
  { env, stderr: 'inherit' },
);
const measured = JSON.parse(r.stdout.trim().split('\n').pop()!) as { rows: Row[]; numba: string; threading_layer: string; torch: string };
const rows = measured.rows;
const get = (route: string, atoms: number, threads: number) => rows.find((x) => x.route === route && x.atoms === atoms && x.threads === threads)?.atom_steps_per_s;
const cpu = (route: string, atoms: number) => rows.find((x) => x.route === route && x.atoms === atoms && x.threads === 1)?.cpu_us_per_atom_step ?? NaN;
const sizes = values.sizes!.split(',').map(Number);
const threads = values.threads!.split(',').map(Number);
const round = (x: number | undefined, d = 1) => (x === undefined ? undefined : Math.round(x * 10 ** d) / 10 ** d);

const ratios = sizes.flatMap((n) =>
  threads.map((t) => {
    const ase = get('ase-loop', n, 1);
    const eng = get('engine', n, t);
    const batch = get('engine-batch', n, t);
    const maceRate = get('mace', n, t);
    return {
      atoms: n,
      threads: t,
      engine_vs_ase_loop: round(eng && ase ? eng / ase : undefined),
      engine_batch_vs_ase_loop: round(batch && ase ? batch / ase : undefined),
      engine_vs_pyace_evaluator: round(eng && get('pyace-eval', n, 1) ? eng / get('pyace-eval', n, 1)! : undefined),
      ace_vs_mace: round(eng && maceRate ? eng / maceRate : undefined),
      // CPU time per atom-step (one thread): robust to other load on a shared machine, blind to threading
      cpu_engine_vs_ase_loop: t === 1 ? round(cpu('ase-loop', n) / cpu('engine', n)) : undefined,
      cpu_ace_vs_mace: t === 1 ? round(cpu('mace', n) / cpu('engine', n)) : undefined,
    };
  }),
);
const perAtom = (n: number, t: number) => rows.find((x) => x.route === 'engine' && x.atoms === n && x.threads === t);
const flat = threads.map((t) => {
  const a = perAtom(512, t);
  const b = perAtom(4096, t);
  return {
    threads: t,
    us_per_atom_step_512: round(a && 1e6 / a.atom_steps_per_s, 3),
    us_per_atom_step_4096: round(b && 1e6 / b.atom_steps_per_s, 3),
    ratio_4096_to_512: round(a && b ? a.atom_steps_per_s / b.atom_steps_per_s : undefined, 3),
    cpu_us_per_atom_step_512: a?.cpu_us_per_atom_step,
    cpu_us_per_atom_step_4096: b?.cpu_us_per_atom_step,
  };
});

let big: unknown;
if (!values['skip-big']) {
  // 4,096 atoms (8x8x8 diamond cells), NPT at 1200 K: frames above gamma_select are cut down to DFT size.
  const work = path.join(dir, 'explore-4096');
  const start = path.join(work, 'start.extxyz');
  mkdirSync(work, { recursive: true });
  await execa(pythonExe, ['-c', `from ase.build import bulk; from ase.io import write; a = bulk("Si", "diamond", a=5.43, cubic=True).repeat((8, 8, 8)); a.rattle(0.02, seed=5); write(${JSON.stringify(start)}, a, format="extxyz")`], { env });
  const exploration = ExplorationSchema.parse({ temperatures: [1200], pressures: [0], steps: 200, gamma_select: 1.5, gamma_halt: 5, max_atoms_dft: 64, uncertain_starts: 0 });
  const t0 = Date.now();
  const ex = await exploreMd({ outDir: work, potential: pot.potentialYaml, activeSet: pot.asi, startStructures: start, exploration, minDistance: 1.5, seed: 3, framesOutput: path.join(work, 'frames.extxyz') });
  const check = JSON.parse((await execa(pythonExe, [bench('exploration_cutouts.py'), ex.output, path.join(work, 'frames.extxyz'), pot.potentialYaml, pot.asi, '64'], { env })).stdout.trim().split('\n').pop()!);
  big = { atoms: ex.largest_cell, steps: ex.trajectories[0]?.steps, halted: ex.halted, candidates: ex.candidates, cutouts: ex.cutouts, wall_s: (Date.now() - t0) / 1000, engine: ex.engine, check };
}

const table = [
  '| atoms | threads | ASE loop | engine (1 trajectory) | engine (8 at once) | MACE | engine / ASE loop | batch / ASE loop | ACE / MACE |',
  '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...ratios.map((x) => `| ${x.atoms} | ${x.threads} | ${get('ase-loop', x.atoms, 1) ?? ''} | ${get('engine', x.atoms, x.threads) ?? ''} | ${get('engine-batch', x.atoms, x.threads) ?? ''} | ${get('mace', x.atoms, x.threads) ?? ''} | ${x.engine_vs_ase_loop ?? ''} | ${x.engine_batch_vs_ase_loop ?? ''} | ${x.ace_vs_mace ?? ''} |`),
].join('\n');
console.log(`atom-steps per second (wall), ${os.cpus().length} cores, load average ${load0.map((x) => x.toFixed(1)).join(' ')} -> ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
console.log(table);
console.log(`\none thread, CPU time ratios: ${JSON.stringify(ratios.filter((x) => x.threads === 1).map((x) => ({ atoms: x.atoms, engine_vs_ase_loop: x.cpu_engine_vs_ase_loop, ace_vs_mace: x.cpu_ace_vs_mace })))}`);
console.log(`\nper-atom cost 512 -> 4096 atoms: ${JSON.stringify(flat)}`);
if (big) console.log(`\n4,096-atom exploration: ${JSON.stringify(big)}`);
const argv = process.argv.slice(2).join(' ');
writeFileSync(
  values.out ?? bench('exploration-throughput.results.json'),
  JSON.stringify({
    command: `nice -n 5 npx tsx bench/exploration-throughput.ts${argv ? ' ' + argv : ''}`,
    date: started,
    cores: os.cpus().length,
    loadavgBefore: load0,
    loadavgAfter: os.loadavg(),
    potential: { basis: 'campaign default (40 functions/element, orders <= 3, lmax 3, nradmax 6, cutoff 5 Å)', data: '60 SW-labelled 64-atom Si cells' },
    mace: { hidden_irreps: '16x0e', num_interactions: 2, r_max: 4.5, dtype: 'float64' },
    numba: measured.numba,
    threading_layer: measured.threading_layer,
    torch: measured.torch,
    rows,
    ratios,
    per_atom_cost: flat,
    exploration_4096: big,
  }, null, 1) + '\n',
);
