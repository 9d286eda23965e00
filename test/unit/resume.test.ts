// Resuming a campaign: the `resume` flag is taken off the workflow input before the campaign is read, and
// the resume point of a run's history is its input state plus the results of the phases it finished
// (also through an earlier resume). The end-to-end path runs in test/chaos-campaign.test.ts.
import { defaultPayloadConverter } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { resumePointOf } from '../../activities/campaign/resume';
import { splitResume } from '../../workflows/resume';

const payloads = (...xs: unknown[]) => ({ payloads: xs.map((x) => defaultPayloadConverter.toPayload(x)) });

describe('the resume flag', () => {
  it('is taken off the campaign keys; absent or false means a plain start', () => {
    expect(splitResume({ system: { name: 'Si' }, resume: true })).toEqual({ raw: { system: { name: 'Si' } }, resume: {} });
    expect(splitResume({ system: {}, resume: { from_run_id: 'r1' } })).toEqual({ raw: { system: {} }, resume: { fromRunId: 'r1' } });
    expect(splitResume({ system: {}, resume: false })).toEqual({ raw: { system: {} } });
    expect(splitResume({ system: {} })).toEqual({ raw: { system: {} } });
    expect(splitResume('not an object')).toEqual({ raw: 'not an object' });
  });
});

describe('the resume point of a history', () => {
  it('a continued run: its carried state and the children it finished (not the one that failed)', () => {
    const state = { generation: 2, dft: { used: 9 } };
    const events = [
      { eventId: 1, workflowExecutionStartedEventAttributes: { input: payloads({ system: {} }, state) } },
      { eventId: 5, childWorkflowExecutionCompletedEventAttributes: { workflowExecution: { workflowId: 'c/gen-2/exploration' }, result: payloads({ candidates: 7 }) } },
      { eventId: 9, childWorkflowExecutionFailedEventAttributes: { workflowExecution: { workflowId: 'c/gen-2/labelling' } } },
    ];
    expect(resumePointOf(events as never)).toEqual({ state, phases: { 'c/gen-2/exploration': { candidates: 7 } } });
  });

  it('a run that was itself a resume: the state and phases of its own resume point, plus what it finished', () => {
    const events = [
      { eventId: 1, workflowExecutionStartedEventAttributes: { input: payloads({ system: {}, resume: true }) } },
      { eventId: 5, activityTaskScheduledEventAttributes: { activityType: { name: 'findResumePoint' } } },
      { eventId: 7, activityTaskCompletedEventAttributes: { scheduledEventId: 5, result: payloads({ state: { generation: 1 }, phases: { 'c/gen-1/exploration': 1 } }) } },
      { eventId: 12, childWorkflowExecutionCompletedEventAttributes: { workflowExecution: { workflowId: 'c/gen-1/labelling' }, result: payloads(2) } },
    ];
    expect(resumePointOf(events as never)).toEqual({ state: { generation: 1 }, phases: { 'c/gen-1/exploration': 1, 'c/gen-1/labelling': 2 } });
  });
});
