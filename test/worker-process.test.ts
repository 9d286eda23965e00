// `autopipe worker` as a real process against its own dev server: it keeps serving across a server
// restart (same SQLite database) without being restarted itself, and SIGTERM drains it cleanly.
import { execa } from 'execa';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DftSchema } from '../common/campaign-schema';
import { connectClient } from '../host/connections';
import { projectRoot, pythonExe } from '../host/paths';
import { TaskQueues } from '../common/queues';
import { temporalSettings } from '../host/temporal-config';
import { startServer, stopServer } from '../host/server';
import { labellingWorkflow } from '../workflows/labelling';
import { structureIds } from './helpers/python';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe('autopipe worker process', () => {
  const state = mkdtempSync(path.join(os.tmpdir(), 'autopipe-worker-'));
  let env: Record<string, string>;
  afterAll(async () => stopServer({ stateDir: state }));

  it('survives a server restart and drains on SIGTERM', async () => {
    env = { AUTOPIPE_TEMPORAL_PORT: String(await freePort()), AUTOPIPE_TEMPORAL_UI_PORT: String(await freePort()), TEMPORAL_NAMESPACE: 'worker-test' };
    const settings = temporalSettings({ ...env });
    await startServer({ settings, stateDir: state, headless: true });
    const cells = path.join(state, 'si.extxyz');
    await execa(pythonExe, ['-c', `from ase.build import bulk; from ase.io import write; a=bulk('Si','diamond',a=5.43); a.rattle(0.03, seed=9); write(${JSON.stringify(cells)}, a)`]);
    const [id] = await structureIds(cells);
    const dft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 16, smearing: 'none', kspacing: 0.09 });
    const worker = execa(process.execPath, [cli, 'worker', '--queues', 'control,dft', '--grace', '5'], { env: { ...process.env, ...env, TEMPORAL_ADDRESS: '' }, reject: false, all: true });

    const run = async (name: string) => {
      const client = await connectClient(settings);
      try {
        return await client.workflow.execute(labellingWorkflow, {
          taskQueue: TaskQueues.control,
          workflowId: `${name}-${Date.now()}`,
          args: [{ runDir: path.join(state, name), dft, structureFile: cells, ids: [id!] }],
        });
      } finally {
        await client.connection.close();
      }
    };
    expect(await run('before')).toMatchObject({ labelled: 1 });

    await stopServer({ stateDir: state });
    await startServer({ settings, stateDir: state, headless: true });
    expect(await run('after')).toMatchObject({ labelled: 1 }); // same worker process, reconnected

    worker.kill('SIGTERM');
    const r = await worker;
    expect(r.exitCode).toBe(0);
    expect(r.all).toContain('worker: queues control, dft');
    expect(r.all).toContain('worker: stopped');
  });
});
