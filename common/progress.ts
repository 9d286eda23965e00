// Live progress records: what a running phase workflow tells the campaign about itself (step, n of m, the
// structures or members running now). Workflow-safe: plain types, the signal definition and pure reducers.
// Activity internals (SCF iteration, epoch, fit loss, MD step and gamma) travel as heartbeat details,
// which clients read with DescribeWorkflowExecution: they cost no history events (see docs/ui.md).
import { defineSignal } from '@temporalio/workflow';

/** DFT counters of one labelling workflow while it runs. */
export interface DftProgress {
  /** Calculations finished (labelled or failed). */
  done: number;
  total: number;
  labelled: number;
  healed: number;
  failed: number;
  /** Structure ids whose pw.x activity is running now. */
  running: string[];
}

export interface StepProgress {
  /** The reporting (child or grandchild) workflow. */
  workflowId: string;
  workflowType: string;
  /** What it does now, as the workflow's current details say it. */
  step: string;
  /** n of m of the current step, when it has a count (batches, members, structures). */
  done?: number;
  total?: number;
  unit?: string;
  dft?: DftProgress;
  /** Per reporter, increasing: a late signal never overwrites a newer record. */
  seq: number;
  /** Workflow time of the report (ISO). */
  at: string;
}

export const progressSignal = defineSignal<[StepProgress]>('progress');

/** Records of children still open, keyed by reporting workflow id. */
export interface LiveProgress {
  records: Record<string, StepProgress>;
  /** Child workflow ids that have closed in this run: their (late) signals are ignored. */
  closed: string[];
}

export const emptyLiveProgress = (): LiveProgress => ({ records: {}, closed: [] });

const closedBy = (live: LiveProgress, workflowId: string) => live.closed.some((c) => workflowId === c || workflowId.startsWith(`${c}/`));

/** Apply one record: newer per reporter wins, records of closed children are dropped. */
export function applyProgress(live: LiveProgress, p: StepProgress): void {
  if (closedBy(live, p.workflowId)) return;
  const old = live.records[p.workflowId];
  if (old && old.seq >= p.seq) return;
  live.records[p.workflowId] = p;
}

/** A child (and everything below it) has returned: forget its live records. */
export function closeChild(live: LiveProgress, workflowId: string): void {
  live.closed.push(workflowId);
  for (const id of Object.keys(live.records)) if (closedBy(live, id)) delete live.records[id];
}

/** The live records, outermost workflow first. */
export function liveRecords(live: LiveProgress): StepProgress[] {
  return Object.values(live.records).sort((a, b) => a.workflowId.length - b.workflowId.length || a.workflowId.localeCompare(b.workflowId));
}

/** DFT calculations finished and running in open children (added to the campaign's settled counts). */
export interface LiveDft {
  done: number;
  labelled: number;
  healed: number;
  failed: number;
  running: string[];
}

export function liveDft(live: LiveProgress): LiveDft {
  const out = { done: 0, labelled: 0, healed: 0, failed: 0, running: [] as string[] };
  for (const r of Object.values(live.records)) {
    if (!r.dft) continue;
    out.done += r.dft.done;
    out.labelled += r.dft.labelled;
    out.healed += r.dft.healed;
    out.failed += r.dft.failed;
    out.running.push(...r.dft.running);
  }
  return out;
}
