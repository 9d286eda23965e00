// Cross-field rules of the campaign, defined once: the campaign schema, the tune update of a running
// campaign and the routing policy all call these, so a rule and its message never drift apart.
// A problem names the field it is about (path) and says what it must be, naming the other field.
export type Problem = { path: string[]; message: string } | undefined;

/** exploration: frames are harvested between gamma_select and gamma_halt, so select must be below halt. */
export function gammaProblem(select: number, halt: number): Problem {
  return select < halt ? undefined : { path: ['exploration', 'gamma_select'], message: `must be < exploration.gamma_halt (${halt})` };
}

/** A label is kept at or below the accept threshold and sent to DFT above the DFT threshold. */
export function acceptDftProblem(accept: number, dft: number, names: [string, string] = ['accept_threshold', 'dft_threshold']): Problem {
  return accept <= dft ? undefined : { path: ['teacher', names[0]], message: `must be <= teacher.${names[1]} (${dft})` };
}

/** CHGNet is one model: no file (the weights in its wheel) or one fine-tuned CHGNet file. */
export function chgnetModelsProblem(kind: string, models: string[]): Problem {
  return kind !== 'chgnet' || models.length <= 1
    ? undefined
    : { path: ['teacher', 'models'], message: `teacher.kind chgnet takes no file (its wheel's weights) or one fine-tuned CHGNet file, not ${models.length}` };
}

/**
 * Keys only a MACE teacher reads: set on a CHGNet teacher they would change nothing, so they are refused.
 * A default value is indistinguishable from an absent key, so only one that differs from `defaults` (the
 * schema's own, TeacherSchema.parse({})) is named.
 */
const at = (o: object, p: string[]) => p.reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);

export const MACE_ONLY_TEACHER_KEYS: string[][] = [
  ['accept_threshold'], // a committee's force spread; one CHGNet routes by ACE gamma
  ['dft_threshold'],
  ['bootstrap', 'members'],
  ['bootstrap', 'max_epochs'],
  ['bootstrap', 'hidden_irreps'],
  ['bootstrap', 'r_max'],
  ['finetune', 'e0s'],
  ['finetune', 'replay_file'],
];
export function chgnetMaceOnlyProblems(teacher: { kind: string }, defaults: object): Problem[] {
  if (teacher.kind !== 'chgnet') return [];
  return MACE_ONLY_TEACHER_KEYS.filter((p) => at(teacher, p) !== at(defaults, p)).map((p) => ({
    path: ['teacher', ...p],
    message: `is read only by a MACE teacher; with teacher.kind chgnet it changes nothing (CHGNet is one model, routed by gamma_accept_threshold and gamma_dft_threshold, fine-tuned by finetune.max_epochs, lr and energy_weight): remove it`,
  }));
}

/** Keys read only when the teacher is fine-tuned (teacher.finetune.max_epochs > 0); surrogates come out of the fine-tune step. */
export const FINETUNE_ONLY_TEACHER_KEYS: string[][] = [
  ['finetune', 'lr'],
  ['finetune', 'energy_weight'],
  ['finetune', 'e0s'],
  ['finetune', 'replay_file'],
  ['surrogates', 'per_structure'],
  ['surrogates', 'rattle_sigma'],
  ['surrogates', 'strain_max'],
  ['surrogates', 'weight'],
  ['surrogates', 'max_teacher_error_mev_atom'],
];
/** teacher.finetune.max_epochs 0: the teacher is never fine-tuned, so the fine-tune's and surrogates' keys would change nothing. */
export function zeroEpochProblems(teacher: { finetune: { max_epochs: number } }, defaults: object): Problem[] {
  if (teacher.finetune.max_epochs !== 0) return [];
  return FINETUNE_ONLY_TEACHER_KEYS.filter((p) => at(teacher, p) !== at(defaults, p)).map((p) => ({
    path: ['teacher', ...p],
    message: 'is not read with teacher.finetune.max_epochs 0 (the teacher is never fine-tuned, and surrogates come from the fine-tune step): remove it, or set max_epochs above 0',
  }));
}

/**
 * Keys a SevenNet-0 teacher cannot read: MACE's committee and bootstrap keys and its fine-tune's e0s and
 * replay_file (SevenNet is one model, fine-tuned like CHGNet by finetune.max_epochs, lr and energy_weight).
 * Like the CHGNet rule, only a value that differs from the schema's default is named.
 */
export function sevennetProblems(teacher: { kind: string; models: string[] }, defaults: object): Problem[] {
  if (teacher.kind !== 'sevennet') return [];
  const problems: Problem[] = [];
  if (teacher.models.length > 0) {
    problems.push({ path: ['teacher', 'models'], message: "teacher.kind sevennet starts from SevenNet-0's weights in the sevenn wheel and takes no file: remove teacher.models (the campaign fine-tunes it on its seed DFT labels, teacher.bootstrap.seed_structures)" });
  }
  for (const p of MACE_ONLY_TEACHER_KEYS.filter((k) => at(teacher, k) !== at(defaults, k))) {
    problems.push({ path: ['teacher', ...p], message: 'is not read with teacher.kind sevennet, so it would change nothing: SevenNet-0 is one model, routed by gamma_accept_threshold and gamma_dft_threshold, fine-tuned by finetune.max_epochs, lr and energy_weight (0 epochs: zero-shot). Remove it, or use teacher.kind mace' });
  }
  return problems;
}

/** The DFT budget cannot be lowered below what was already spent. */
export function budgetProblem(total: number, used: number): Problem {
  return total >= used ? undefined : { path: ['budgets', 'dft_total'], message: `must be >= the ${used} DFT calculations already used` };
}

/** "teacher.accept_threshold (0.3) must be <= teacher.dft_threshold (0.2)": the problem with the value given. */
export function describe(p: NonNullable<Problem>, value: unknown): string {
  return `${p.path.join('.')} (${String(value)}) ${p.message}`;
}
