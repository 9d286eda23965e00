// Shared by the MACE-tier workflows: the label-batch activity options, teacher-section parsing, and the
// batched labelling loop (a sliding window of maceLabelBatch activities over a structure file).
import { ApplicationFailure, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import { setCurrentDetails } from './progress';
import type { MlActivities } from '../activities';
import type { MaceLabelBatchResult } from '../activities/mace/label';
import { formatIssues, TeacherSchema, type TeacherSettings } from '../common/campaign-schema';
import { NonRetryableErrors, nonRetryableErrorTypes } from '../common/errors';
import { TaskQueues } from '../common/queues';
import { slidingWindow } from './window';

// Label batches are short: a stuck one is retried soon instead of after the training timeout.
const batchOptions: ActivityOptions = {
  taskQueue: TaskQueues.ml,
  startToCloseTimeout: '60 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { maximumAttempts: 3, initialInterval: '2s', nonRetryableErrorTypes },
};
const mlBatch = proxyActivities<MlActivities>(batchOptions);

export function invalidConfig(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: NonRetryableErrors.InvalidConfig, nonRetryable: true, message });
}

export function parseTeacher(raw: unknown): TeacherSettings {
  const r = TeacherSchema.safeParse(raw ?? {});
  if (!r.success) throw invalidConfig(`invalid teacher section:\n${formatIssues(r.error).map((l) => `teacher.${l}`).join('\n')}`);
  return r.data;
}

/** The fast oracle a teacher section names; a MACE teacher without models cannot label anything. */
export function fastOracle(t: TeacherSettings, models?: string[]) {
  const list = models ?? t.models;
  if (t.kind === 'mace' && list.length === 0) {
    throw invalidConfig('teacher.models is empty: list one MACE model file, or two or more for a committee (`autopipe teacher bootstrap --config FILE` trains one)');
  }
  return { kind: t.kind, models: t.kind === 'mace' ? list : [], device: t.device };
}

export interface LabelBatchesInput {
  runDir: string;
  structureFile: string;
  ids: string[];
  oracle: { kind: 'mace' | 'chgnet'; models: string[]; device: 'cpu' | 'cuda' };
  batchSize: number;
  /** Batches in flight: 2 keeps the worker's helper busy while the previous reply travels. */
  window?: number;
  what?: string;
}

/** Run the batches; `onBatch` sees each reply (in completion order) with the batch's start index. */
export async function labelInBatches(input: LabelBatchesInput, onBatch: (res: MaceLabelBatchResult, start: number, batch: number) => Promise<void> | void) {
  const starts: number[] = [];
  for (let s = 0; s < input.ids.length; s += input.batchSize) starts.push(s);
  let done = 0;
  await slidingWindow(starts, input.window ?? 2, async (start, b) => {
    const res = await mlBatch.maceLabelBatch.executeWithOptions(
      { ...batchOptions, summary: `${input.what ?? 'MACE'} batch ${b + 1}/${starts.length}` },
      [{ runDir: input.runDir, structureFile: input.structureFile, start, ids: input.ids.slice(start, start + input.batchSize), oracle: input.oracle }],
    );
    await onBatch(res, start, b);
    done += res.items.length;
    setCurrentDetails(`${input.what ?? 'MACE'} labelling: ${done}/${input.ids.length} structures`, { done, total: input.ids.length, unit: 'structures' });
  });
}


// A structure file labelled by the fast oracle, nothing else (the benchmark measures this).
export interface MaceLabelInput {
  runDir: string;
  structureFile: string;
  ids: string[];
  teacher: unknown;
  window?: number;
}

export interface MaceLabelResult {
  labelled: number;
  reused: number;
  flagged: number;
  batches: number;
  labelDir: string;
  oracleKey: string;
  committee: boolean;
  meanForceStd: number | null;
  maxForceStd: number | null;
}

export async function maceLabelWorkflow(input: MaceLabelInput): Promise<MaceLabelResult> {
  const t = parseTeacher(input.teacher);
  const out: MaceLabelResult = { labelled: 0, reused: 0, flagged: 0, batches: 0, labelDir: '', oracleKey: '', committee: false, meanForceStd: null, maxForceStd: null };
  let sum = 0;
  let n = 0;
  await labelInBatches({ runDir: input.runDir, structureFile: input.structureFile, ids: input.ids, oracle: fastOracle(t), batchSize: t.batch_size, window: input.window }, (res) => {
    out.labelled += res.computed;
    out.reused += res.reused;
    out.flagged += res.flagged;
    out.batches++;
    out.labelDir = res.labelDir;
    out.oracleKey = res.oracle.key;
    out.committee = res.oracle.committee;
    for (const it of res.items) {
      if (typeof it.fStd !== 'number') continue;
      sum += it.fStd;
      n++;
      out.maxForceStd = Math.max(out.maxForceStd ?? 0, it.fStd);
    }
  });
  out.meanForceStd = n ? sum / n : null;
  return out;
}

