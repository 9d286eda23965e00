// Shared by the MACE-tier workflows: the label-batch activity options, teacher-section parsing, and the
// one batched labelling loop every workflow uses (a sliding window of maceLabelBatch activities over a
// structure file; labels go into the run's store, optionally routed in the same activity).
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import { setCurrentDetails } from './progress';
import type { MlActivities } from '../activities';
import type { MaceLabelBatchResult } from '../activities/mace/label';
import { formatIssues, TeacherSchema, type TeacherSettings } from '../common/campaign-schema';
import type { RoutingPolicy } from '../common/routing';
import { mlBatchOptions as batchOptions } from './activity-options';
import { invalidConfig } from './config';
import { slidingWindow } from './window';

const mlBatch = proxyActivities<MlActivities>(batchOptions);

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
  // CHGNet: no file is the wheel's weights; one file a fine-tuned CHGNet (the campaign's teacher after a fine-tune).
  // SevenNet: no file is SevenNet-0's own energy scale; one file the energy reference its bootstrap fitted.
  return { kind: t.kind, models: list, device: t.device };
}

export interface LabelBatchesInput {
  runDir: string;
  structureFile: string;
  /** ids[i] is the structure at index i (content hashes) ... */
  ids?: string[];
  /** ... or the file's first `count` structures, ids read from the file (a large set: no id list in any payload). */
  count?: number;
  oracle: { kind: 'mace' | 'chgnet' | 'sevennet'; models: string[]; device: 'cpu' | 'cuda' };
  batchSize: number;
  /** Batches in flight: 2 keeps the worker's helper busy while the previous reply travels. */
  window?: number;
  what?: string;
  /** Provenance of structures the store does not hold yet. */
  provenance?: { source?: string; generation?: number };
  /** Route each batch in its activity and record the decisions under routing/<name>. */
  route?: { name: string; policy: RoutingPolicy; gamma?: (number | null)[] };
}

/** Run the batches; `onBatch` sees each reply (in completion order) with the batch's start index. */
export async function labelInBatches(input: LabelBatchesInput, onBatch: (res: MaceLabelBatchResult, start: number, batch: number) => Promise<void> | void) {
  const total = input.ids?.length ?? input.count ?? 0;
  const starts: number[] = [];
  for (let s = 0; s < total; s += input.batchSize) starts.push(s);
  let done = 0;
  await slidingWindow(starts, input.window ?? 2, async (start, b) => {
    const res = await mlBatch.maceLabelBatch.executeWithOptions(
      { ...batchOptions, summary: `${input.what ?? 'MACE'} batch ${b + 1}/${starts.length}` },
      [
        {
          runDir: input.runDir,
          structureFile: input.structureFile,
          start,
          ...(input.ids ? { ids: input.ids.slice(start, start + input.batchSize) } : { count: Math.min(input.batchSize, total - start) }),
          oracle: input.oracle,
          provenance: input.provenance,
          route: input.route && { name: input.route.name, batch: b, policy: input.route.policy, gamma: input.route.gamma?.slice(start, start + input.batchSize) },
        },
      ],
    );
    await onBatch(res, start, b);
    done += res.items.length;
    setCurrentDetails(`${input.what ?? 'MACE'} labelling: ${done}/${total} structures`, { done, total, unit: 'structures' });
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
  oracleKey: string;
  committee: boolean;
  meanForceStd: number | null;
  maxForceStd: number | null;
}

export async function maceLabelWorkflow(input: MaceLabelInput): Promise<MaceLabelResult> {
  const t = parseTeacher(input.teacher);
  const out: MaceLabelResult = { labelled: 0, reused: 0, flagged: 0, batches: 0, oracleKey: '', committee: false, meanForceStd: null, maxForceStd: null };
  let sum = 0;
  let n = 0;
  await labelInBatches({ runDir: input.runDir, structureFile: input.structureFile, ids: input.ids, oracle: fastOracle(t), batchSize: t.batch_size, window: input.window }, (res) => {
    out.labelled += res.computed;
    out.reused += res.reused;
    out.flagged += res.flagged;
    out.batches++;
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

