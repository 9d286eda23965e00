// Every key of the campaign schema changes what the campaign does (issue 13 item 1). The campaign runs
// for real on the test server (every workflow, child workflow and decision is the production code), its
// activities replaced by stand-ins that record what each would hand its tool (test/helpers/stand-ins.ts):
// the pw.x namelists, Pacemaker's input.yaml, mace_run_train's argv, the MD and generator payloads, the
// routing policy, the DFT picks, the report. For each leaf key of the schema, the run with a changed
// value must hand the tools something else than the run without. The generator is the real one, so the
// campaign's generated set is also counted by mode (vacancies, shears, substitutions).
import { NativeConnection, Worker } from '@temporalio/worker';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignSchema } from '../common/campaign-schema';
import { TaskQueues } from '../common/queues';
import { temporalSettings } from '../host/temporal-config';
import { workflowsPath } from '../workers/worker';
import { campaignWorkflow, type CampaignOutcome } from '../workflows/campaign';
import { statusQuery } from '../workflows/campaign-api';
import { generated, observed, standInControl, standInDft, standInMl } from './helpers/stand-ins';
import { testClient, useTestServerEnv } from './helpers/temporal';
import { pyJson } from './helpers/python';

type Raw = Record<string, unknown>;
const root = mkdtempSync(path.join(os.tmpdir(), 'autopipe-keys-'));
const poscar = path.join(root, 'POSCAR');

/** A CuAu alloy campaign whose every section matters: committee teacher, two generations, DFT picks. */
const base = (): Raw => ({
  seed: 5,
  system: { name: 'CuAu', elements: ['Cu', 'Au'], prototype: { kind: 'fcc', a: 3.9, cubic: true } },
  generation: { count: 12, vacancy_fraction: 0.2, shear_fraction: 0.3, interstitial_fraction: 0.1, antisite_fraction: 0.1, substitution: { Cu: 3, Au: 1 } },
  teacher: { models: ['/tmp/autopipe-stand-in/m0.model', '/tmp/autopipe-stand-in/m1.model'], accept_threshold: 0.1, dft_threshold: 0.4, batch_size: 5, between: 'queue' },
  dft: { pseudopotentials: { Cu: 'Cu.pz-d-rrkjus.UPF', Au: 'Au.pz-rrkjus_aewfc.UPF' } },
  training: {},
  exploration: { temperatures: [300, 900], pressures: [0] },
  // One generation covers every phase (the refit at its end is incremental): half the runs of two.
  budgets: { dft_total: 20, dft_per_generation: 3, max_generations: 1 },
});

const get = (o: Raw, p: string[]): unknown => p.reduce<unknown>((x, k) => (x as Raw | undefined)?.[k], o);
function set(o: Raw, p: string[], v: unknown): Raw {
  const out = structuredClone(o);
  let cur = out;
  for (const k of p.slice(0, -1)) cur = (cur[k] ??= {}) as Raw;
  cur[p[p.length - 1]!] = v;
  return out;
}

/** The context a key needs to matter (it only acts then), and the changed value. */
interface Change {
  ctx?: (c: Raw) => Raw;
  to: unknown;
}
const single = (c: Raw) => set(c, ['teacher', 'models'], ['/tmp/autopipe-stand-in/m0.model']);
const bootstrap = (c: Raw) => set(c, ['teacher', 'models'], []);
const slurm = (c: Raw) => set(c, ['dft', 'launcher'], 'slurm');
const hcp = (c: Raw) => set(set(c, ['system', 'prototype'], { kind: 'hcp', a: 2.9, c: 4.7 }), ['generation', 'substitution'], { Cu: 1, Au: 1 });
const CHANGES: Record<string, Change> = {
  id: { to: 'another-id' },
  seed: { to: 6 },
  'system.name': { to: 'AuCu' },
  'system.elements': { to: ['Au', 'Cu'] },
  'system.prototype.kind': { ctx: (c) => set(c, ['system', 'supercell'], [2, 1, 1]), to: 'bcc' },
  'system.prototype.a': { to: 3.8 },
  'system.prototype.c': { ctx: hcp, to: 4.9 },
  'system.prototype.symbols': { ctx: (c) => set(set(c, ['generation', 'substitution'], undefined), ['generation', 'antisite_fraction'], 0), to: ['Au'] },
  'system.prototype.cubic': { ctx: (c) => set(c, ['system', 'supercell'], [2, 2, 1]), to: false },
  'system.structure_file': { to: poscar },
  'system.supercell': { to: [2, 1, 1] },
  'generation.count': { to: 11 },
  'generation.rattle_sigma': { to: 0.04 },
  'generation.volume_range': { to: [0.95, 1.05] },
  'generation.shear_max': { to: 0.05 },
  'generation.shear_fraction': { to: 0.4 },
  'generation.vacancy_fraction': { to: 0.3 },
  'generation.interstitial_fraction': { to: 0.2 },
  'generation.antisite_fraction': { to: 0.2 },
  'generation.surface_fraction': { to: 0.2 },
  'generation.max_defects': { to: 2 },
  'generation.substitution': { to: { Cu: 1, Au: 1 } },
  'generation.surface.miller': { ctx: (c) => set(c, ['generation', 'surface_fraction'], 0.2), to: [[1, 1, 1]] },
  'generation.surface.layers': { ctx: (c) => set(c, ['generation', 'surface_fraction'], 0.2), to: 5 },
  'generation.surface.vacuum': { ctx: (c) => set(c, ['generation', 'surface_fraction'], 0.2), to: 9 },
  'generation.min_distance': { to: 1.4 },
  // CHGNet refuses the committee's thresholds (common/rules.ts MACE_ONLY_TEACHER_KEYS): both sides at the defaults.
  'teacher.kind': { ctx: (c) => set(set(set(c, ['teacher', 'models'], []), ['teacher', 'accept_threshold'], 0.05), ['teacher', 'dft_threshold'], 0.2), to: 'chgnet' },
  'teacher.models': { to: ['/tmp/autopipe-stand-in/m0.model', '/tmp/autopipe-stand-in/m2.model'] },
  'teacher.bootstrap.members': { ctx: bootstrap, to: 3 },
  'teacher.bootstrap.seed_structures': { ctx: bootstrap, to: 8 },
  'teacher.bootstrap.max_epochs': { ctx: bootstrap, to: 30 },
  'teacher.bootstrap.hidden_irreps': { ctx: bootstrap, to: '8x0e' },
  'teacher.bootstrap.r_max': { ctx: bootstrap, to: 5 },
  'teacher.accept_threshold': { to: 0.2 },
  'teacher.dft_threshold': { to: 0.5 },
  'teacher.gamma_accept_threshold': { ctx: single, to: 3 },
  'teacher.gamma_dft_threshold': { ctx: single, to: 8 },
  'teacher.between': { to: 'discard' },
  'teacher.label_weight': { to: 0.5 },
  'teacher.batch_size': { to: 4 },
  'teacher.finetune.max_epochs': { to: 10 },
  'teacher.finetune.lr': { to: 0.01 },
  'teacher.finetune.energy_weight': { to: 50 },
  'teacher.finetune.e0s': { to: 'estimated' },
  'teacher.finetune.replay_file': { to: '/tmp/autopipe-stand-in/replay.extxyz' },
  'teacher.surrogates.per_structure': { to: 2 },
  'teacher.surrogates.rattle_sigma': { to: 0.05 },
  'teacher.surrogates.strain_max': { to: 0.03 },
  'teacher.surrogates.weight': { to: 0.5 },
  'teacher.surrogates.max_teacher_error_mev_atom': { to: 12 },
  'teacher.device': { to: 'cuda' },
  'dft.command': { to: 'mpirun -np {ranks} pw.x' },
  'dft.ranks': { to: 2 },
  'dft.pseudo_dir': { ctx: (c) => set(c, ['dft', 'pseudo_dir'], path.join(root, 'pseudo')), to: '/usr/share/espresso/pseudo' },
  'dft.pseudopotentials': { to: { Cu: 'Cu.pbe-kjpaw.UPF', Au: 'Au.pz-rrkjus_aewfc.UPF' } },
  'dft.ecutwfc': { to: 33 },
  'dft.ecutrho': { to: 300 },
  'dft.kspacing': { to: 0.06 },
  'dft.smearing': { to: 'gaussian' },
  'dft.degauss': { to: 0.03 },
  'dft.spin': { to: true },
  'dft.starting_magnetization': { ctx: (c) => set(c, ['dft', 'spin'], true), to: { Cu: 0.2 } },
  'dft.conv_thr': { to: 1e-7 },
  'dft.electron_maxstep': { to: 150 },
  'dft.mixing_beta': { to: 0.4 },
  'dft.max_retries': { to: 2 },
  'dft.train_physics_changed': { to: false },
  'dft.concurrency': { to: 1 },
  'dft.timeout_minutes': { to: 60 },
  'dft.launcher': { to: 'slurm' },
  'dft.slurm.partition': { ctx: slurm, to: 'debug' },
  'dft.slurm.account': { ctx: slurm, to: 'materials' },
  'dft.slurm.time_limit': { ctx: slurm, to: '2:00:00' },
  'dft.slurm.nodes': { ctx: slurm, to: 2 },
  'dft.slurm.sbatch': { ctx: slurm, to: ['--mem=8G'] },
  'dft.slurm.modules': { ctx: slurm, to: ['quantum-espresso/7.2'] },
  'dft.slurm.soft_stop_minutes': { ctx: slurm, to: 10 },
  'dft.slurm.poll_seconds': { ctx: slurm, to: 60 },
  'dft.slurm.max_queue_hours': { ctx: slurm, to: 24 },
  'dft.limits.max_atoms': { to: 500 },
  'dft.limits.max_kpoints': { to: 10000 },
  'dft.limits.max_fft_points': { to: 5e7 },
  'dft.limits.max_memory_gb': { to: 4 },
  'training.cutoff': { to: 6 },
  'training.number_of_functions_per_element': { to: 20 },
  'training.ranks_max_order': { to: 2 },
  'training.lmax': { to: 2 },
  'training.nradmax': { to: 5 },
  'training.radial_basis': { to: 'ChebExpCos' },
  'training.embedding': { to: 'Linear' },
  'training.kappa': { to: 0.5 },
  'training.L1_coeffs': { to: 1e-7 },
  'training.L2_coeffs': { to: 1e-7 },
  'training.weighting': { to: 'energy' },
  'training.optimizer': { to: 'L-BFGS-B' },
  'training.maxiter': { to: 100 },
  'training.incremental_maxiter': { to: 40 },
  'training.batch_size': { to: 20 },
  'training.test_size': { to: 0.2 },
  'training.reference_energies': { to: { Cu: -1, Au: -2 } },
  'training.zbl_inner_cutoff': { to: 1.2 },
  'training.zbl_margin': { to: 0.5 },
  'training.replay_buffer_size': { to: 300 },
  'training.replay_selection': { to: 'd-optimal' },
  'training.backend': { to: 'pyace' },
  'training.seed': { to: 9 },
  'exploration.temperatures': { to: [300, 1200] },
  'exploration.pressures': { to: [0, 5] },
  'exploration.steps': { to: 300 },
  'exploration.timestep_fs': { to: 2 },
  'exploration.gamma_select': { to: 2 },
  'exploration.gamma_halt': { to: 6 },
  'exploration.max_atoms_dft': { to: 32 },
  'exploration.supercell': { to: [1, 1, 1] },
  'exploration.ensemble': { to: 'nvt' },
  'exploration.start_structures': { to: 3 },
  'exploration.uncertain_starts': { to: 0 },
  'exploration.random_share': { to: 0.5 },
  'validation.share': { to: 0.4 },
  'validation.per_pool': { to: 2 },
  'validation.max_fraction': { to: 0.3 },
  'budgets.dft_total': { to: 2 },
  'budgets.dft_per_generation': { to: 2 },
  'budgets.max_generations': { to: 2 },
};

/** Leaf keys of the campaign schema (objects are walked; records, arrays and tuples are leaves). */
function leafKeys(): string[] {
  const unwrap = (s: unknown): { _zod: { def: { type: string; shape?: Record<string, unknown>; innerType?: unknown; in?: unknown } } } => {
    let x = s as { _zod: { def: { type: string; innerType?: unknown; in?: unknown } } };
    while (['default', 'optional', 'nullable', 'pipe', 'prefault'].includes(x._zod.def.type)) x = (x._zod.def.innerType ?? x._zod.def.in) as typeof x;
    return x as never;
  };
  const walk = (s: unknown, p: string[]): string[] => {
    const d = unwrap(s)._zod.def;
    return d.type === 'object' ? Object.entries(d.shape!).flatMap(([k, v]) => walk(v, [...p, k])) : [p.join('.')];
  };
  return walk(CampaignSchema, []);
}

let connection: NativeConnection;
let workers: Worker[] = [];
let running: Promise<void>[] = [];
let n = 0;

/** Run one campaign to its end; what its tools were handed (run directory and id normalised). */
async function run(raw: Raw): Promise<{ outcome: CampaignOutcome; seen: string[]; id: string }> {
  const client = await testClient();
  const id = `keys-${process.pid}-${n++}`;
  const runDir = path.join(root, id);
  const campaign = { run_directory: runDir, ...raw, id: (raw.id as string | undefined) ?? id };
  const cid = campaign.id as string;
  const dir = campaign.run_directory as string;
  const outcome = await client.workflow.execute(campaignWorkflow, { taskQueue: TaskQueues.control, workflowId: cid, args: [campaign] });
  const norm = (s: string) => s.split(dir).join('<RUN>');
  const seen = (observed.get(cid) ?? []).map((o) => norm(`${o.type} ${JSON.stringify(o.obs)}`)).sort();
  seen.push(norm(`outcome ${JSON.stringify({ stop: outcome.stopReason, generations: outcome.generations, dft: outcome.dft, id: outcome.campaignId === cid && raw.id ? cid : 'same' })}`));
  return { outcome, seen, id: cid };
}

beforeAll(async () => {
  useTestServerEnv();
  await pyJson(`
import json
from ase.build import bulk
from ase.io import write
write(${JSON.stringify(poscar)}, bulk('Cu', 'fcc', a=3.9, cubic=True), format='vasp')
print('{}')`);
  mkdirSync(path.join(root, 'pseudo'));
  for (const f of ['Cu.pz-d-rrkjus.UPF', 'Au.pz-rrkjus_aewfc.UPF']) symlinkSync(path.join('/usr/share/espresso/pseudo', f), path.join(root, 'pseudo', f));
  mkdirSync('/tmp/autopipe-stand-in', { recursive: true });
  for (const f of ['m0.model', 'm1.model', 'm2.model', 'replay.extxyz']) writeFileSync(`/tmp/autopipe-stand-in/${f}`, '');
  const s = temporalSettings();
  connection = await NativeConnection.connect({ address: s.address });
  const mk = (taskQueue: string, activities: object, wf = false) =>
    Worker.create({ connection, namespace: s.namespace, taskQueue, activities, ...(wf ? { workflowsPath } : {}), maxConcurrentActivityTaskExecutions: 20 });
  workers = [await mk(TaskQueues.control, standInControl, true), await mk(TaskQueues.dft, standInDft), await mk(TaskQueues.ml, standInMl)];
  running = workers.map((w) => w.run());
}, 120_000);
afterAll(async () => {
  workers.forEach((w) => w.shutdown());
  await Promise.allSettled(running);
  await connection?.close();
});

describe('every campaign key reaches the code that uses it', () => {
  it('the list of changes covers exactly the schema\'s leaf keys (a new key needs its entry here)', () => {
    expect(Object.keys(CHANGES).sort()).toEqual(leafKeys().filter((k) => k !== 'run_directory').sort());
  });

  it('the campaign generates every mode of its generation section: vacancies, shears, interstitials, antisites, the alloy', async () => {
    const r = await run(base());
    const gen = generated.get(`${r.id}:gen-0-candidates`)!;
    // 12 candidates: 30 % shear, 20 % vacancy, 10 % interstitial, 10 % antisite, the rest bulk (largest remainder).
    expect(gen.modes).toEqual({ bulk: 4, shear: 4, vacancy: 2, interstitial: 1, antisite: 1, surface: 0 });
    const counts = await pyJson<{ modes: Record<string, number>; au: number[]; natoms: number[] }>(`
import json, collections
from ase.io import read
frames = read(${JSON.stringify(path.join(root, r.id, 'structures', 'gen-0-candidates.extxyz'))}, ':')
print(json.dumps({'modes': collections.Counter(a.info['config_type'] for a in frames), 'au': [a.get_chemical_symbols().count('Au') for a in frames],
                  'natoms': [len(a) for a in frames]}))`);
    expect(counts.modes).toMatchObject({ bulk: 4, shear: 4, vacancy: 2, interstitial: 1, antisite: 1 });
    // substitution {Cu: 3, Au: 1} of the 4-atom cell: one Au in every structure (a vacancy may take it)
    expect(counts.au.filter((x) => x === 1).length).toBeGreaterThanOrEqual(10);
    expect(counts.natoms.filter((x) => x === 3)).toHaveLength(2); // the two vacancy cells
    expect(r.outcome.generations).toBe(1);
  });

  it('MD starts are the system cell times exploration.supercell, not the bare unit cell', async () => {
    // A 4-atom cubic fcc unit, system.supercell [2, 1, 1]: 8-atom system cells, so exploration.supercell
    // [1, 1, 1] explores 8-atom cells (7 with a vacancy, 9 with an interstitial), never the 4-atom unit.
    const c = set(set(base(), ['system', 'supercell'], [2, 1, 1]), ['exploration', 'supercell'], [1, 1, 1]);
    const r = await run(c);
    const natoms = await pyJson<number[]>(`
import json
from ase.io import read
print(json.dumps([len(a) for a in read(${JSON.stringify(path.join(root, r.id, 'structures', 'gen-0-md-starts.extxyz'))}, ':')]))`);
    expect(natoms.length).toBeGreaterThan(0);
    expect(natoms).toContain(8);
    expect(natoms.every((x) => x >= 7 && x <= 9)).toBe(true);
  });

  it('changing any key changes what the campaign hands its tools', { timeout: 40 * 60_000 }, async () => {
    // AUTOPIPE_KEYS=dft.slurm,exploration.ensemble walks only the keys with those prefixes (while developing).
    const only = process.env.AUTOPIPE_KEYS?.split(',').filter(Boolean);
    const keys = Object.keys(CHANGES).filter((k) => !only || only.some((p) => k.startsWith(p)));
    const baselines = new Map<string, Promise<string[]>>();
    const baseline = (ctx?: (c: Raw) => Raw) => {
      const c = ctx ? ctx(base()) : base();
      const k = JSON.stringify(c);
      if (!baselines.has(k)) baselines.set(k, run(c).then((r) => r.seen));
      return baselines.get(k)!;
    };
    const problems: string[] = [];
    for (let i = 0; i < keys.length; i += 8) {
      await Promise.all(
        keys.slice(i, i + 8).map(async (key) => {
          const ch = CHANGES[key]!;
          const p = key.split('.');
          const c0 = ch.ctx ? ch.ctx(base()) : base();
          if (JSON.stringify(get(c0, p)) === JSON.stringify(ch.to)) return void problems.push(`${key}: the change equals the baseline`);
          try {
            const before = await baseline(ch.ctx);
            const after = (await run(set(c0, p, ch.to))).seen;
            if (JSON.stringify(after) === JSON.stringify(before)) problems.push(`${key}: changing it changed nothing`);
          } catch (err) {
            problems.push(`${key}: the campaign failed: ${String((err as Error).cause ?? err).slice(0, 300)}`);
          }
        }),
      );
    }
    expect(problems).toEqual([]);
  });

  it('teacher.kind sevennet: fine-tuned on the seed DFT labels and then each generation, labelling with its latest file', async () => {
    const t = { kind: 'sevennet', batch_size: 5, between: 'queue', bootstrap: { seed_structures: 6 }, finetune: { max_epochs: 7, lr: 0.0003, energy_weight: 500 } };
    const r = await run({ ...base(), teacher: t });
    const seen = r.seen.join('\n');
    // The bootstrap starts from the wheel's weights (no foundation file), at teacher.finetune's settings.
    expect(seen).toMatch(/sevennet fine-tune \{"seed":\d+,"maxEpochs":7,"lr":0.0003,"energyWeight":500,"validFraction":0.2\}/);
    expect(seen).toContain('"oracle":{"kind":"sevennet","models":["/stand-in/tuned-sevennet-seed.pt"],"device":"cpu"}');
    // A generation's fine-tune starts from the file in use, and the adopted one labels from then on.
    expect(seen).toContain('sevennet fine-tune {"foundation":"/stand-in/tuned-sevennet-seed.pt"');
    expect(seen).toContain('"oracle":{"kind":"sevennet","models":["/stand-in/tuned-sevennet-again.pt"],"device":"cpu"}');
    expect(seen).not.toMatch(/sevennet reference|mace_run_train|mace fine-tune/);
    const s = await (await testClient()).workflow.getHandle(r.id).query(statusQuery);
    const decisions = s.decisions.flatMap((d) => d.decisions).join('\n');
    expect(decisions).toContain('teacher: SevenNet-0 fine-tuned on 6 seed DFT labels');
  });

  it('teacher.kind sevennet with finetune.max_epochs 0: zero-shot, an energy reference on seed DFT labels, never fine-tuned', async () => {
    const t = { kind: 'sevennet', batch_size: 5, between: 'queue', bootstrap: { seed_structures: 6 }, finetune: { max_epochs: 0 } };
    const r = await run({ ...base(), teacher: t });
    const seen = r.seen.join('\n');
    expect(seen).toContain('sevennet reference {"device":"cpu"}');
    expect(seen).toContain('"oracle":{"kind":"sevennet","models":["<RUN>/teacher/gen-0/sevennet-reference.json"],"device":"cpu"}');
    expect(seen).not.toMatch(/fine-tune|mace_run_train/);
    const s = await (await testClient()).workflow.getHandle(r.id).query(statusQuery);
    const decisions = s.decisions.flatMap((d) => d.decisions).join('\n');
    expect(decisions).toContain('teacher: SevenNet-0 zero-shot, its energy reference fitted on 6 seed DFT labels');
    expect(decisions).toContain('teacher.finetune.max_epochs is 0: the teacher is not fine-tuned, no surrogates');
    expect(r.outcome.dft.used).toBeGreaterThanOrEqual(6);
  });

  it('teacher.kind chgnet with finetune.max_epochs 0: only the energy reference refitted, never trained', async () => {
    const t = { kind: 'chgnet', batch_size: 5, between: 'queue', bootstrap: { seed_structures: 6 }, finetune: { max_epochs: 0 } };
    const r = await run({ ...base(), teacher: t });
    const seen = r.seen.join('\n');
    expect(seen).toMatch(/chgnet fine-tune \{"seed":\d+,"maxEpochs":0,/);
    expect(seen.match(/chgnet fine-tune/g)).toHaveLength(1);
    const s = await (await testClient()).workflow.getHandle(r.id).query(statusQuery);
    const decisions = s.decisions.flatMap((d) => d.decisions).join('\n');
    expect(decisions).toContain('teacher: CHGNet zero-shot, its energy reference fitted on 6 seed DFT labels');
    expect(decisions).toContain('teacher.finetune.max_epochs is 0: the teacher is not fine-tuned, no surrogates');
  });

  it('run_directory: the campaign keeps its run where the file says', async () => {
    const dir = path.join(root, 'elsewhere');
    const r = await run({ ...base(), run_directory: dir });
    expect(r.seen.join('\n')).toContain('<RUN>/datasets'); // the tools' paths are inside it
    expect(existsSync(path.join(dir, 'campaign.resolved.json'))).toBe(true);
  });
});
