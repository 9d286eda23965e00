// CLI runs never steal a campaign's work (issue 12, item 8): `autopipe label dft` with its in-process
// workers serves its own private queues. A labelling workflow of "a campaign" waits on the shared
// autopipe-dft queue with no DFT worker; the CLI run labels its own structure with pw.x and finishes,
// and the campaign's DFT task is still untouched (scheduled, never started) afterwards.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DftSchema } from '../common/campaign-schema';
import { TaskQueues } from '../common/queues';
import { runCli } from '../cli/program';
import { extxyz, sandbox } from './helpers/bad-input';
import { startTestWorkers, testClient } from './helpers/temporal';
import { structureIds } from './helpers/python';

const box = sandbox('autopipe-cli-queues');
afterAll(() => rmSync(box.dir, { recursive: true, force: true }));

describe('CLI runs and the shared queues', () => {
  it("label dft runs on its own queues and leaves a campaign's pending DFT task alone", async () => {
    const client = await testClient();
    const stopShared = await startTestWorkers(['control']); // the campaign's workflows, but no DFT worker
    const cell = [[0, 2.715, 2.715], [2.715, 0, 2.715], [2.715, 2.715, 0]];
    const si = box.file('si.extxyz', extxyz(cell, [['Si', 0, 0, 0], ['Si', 1.36, 1.3575, 1.3575]]));
    const campaignRun = box.at('campaign-run');
    mkdirSync(campaignRun, { recursive: true });
    const dft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 12, smearing: 'none', kspacing: 0.2 });
    const shared = await client.workflow.start('labellingWorkflow', {
      taskQueue: TaskQueues.control,
      workflowId: `shared-${path.basename(box.dir)}`,
      args: [{ runDir: campaignRun, dft, structureFile: si, ids: await structureIds(si) }],
    });
    // Its DFT activity is scheduled on the shared queue before the CLI starts.
    await vi.waitFor(async () => expect((await shared.describe()).raw.pendingActivities?.length).toBe(1), { timeout: 30_000, interval: 200 });

    const cfg = box.file('c.yaml', 'system: {name: Si, elements: [Si], prototype: {kind: diamond, a: 5.43}}\ndft: {pseudopotentials: {Si: Si.pz-vbc.UPF}, ecutwfc: 12, smearing: none, kspacing: 0.2}\n');
    const runDir = box.at('cli-run');
    const out = box.at('labels.extxyz');
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const code = await runCli(['label', 'dft', si, '--config', cfg, '--out', out, '--run-dir', runDir]);
    const said = err.mock.calls.map((c) => c.join(' ')).join('\n');
    err.mockRestore();
    log.mockRestore();
    expect(code, said).toBe(0);
    expect(said).toMatch(/done: 1 labelled/);

    // The campaign's DFT task was never started by anyone ...
    const pending = (await shared.describe()).raw.pendingActivities ?? [];
    expect(pending).toHaveLength(1);
    expect(pending[0]!.lastStartedTime ?? null).toBeNull();
    expect(pending[0]!.attempt).toBe(1);
    expect(String(pending[0]!.state)).toMatch(/SCHEDULED|^1$/);
    // ... because the CLI's workflow ran on its private control queue.
    const cliRun = await client.workflow.getHandle(`label-${path.basename(runDir)}`).describe();
    expect(cliRun.taskQueue).toMatch(/^autopipe-control@cli-\d+-[0-9a-f]+$/);

    await shared.terminate('test over');
    await stopShared();
    await client.connection.close();
  });
});
