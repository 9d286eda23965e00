// Progress hooks for the workflows. A phase workflow imports setCurrentDetails from here instead of from
// @temporalio/workflow: the details still show in the Temporal UI, and the same words (plus n of m and
// the DFT counters when given) go to the campaign at the root as a `progress` signal, so the campaign's
// status query can say what its running child is doing. All updates of one activation are coalesced
// into one signal (a DFT finishing and the next one starting cost one signal, not two).
import type { WithWorkflowArgs, WorkflowResultType } from '@temporalio/common';
import { executeChild, getExternalWorkflowHandle, patched, setCurrentDetails as setDetails, setHandler, workflowInfo, type ChildWorkflowOptions, type Workflow } from '@temporalio/workflow';
import { applyProgress, closeChild, emptyLiveProgress, liveDft, liveRecords, progressSignal, type DftProgress, type LiveProgress, type StepProgress } from '../common/progress';

type Extra = Partial<Pick<StepProgress, 'done' | 'total' | 'unit' | 'dft'>>;

let seq = 0;
let step = '';
let extra: Extra = {};
let scheduled = false;
let inflight: Promise<void> | undefined;
// A signal costs the child's history about five events: at most one per this much workflow time, so a
// phase of many quick steps (a 20,000-structure MACE labelling) stays small; the latest state is sent
// with the next update after the pause, and always before the workflow returns (progressSettled).
const MIN_SIGNAL_MS = 5000;
let lastSent = -Infinity;
let held = false;

function flush(force = false): void {
  scheduled = false;
  const info = workflowInfo();
  const root = info.root;
  // A workflow started on its own (a test, `autopipe label`) has nobody to tell. The patch keeps
  // histories recorded before progress signals existed replayable.
  if (!root || root.workflowId === info.workflowId || !patched('live-progress-signal')) return;
  if (!force && Date.now() - lastSent < MIN_SIGNAL_MS) {
    held = true;
    return;
  }
  held = false;
  lastSent = Date.now();
  const record: StepProgress = { workflowId: info.workflowId, workflowType: info.workflowType, step, ...extra, seq: ++seq, at: new Date().toISOString() };
  inflight = getExternalWorkflowHandle(root.workflowId)
    .signal(progressSignal, record)
    .catch(() => undefined); // the campaign is gone (terminated): nothing to tell
}

/** Wait until the last record has reached the campaign: call before returning, or the final counts may be lost. */
export async function progressSettled(): Promise<void> {
  if (scheduled) await Promise.resolve(); // let the pending flush run first
  if (held) flush(true);
  await inflight;
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  void Promise.resolve().then(() => flush());
}

/** The workflow's current details (Temporal UI) and a progress record for the campaign. */
export function setCurrentDetails(details: string, counts: Extra = {}): void {
  setDetails(details);
  step = details;
  extra = counts;
  schedule();
}

/** Update the counters of the current step without changing its words. */
export function reportCounts(counts: Extra): void {
  extra = { ...extra, ...counts };
  schedule();
}

/** The labelling workflow's DFT counters as a step description (also the UI's current details). */
export function reportDft(d: DftProgress): void {
  const running = d.running.length ? `; running ${d.running.join(', ')}` : '';
  setCurrentDetails(`DFT ${d.done}/${d.total}: ${d.labelled} labelled (${d.healed} healed), ${d.failed} failed${running}`, { done: d.done, total: d.total, unit: 'DFT', dft: d });
}

/**
 * The campaign side: receive children's records; `child` runs a child and forgets its records when it
 * returns. `run` is how children are run (a resumed campaign's reusingChildren returns the recorded result
 * of a child its previous run finished), read at each call.
 */
export function trackProgress(run: () => typeof executeChild = () => executeChild) {
  const live: LiveProgress = emptyLiveProgress();
  setHandler(progressSignal, (p) => applyProgress(live, p));
  return {
    records: () => liveRecords(live),
    dft: () => liveDft(live),
    async child<T extends Workflow>(fn: T, options: WithWorkflowArgs<T, Omit<ChildWorkflowOptions, 'typeInfo'> & { typeInfo?: never }> & { workflowId: string }): Promise<WorkflowResultType<T>> {
      try {
        return await run()(fn, options);
      } finally {
        closeChild(live, options.workflowId);
      }
    },
  };
}

/** How the campaign runs a child (trackProgress's `child`): its progress records close when it returns. */
export type ChildRunner = ReturnType<typeof trackProgress>['child'];
