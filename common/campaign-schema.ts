// The campaign file's one schema. The same plain-JSON object is what the CLI reads from YAML and what
// the Temporal UI's "Start workflow" form sends, so workflows validate it again with this schema.
// Every object is strict: an unknown key is an error, never silently ignored.
import { z } from 'zod';
import { isElement } from './elements';
import { acceptDftProblem, chgnetMaceOnlyProblems, chgnetModelsProblem, gammaProblem, sevennetProblems, zeroEpochProblems, type Problem } from './rules';
import { idProblem, SAFE_ID, SAFE_ID_RULE } from './ids';
import { LauncherKinds, SlurmSchema } from './launcher-schema';

const num = () => z.number({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a number') });
const positive = () => num().positive('must be > 0');
const nonNegative = () => num().nonnegative('must be >= 0');
const posInt = () => num().int('must be an integer').positive('must be > 0');
const nonNegInt = () => num().int('must be an integer').nonnegative('must be >= 0');
const element = () => z.string().refine(isElement, { error: (iss) => `unknown element "${String(iss.input)}"` });

export const PrototypeSchema = z.strictObject({
  kind: z.enum(['diamond', 'fcc', 'bcc', 'hcp', 'sc', 'rocksalt', 'zincblende', 'wurtzite', 'cesiumchloride', 'fluorite']),
  a: positive().describe('lattice constant in Å'),
  c: positive().optional().describe('c lattice constant in Å (hcp, wurtzite)'),
  symbols: z.array(element()).min(1).optional().describe('species on the prototype sites; default: system.elements'),
  cubic: z.boolean().default(false),
});

export const SystemSchema = z
  .strictObject({
    name: z.string().min(1, 'must not be empty').describe('short label, e.g. "Si"; shown in the UI'),
    elements: z
      .array(element())
      .min(1, 'list at least one element')
      .refine((els) => new Set(els).size === els.length, { error: (iss) => `list each element once (got ${(iss.input as string[]).join(', ')})` }),
    prototype: PrototypeSchema.optional(),
    structure_file: z.string().min(1).optional().describe('any ASE-readable file, relative to the campaign file'),
    supercell: z.tuple([posInt(), posInt(), posInt()]).default([1, 1, 1]),
  })
  .refine((s) => s.prototype !== undefined || s.structure_file !== undefined, {
    error: 'give either prototype or structure_file',
    path: ['prototype'],
  });

/** Structures per generator call; the generator also bounds their total atoms (activities/structures/generator.py). */
export const MAX_GENERATED = 100_000;

const share = () => z.number().min(0, 'must be >= 0').max(1, 'must be <= 1');
const int = () => num().int('must be an integer');

// Each generated structure gets one mode; the *_fraction shares pick how many, the rest is plain
// isotropic strain ("bulk"). See activities/structures/generator.py.
export const GenerationSchema = z
  .strictObject({
    count: posInt().max(MAX_GENERATED, `must be <= ${MAX_GENERATED} (generate larger pools in batches)`).default(40),
    rattle_sigma: nonNegative().default(0.05).describe('Gaussian displacement, Å'),
    volume_range: z.tuple([positive(), positive()]).default([0.94, 1.06]).describe('min/max volume ratio'),
    shear_max: nonNegative().default(0.03).describe('max absolute strain component e_ij of shear structures, F = s(I + e)'),
    shear_fraction: share().default(0.3).describe('share of structures with anisotropic/shear strain'),
    vacancy_fraction: share().default(0.1).describe('share of structures with vacancies'),
    interstitial_fraction: share().default(0).describe('share of structures with interstitial atoms'),
    antisite_fraction: share().default(0).describe('share of structures with swapped unlike atoms (needs two species)'),
    surface_fraction: share().default(0).describe('share of structures that are slabs with vacuum'),
    max_defects: posInt().default(1).describe('point defects per defect structure, drawn from 1..max_defects'),
    substitution: z.record(z.string(), nonNegative()).optional().describe('random alloy: share of sites per element, e.g. {Cu: 3, Au: 1}'),
    surface: z
      .strictObject({
        miller: z.array(z.tuple([int(), int(), int()])).min(1).default([[1, 0, 0]]),
        layers: posInt().default(4),
        vacuum: positive().default(8).describe('Å on each side'),
      })
      .default({ miller: [[1, 0, 0]], layers: 4, vacuum: 8 }),
    min_distance: positive().default(1.5).describe('reject structures with atoms closer than this, Å'),
  })
  .superRefine((g, ctx) => {
    const total = g.shear_fraction + g.vacancy_fraction + g.interstitial_fraction + g.antisite_fraction + g.surface_fraction;
    if (total > 1 + 1e-9) ctx.addIssue({ code: 'custom', path: ['shear_fraction'], message: `the *_fraction shares sum to ${total}, more than 1` });
  });

export const TeacherSchema = z.strictObject({
  kind: z.enum(['mace', 'chgnet', 'sevennet']).default('mace').describe('chgnet, sevennet: a foundation model from its wheel, fine-tuned on the campaign\'s DFT labels (sevennet: its own overlay, docs/mace.md)'),
  models: z.array(z.string().min(1)).default([]).describe('local model files; two or more form a committee'),
  bootstrap: z
    .strictObject({
      members: num().int('must be an integer').min(2, 'must be >= 2 (a committee)').default(2),
      seed_structures: posInt().default(12),
      max_epochs: posInt().default(40),
      hidden_irreps: z.string().regex(/^\d+x0e(\s*\+\s*\d+x\d[eo])*$/, 'like "16x0e" or "32x0e + 32x1o"').default('16x0e'),
      r_max: positive().default(4.5).describe('Å'),
    })
    .default({ members: 2, seed_structures: 12, max_epochs: 40, hidden_irreps: '16x0e', r_max: 4.5 }),
  accept_threshold: positive().default(0.05).describe('force std (eV/Å) at or below which a MACE label is kept'),
  dft_threshold: positive().default(0.2).describe('force std above which the structure goes to DFT'),
  gamma_accept_threshold: positive().default(1.5).describe('single model: ACE gamma at or below which its label is kept'),
  gamma_dft_threshold: positive().default(5.0).describe('single model: ACE gamma above which the structure goes to DFT'),
  between: z.enum(['discard', 'queue']).default('discard'),
  label_weight: z
    .number()
    .min(0, 'must be >= 0')
    .max(1, 'must be <= 1')
    .default(0.3)
    .describe('ACE training weight of the distilled teacher labels relative to DFT labels (1); they stay in the replay history'),
  batch_size: posInt().default(64),
  finetune: z
    .strictObject({
      max_epochs: nonNegInt().default(20).describe('0: never fine-tuned (a committee stays as bootstrapped; CHGNet and SevenNet-0 zero-shot, only their energy reference fitted on the seed DFT labels)'),
      lr: positive().default(0.005),
      energy_weight: positive().default(100).describe('MACE loss weight of energies (forces weigh 100): a few new structures need both to keep the energy reference'),
      e0s: z.enum(['foundation', 'estimated', 'average']).default('foundation').describe('isolated-atom energies: the foundation\'s (same DFT settings), or estimated from its predictions (a foundation from another DFT setup, e.g. MACE-MP-0)'),
      replay_file: z.string().min(1).optional().describe('extxyz replay set: switches to multihead fine-tuning'),
    })
    .default({ max_epochs: 20, lr: 0.005, energy_weight: 100, e0s: 'foundation' }),
  surrogates: z
    .strictObject({
      per_structure: nonNegInt().default(4),
      rattle_sigma: nonNegative().default(0.03).describe('Å'),
      strain_max: nonNegative().default(0.02).describe('max absolute strain component'),
      weight: z.number().min(0, 'must be >= 0').max(1, 'must be <= 1').default(0.3).describe('training weight relative to DFT labels (1)'),
      max_teacher_error_mev_atom: positive()
        .default(25)
        .describe('surrogates only from a committee whose energy RMSE on all DFT labels so far is at most this'),
    })
    .default({ per_structure: 4, rattle_sigma: 0.03, strain_max: 0.02, weight: 0.3, max_teacher_error_mev_atom: 25 }),
  device: z.enum(['cpu', 'cuda']).default('cpu'),
});

// Quantum ESPRESSO is the only DFT code: there is no `code` key to set (a key with one value changes nothing).
export const DftSchema = z.strictObject({
  command: z.string().min(1).default('pw.x').describe('command template, e.g. "mpirun -np {ranks} pw.x"'),
  ranks: posInt().default(1),
  pseudo_dir: z.string().min(1).default('/usr/share/espresso/pseudo'),
  pseudopotentials: z.record(z.string(), z.string().min(1)).default({}).describe('element -> UPF file name'),
  ecutwfc: positive().optional().describe('Ry; derived from the pseudopotentials when absent'),
  ecutrho: positive().optional().describe('Ry; default 4x ecutwfc (8x for ultrasoft/PAW)'),
  kspacing: positive()
    .max(1, 'must be <= 1 (1/Å, ASE espresso convention without 2π)')
    .default(0.04)
    .describe("1/Å without the 2π factor (ASE espresso convention); the specification's 0.04 gives 8x8x8 for 2-atom Si, 11x11x11 for 1-atom fcc Al"),
  smearing: z.enum(['none', 'gaussian', 'mv', 'mp', 'fd']).default('mv'),
  degauss: positive().default(0.02).describe("Ry; the specification's smearing 0.02"),
  spin: z.boolean().default(false),
  starting_magnetization: z.record(z.string(), z.number()).default({}),
  conv_thr: positive().default(1e-8),
  electron_maxstep: posInt().default(100),
  mixing_beta: positive().max(1, 'must be <= 1').default(0.7),
  max_retries: nonNegInt().default(3).describe('genuine SCF failures healed per structure (each retry changes the settings by diagnosis); crashes never count'),
  train_physics_changed: z
    .boolean()
    .default(true)
    .describe('labels healed only by changing the physics (smearing switched on for fixed occupations) train the potentials; false keeps them in the store, out of training'),
  concurrency: posInt().default(2),
  timeout_minutes: positive().default(120),
  limits: z
    .strictObject({
      max_atoms: posInt().default(1000),
      max_kpoints: posInt().default(20000).describe('points of the full Monkhorst-Pack grid'),
      max_fft_points: positive().default(1e8).describe('points of the dense FFT grid (cell and ecutrho)'),
      max_memory_gb: positive().optional().describe("estimated pw.x memory; default 80 % of the worker machine's memory"),
    })
    .default({ max_atoms: 1000, max_kpoints: 20000, max_fft_points: 1e8 })
    .describe('the cost guard (activities/dft/cost.ts): pw.x never starts on a calculation estimated above these'),
  launcher: z.enum(LauncherKinds).default('local').describe('where pw.x runs: a child of the DFT worker (local) or a Slurm batch job (see dft.slurm, docs/hpc.md)'),
  slurm: SlurmSchema.optional().describe('batch job settings, with launcher: slurm'),
});

export const TrainingSchema = z.strictObject({
  cutoff: positive().default(5.0).describe('Å'),
  number_of_functions_per_element: posInt().default(40),
  ranks_max_order: posInt().max(5, 'must be <= 5').default(3).describe('highest correlation order (body order - 1)'),
  lmax: nonNegInt().default(3),
  nradmax: posInt().default(6),
  radial_basis: z.enum(['SBessel', 'ChebExpCos', 'ChebPow']).default('SBessel'),
  embedding: z.enum(['FinnisSinclairShiftedScaled', 'FinnisSinclair', 'Linear']).default('FinnisSinclairShiftedScaled'),
  kappa: z
    .number()
    .min(0, 'must be >= 0')
    .max(1, 'must be <= 1')
    .default(0.3)
    .describe(
      "force weight in Pacemaker's loss, (1-kappa)*energy + kappa*forces over per-atom-normalised terms. The specification's " +
        'loss weights (energy 1, forces 100, stress 10) are MACE-style absolute weights with no Pacemaker equivalent: pyace 0.4 ' +
        'fits no stress, and kappa 0.3 is what Pacemaker recommends for a balanced energy/force fit',
    ),
  L1_coeffs: nonNegative().default(1e-8),
  L2_coeffs: nonNegative().default(1e-8),
  weighting: z.enum(['uniform', 'energy']).default('uniform'),
  optimizer: z.enum(['BFGS', 'L-BFGS-B']).default('BFGS'),
  maxiter: posInt()
    .default(200)
    .describe("optimizer iterations of a fit from scratch: Pacemaker's BFGS runs over the whole training set per iteration and has no epochs (the specification's max_num_epochs)"),
  incremental_maxiter: posInt().default(80).describe('iterations of a refit that starts from the previous potential (fewer: it starts close)'),
  batch_size: posInt().default(50),
  test_size: z.number().min(0, 'must be >= 0').lt(1, 'must be < 1').default(0.1),
  reference_energies: z.record(z.string(), z.number()).optional().describe('eV per atom; default: fitted'),
  zbl_inner_cutoff: positive().optional().describe('Å, one ZBL inner cutoff for every bond; default: per bond, the closest pair in the training data minus zbl_margin'),
  zbl_margin: nonNegative().default(0.3).describe('Å below the closest training pair of each bond where ACE hands over to ZBL (when zbl_inner_cutoff is unset)'),
  replay_buffer_size: posInt().default(500).describe('structures per refit: all new ones plus replayed history up to this size'),
  replay_selection: z.enum(['uniform', 'd-optimal']).default('uniform').describe('how history is replayed once it exceeds replay_buffer_size'),
  backend: z.enum(['tensorpot', 'pyace']).default('tensorpot'),
  seed: nonNegInt().optional(),
});

export const ExplorationSchema = z.strictObject({
  temperatures: z.array(positive()).min(1).default([300, 900]).describe('K'),
  pressures: z.array(z.number()).default([0]).describe('GPa'),
  ensemble: z
    .enum(['npt', 'nvt'])
    .default('npt')
    .describe('npt: each trajectory at its pressure, the cell relaxing (thermal expansion is sampled); nvt: at the starting volume'),
  steps: posInt().default(400),
  timestep_fs: positive().default(1.0),
  gamma_select: positive().default(1.5),
  gamma_halt: positive().default(5.0),
  max_atoms_dft: posInt().default(64),
  supercell: z.tuple([posInt(), posInt(), posInt()]).default([2, 2, 2]).describe('MD cell = the system cell (unit cell x system.supercell) x this'),
  start_structures: posInt().default(6).describe('generated MD starts per generation, with the generation section\'s defects and strains'),
  uncertain_starts: nonNegInt().default(2).describe('extra MD starts: the training structures with the largest extrapolation grade'),
  random_share: share()
    .default(0)
    .describe(
      "share of each generation's DFT picks drawn at random from the DFT pool (MD candidates, teacher-doubted structures); the rest by D-optimality. MaxVol alone favours the most extrapolative frames, far from the thermal configurations the potential will meet",
    ),
});

// The campaign's own DFT validation set (common/validation.ts, docs/evaluation.md): never trained on, it
// scores every generation's potential and the teacher, and decides whether the teacher's labels train.
export const ValidationSchema = z.strictObject({
  share: z.number().min(0, 'must be >= 0').max(0.5, 'must be <= 0.5').default(0.1).describe("share of each generation's DFT picks held out for validation"),
  per_pool: nonNegInt()
    .default(1)
    .describe("random candidates of each pool labelled for validation per generation: each generator mode (bulk, shear, vacancy, ...) at generation 0, each exploration temperature's MD candidates every generation"),
  max_fraction: share().default(0.2).describe('the validation set takes at most this share of budgets.dft_total'),
});

export const BudgetSchema = z.strictObject({
  dft_total: nonNegInt().default(40),
  dft_per_generation: posInt().default(10),
  max_generations: posInt().default(3),
});

const TEACHER_DEFAULTS = TeacherSchema.parse({});

export const CampaignSchema = z
  .strictObject({
    id: z
      .string()
      .regex(SAFE_ID, { error: `${SAFE_ID_RULE} (no "..")`, abort: true })
      .refine((id) => idProblem(id) === undefined, `${SAFE_ID_RULE} (no "..")`)
      .optional(),
    seed: nonNegInt().default(42),
    run_directory: z.string().min(1).optional().describe('default: runs/<campaign id> in the project'),
    system: SystemSchema,
    generation: GenerationSchema.default(GenerationSchema.parse({})),
    teacher: TeacherSchema.default(TeacherSchema.parse({})),
    dft: DftSchema.default(DftSchema.parse({})),
    training: TrainingSchema.default(TrainingSchema.parse({})),
    exploration: ExplorationSchema.default(ExplorationSchema.parse({})),
    validation: ValidationSchema.default(ValidationSchema.parse({})),
    budgets: BudgetSchema.default(BudgetSchema.parse({})),
  })
  .superRefine((c, ctx) => {
    const [vmin, vmax] = c.generation.volume_range;
    if (vmin >= vmax) ctx.addIssue({ code: 'custom', path: ['generation', 'volume_range'], message: 'min must be < max' });
    const add = (p: Problem) => p && ctx.addIssue({ code: 'custom', path: p.path, message: p.message });
    add(acceptDftProblem(c.teacher.accept_threshold, c.teacher.dft_threshold));
    add(chgnetModelsProblem(c.teacher.kind, c.teacher.models));
    chgnetMaceOnlyProblems(c.teacher, TEACHER_DEFAULTS).forEach(add);
    sevennetProblems(c.teacher, TEACHER_DEFAULTS).forEach(add);
    zeroEpochProblems(c.teacher, TEACHER_DEFAULTS).forEach(add);
    add(acceptDftProblem(c.teacher.gamma_accept_threshold, c.teacher.gamma_dft_threshold, ['gamma_accept_threshold', 'gamma_dft_threshold']));
    if (c.teacher.models.length === 0 && c.teacher.bootstrap.seed_structures > c.budgets.dft_total)
      ctx.addIssue({ code: 'custom', path: ['teacher', 'bootstrap', 'seed_structures'], message: `must be <= budgets.dft_total (${c.budgets.dft_total}): bootstrapping the teacher spends DFT` });
    add(gammaProblem(c.exploration.gamma_select, c.exploration.gamma_halt));
    if (c.exploration.ensemble === 'nvt' && c.exploration.pressures.some((p) => p !== 0))
      ctx.addIssue({ code: 'custom', path: ['exploration', 'pressures'], message: 'a pressure other than 0 needs exploration.ensemble: npt' });
    const t = c.training; // the same checks fitAce runs (activities/ace/fit.ts trainingConfigProblems)
    if (t.zbl_inner_cutoff !== undefined && t.zbl_inner_cutoff >= t.cutoff)
      ctx.addIssue({ code: 'custom', path: ['training', 'zbl_inner_cutoff'], message: `must be below training.cutoff (${t.cutoff} Å)` });
    for (const el of c.system.elements.filter((e) => t.reference_energies && !(e in t.reference_energies)))
      ctx.addIssue({ code: 'custom', path: ['training', 'reference_energies'], message: `no value for ${el} (give one per element, or drop the key to fit them)` });
    for (const el of Object.keys(c.generation.substitution ?? {})) {
      if (!c.system.elements.includes(el))
        ctx.addIssue({ code: 'custom', path: ['generation', 'substitution', el], message: `"${el}" is not in system.elements` });
    }
    if (c.dft.slurm && c.dft.launcher !== 'slurm')
      ctx.addIssue({ code: 'custom', path: ['dft', 'slurm'], message: 'is set but dft.launcher is "local": add `launcher: slurm` or remove dft.slurm' });
    if (c.dft.launcher === 'slurm' && c.dft.ranks > 1 && !/\bsrun\b|\bmpirun\b|\bmpiexec\b|\{ranks\}/.test(c.dft.command))
      ctx.addIssue({ code: 'custom', path: ['dft', 'command'], message: `"${c.dft.command}" starts one rank but dft.ranks is ${c.dft.ranks}: use "srun pw.x" (or "mpirun -np {ranks} pw.x")` });
    for (const el of Object.keys(c.dft.pseudopotentials)) {
      if (!c.system.elements.includes(el))
        ctx.addIssue({ code: 'custom', path: ['dft', 'pseudopotentials', el], message: `"${el}" is not in system.elements` });
    }
  });

export type CampaignInput = z.input<typeof CampaignSchema>;
export type Campaign = z.output<typeof CampaignSchema>;
export type DftSettings = z.output<typeof DftSchema>;
export type TrainingSettings = z.output<typeof TrainingSchema>;
export type TeacherSettings = z.output<typeof TeacherSchema>;
export type ValidationSettings = z.output<typeof ValidationSchema>;

/** One line per problem, "path: message", in document order. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((iss) => {
    const where = iss.path.map(String).join('.');
    const msg = iss.code === 'invalid_type' && /received undefined/.test(iss.message) ? 'is required' : iss.message;
    if (iss.code === 'unrecognized_keys') {
      return iss.keys.map((k) => `${where ? where + '.' : ''}${k}: unknown key (check the spelling; see \`autopipe schema\`)`).join('\n');
    }
    return `${where || '(root)'}: ${msg}`;
  }).flatMap((l) => l.split('\n'));
}

export type ParseResult = { ok: true; campaign: Campaign } | { ok: false; errors: string[] };

export function parseCampaign(input: unknown): ParseResult {
  const r = CampaignSchema.safeParse(input);
  return r.success ? { ok: true, campaign: r.data } : { ok: false, errors: formatIssues(r.error) };
}

export function campaignJsonSchema(): unknown {
  return z.toJSONSchema(CampaignSchema, { io: 'input', unrepresentable: 'any' });
}
