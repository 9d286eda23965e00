// One real Temporal dev server for the whole run: its own ports and a throw-away SQLite database, so a
// developer's own server (7233) is never touched. Tests read the address from the environment.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureNamespace, startServer, stopServer } from '../host/server';
import { temporalSettings } from '../host/temporal-config';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

let stateDir: string;

export async function setup(project: TestProject) {
  stateDir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-test-server-'));
  const port = await freePort();
  const env = {
    AUTOPIPE_TEMPORAL_PORT: String(port),
    AUTOPIPE_TEMPORAL_UI_PORT: String(await freePort()),
    TEMPORAL_NAMESPACE: 'autopipe-test',
  };
  Object.assign(process.env, env);
  delete process.env.TEMPORAL_ADDRESS;
  const settings = temporalSettings(process.env);
  await startServer({ settings, stateDir, headless: true, waitSeconds: 90 });
  // One namespace per pool slot: test files running at the same time never share task queues, so one
  // file's workers cannot take (or steal, or kill) another file's activities.
  const slots = Number(project.config.maxWorkers ?? 2) || 2;
  for (let i = 1; i <= slots; i++) await ensureNamespace({ ...settings, namespace: `${env.TEMPORAL_NAMESPACE}-${i}` });
  project.provide('temporalEnv', env);
}

export async function teardown() {
  await stopServer({ stateDir });
  rmSync(stateDir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    temporalEnv: Record<string, string>;
  }
}
