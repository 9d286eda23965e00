// Resuming a campaign that failed (or finished, to extend it): start campaignWorkflow again with the same
// workflow id and `"resume": true` at the top level of its input, next to the (fixed) campaign keys; the
// Temporal UI's single JSON input form does the same as `autopipe resume ID [--config FIXED.yaml]`. The
// flag is not a campaign key: it is taken off before the campaign is validated, and a continued run never
// carries it. See docs/durability.md.
import { executeChild } from '@temporalio/workflow';

export interface ResumeRequest {
  /** Continue this run of the campaign; default: its latest closed run. */
  fromRunId?: string;
}

/** Split the workflow input into the campaign and the resume request (if any). Pure. */
export function splitResume(input: unknown): { raw: unknown; resume?: ResumeRequest } {
  if (!input || typeof input !== 'object' || Array.isArray(input) || !('resume' in input)) return { raw: input };
  const { resume, ...raw } = input as Record<string, unknown>;
  if (resume === false || resume === undefined) return { raw };
  const from = typeof resume === 'object' && resume ? (resume as { from_run_id?: unknown }).from_run_id : undefined;
  return { raw, resume: typeof from === 'string' ? { fromRunId: from } : {} };
}

/**
 * executeChild, except that a child the resumed run already finished (same workflow id) returns its
 * recorded result instead of running again.
 */
export function reusingChildren(finished: Record<string, unknown>): typeof executeChild {
  return ((workflow: unknown, options: { workflowId?: string }) => {
    const id = options?.workflowId;
    if (id !== undefined && Object.prototype.hasOwnProperty.call(finished, id)) return Promise.resolve(finished[id]);
    return (executeChild as (w: unknown, o: unknown) => Promise<unknown>)(workflow, options);
  }) as typeof executeChild;
}
