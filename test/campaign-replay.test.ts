// Replay of a recorded campaign history (generation 0's run: teacher, distillation, exploration,
// labelling, fine-tuning) against the current workflow code: a non-deterministic change fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { workflowsPath } from '../workers/worker';

describe('campaign workflow replay', () => {
  it('replays the recorded generation-0 history without a determinism error', async () => {
    const history = historyFromJSON(JSON.parse(readFileSync('test/fixtures/histories/campaign-gen0.json', 'utf8')));
    expect((history.events ?? []).length).toBeGreaterThan(20);
    await expect(Worker.runReplayHistory({ workflowsPath }, history, 'campaign-gen0')).resolves.toBeUndefined();
  });
});
