// Replay of recorded histories against the current workflow code: every release folder in
// test/fixtures/histories/<release>/<type>[-n].bin (recorded from released code by
// scripts/record-histories.ts). A change that would break a running campaign (a non-deterministic change
// not guarded by patched(), see docs/durability.md) fails here; so does a workflow type the newest
// release has no history of.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import * as workflows from '../../workflows';
import { workflowInterceptorModules, workflowsPath } from '../../workers/worker';

const dir = 'test/fixtures/histories';
const releases = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
// index.json: each history's file and workflow id (child workflow ids derive from it).
const fixtures = releases.flatMap((release) =>
  (JSON.parse(readFileSync(path.join(dir, release, 'index.json'), 'utf8')) as { file: string; workflowId: string }[]).map((f) => ({
    release,
    file: `${release}/${f.file}`,
    workflowId: f.workflowId,
    history: proto.temporal.api.history.v1.History.decode(readFileSync(path.join(dir, release, f.file))),
  })),
);
const typeOf = (h: (typeof fixtures)[0]['history']) => h.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';

describe('replay of recorded histories', () => {
  it('the newest release covers every workflow type the workers register, and the campaign over several generations', () => {
    const newest = fixtures.filter((f) => f.release === releases.at(-1));
    const types = new Set(newest.map((f) => typeOf(f.history)));
    expect([...types].sort()).toEqual(Object.keys(workflows).sort());
    const campaignRuns = newest.filter((f) => typeOf(f.history) === 'campaignWorkflow');
    expect(campaignRuns.length).toBeGreaterThanOrEqual(2); // generation 0 and a continued generation
  });

  it('replays each without a determinism error', { timeout: 120_000 }, async () => {
    const failures: string[] = [];
    // One bundle for all; results come back in input order.
    const histories = fixtures.map((f) => ({ workflowId: f.workflowId, history: f.history }));
    let i = 0;
    for await (const r of Worker.runReplayHistories({ workflowsPath, interceptors: { workflowModules: workflowInterceptorModules } }, histories)) {
      if (r.error) failures.push(`${fixtures[i]!.file} (${r.workflowId}): ${r.error.message.slice(0, 400)}`);
      i++;
    }
    expect(i).toBe(fixtures.length);
    expect(failures).toEqual([]);
  });
});
