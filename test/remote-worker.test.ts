// A DFT worker on another host: a network namespace (scripts/hpc/netns-host.sh) that reaches the
// Temporal server only over TCP (the embedded dev server listening on all interfaces,
// AUTOPIPE_TEMPORAL_IP=0.0.0.0, reached at the host's veth address), and shares the run directory. It takes DFT work from the same labelling run as
// a worker on this host: each does some, every label lands in the one run directory.
import { execa, type ResultPromise } from 'execa';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { structureIds } from './helpers/python';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DftSchema } from '../common/campaign-schema';
import { TaskQueues } from '../common/queues';
import { connectClient } from '../host/connections';
import { projectRoot, pythonExe } from '../host/paths';
import { startServer, stopServer } from '../host/server';
import { temporalSettings } from '../host/temporal-config';
import type { DftLabel } from '../activities/dft/qe';
import type { LabellingResult } from '../workflows/labelling';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');
const netns = path.join(projectRoot, 'scripts', 'hpc', 'netns-host.sh');
const NS = `apw${process.pid % 100000}`;
const SUBNET = 1 + (process.pid % 250);

function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try {
    execFileSync('bash', [netns, 'up', NS, String(SUBNET)], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    const out = String((err as { stderr?: Buffer }).stderr ?? err);
    if ((err as { status?: number }).status === 3) return `no second host possible here: ${out.trim()}`;
    throw new Error(`scripts/hpc/netns-host.sh up failed: ${out}`);
  }
}
const skip = netnsUnavailable();
if (skip) console.warn(`[remote-worker] SKIPPED: ${skip}`);

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe.skipIf(skip)(`a DFT worker on a second host (network namespace)${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const hostIp = `10.231.${SUBNET}.1`;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-remote-'));
  const state = path.join(dir, 'server');
  const workers: ResultPromise[] = [];
  let env: Record<string, string>;

  beforeAll(async () => {
    // The embedded server on all interfaces: its loopback port would not reach it from the namespace.
    env = { AUTOPIPE_TEMPORAL_IP: '0.0.0.0', AUTOPIPE_TEMPORAL_PORT: String(await freePort()), AUTOPIPE_TEMPORAL_UI_PORT: String(await freePort()), TEMPORAL_NAMESPACE: 'remote-test', TEMPORAL_ADDRESS: '' };
    await startServer({ settings: temporalSettings(env), stateDir: state, headless: true });
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.allSettled(workers);
    await stopServer({ stateDir: state });
    execFileSync('bash', [netns, 'down', NS]);
  });

  it('reaches the server over TCP only, takes DFT work from the same run, and writes into the shared run directory', { timeout: 10 * 60_000 }, async () => {
    const settings = temporalSettings(env);
    const port = env.AUTOPIPE_TEMPORAL_PORT!;
    // The namespace is another host: the server's port is not on its loopback, only on the host's address.
    const probe = (addr: string) =>
      execa('ip', ['netns', 'exec', NS, process.execPath, '-e', `require('net').connect(${port}, '${addr}').on('connect', () => process.exit(0)).on('error', (e) => { console.log(e.code); process.exit(1); })`], { reject: false });
    expect((await probe('127.0.0.1')).stdout).toBe('ECONNREFUSED');
    expect((await probe(hostIp)).exitCode).toBe(0);

    const cells = path.join(dir, 'si.extxyz');
    await execa(pythonExe, ['-c', `
from ase.build import bulk
from ase.io import write
fr = []
for i in range(4):
    a = bulk('Si', 'diamond', a=5.43); a.rattle(0.04, seed=20 + i); fr.append(a)
write(${JSON.stringify(cells)}, fr)`]);
    const workerEnv = { ...process.env, ...env };
    // This host: workflows and one DFT slot. The other host: one DFT slot, the server at HOST_IP:port.
    const local = execa(process.execPath, [cli, 'worker', '--queues', 'control,dft', '--slots', 'dft=1', '--grace', '5'], { env: workerEnv, reject: false, all: true });
    const remote = execa('ip', ['netns', 'exec', NS, 'env', `TEMPORAL_ADDRESS=${hostIp}:${port}`, process.execPath, cli, 'worker', '--queues', 'dft', '--slots', 'dft=1', '--grace', '5'], { env: workerEnv, reject: false, all: true });
    workers.push(local, remote);

    const runDir = path.join(dir, 'run');
    const dft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 16, smearing: 'none', kspacing: 0.09, concurrency: 2 });
    const client = await connectClient(settings);
    try {
      const h = await client.workflow.start('labellingWorkflow', {
        taskQueue: TaskQueues.control,
        workflowId: `remote-${Date.now()}`,
        args: [JSON.parse(JSON.stringify({ runDir, dft, structureFile: cells, ids: await structureIds(cells) }))],
      });
      const r = (await h.result()) as LabellingResult;
      expect(r).toMatchObject({ labelled: 4, failed: 0 });
      // Who ran what: the worker identity Temporal records is "<pid>@<hostname>".
      const events = (await h.fetchHistory()).events ?? [];
      const identities = events.map((e) => e.activityTaskStartedEventAttributes?.identity).filter((x): x is string => Boolean(x));
      const byRemote = identities.filter((i) => i.startsWith(`${remote.pid}@`)).length;
      const byLocal = identities.filter((i) => i.startsWith(`${local.pid}@`)).length;
      console.log(`[remote-worker] DFT activities: ${byRemote} on the namespace host (pid ${remote.pid}), ${byLocal} on this host (pid ${local.pid})`);
      expect(byRemote).toBeGreaterThanOrEqual(1);
      expect(byLocal).toBeGreaterThanOrEqual(1);
      expect(byRemote + byLocal).toBe(4);
      for (const l of r.labels) {
        expect(existsSync(l.labelFile)).toBe(true);
        expect(l.labelFile.startsWith(runDir)).toBe(true);
        const label = JSON.parse(readFileSync(l.labelFile, 'utf8')) as DftLabel;
        expect(label.forces).toHaveLength(2);
      }
    } finally {
      await client.connection.close();
    }
  });
});
