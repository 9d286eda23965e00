// Replay of a recorded campaign history (generation 0's run: teacher, distillation, exploration,
// labelling, fine-tuning) against the current workflow code: a non-deterministic change fails here.
// The fixture is the binary History protobuf, as recorded by campaign-e2e with AUTOPIPE_RECORD_HISTORY.
import { readFileSync } from 'node:fs';
import proto from '@temporalio/proto';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { workflowsPath } from '../../workers/worker';

describe('campaign workflow replay', () => {
  it('replays the recorded generation-0 history without a determinism error', async () => {
    const history = proto.temporal.api.history.v1.History.decode(readFileSync('test/fixtures/histories/campaign-gen0.bin'));
    const types = history.events.map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowType?.name).filter(Boolean);
    expect(types).toEqual(expect.arrayContaining(['teacherBootstrapWorkflow', 'distillationWorkflow', 'explorationWorkflow', 'labellingWorkflow']));
    await expect(Worker.runReplayHistory({ workflowsPath }, history, 'campaign-gen0')).resolves.toBeUndefined();
  });
});
