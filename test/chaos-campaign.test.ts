// The chaos campaign (issue 12): a tiny Si campaign on real tools and its own Temporal server, run by one
// `autopipe worker` process that is SIGKILLed during pw.x, twice during the same MACE training, during a
// Pacemaker fit and during MD, and restarted each time; the server is SIGKILLed once and restarted. The
// campaign also fails on a configuration error after its teacher phase (a fixed ZBL inner cutoff above the
// distilled data's closest pairs, found by the fit's pre-flight check) and is continued with
// `autopipe resume ID --config FIXED`. It completes:
// pw.x starts (counted by the command-template wrapper) = unique labels + the runs in flight at the kills;
// the finished teacher phase is reused, not rerun; the store passes PRAGMA integrity_check without
// duplicate structures or labels; no process of a killed worker outlives it by 10 s, none at all at the end.
import { execa, type ResultPromise } from 'execa';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { Client } from '@temporalio/client';
import { TaskQueues } from '../common/queues';
import { connectClient } from '../host/connections';
import { projectRoot } from '../host/paths';
import { startServer, stopServer } from '../host/server';
import { temporalSettings } from '../host/temporal-config';
import { latestCheckpointEpoch, type MaceTrainResult } from '../activities/mace/train';
import { campaignWorkflow } from '../workflows/campaign';
import { loadCampaignFile } from '../cli/campaign-file';
import { pyJson } from './helpers/python';
import { descendants, gone, processes, until } from './helpers/processes';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');
const wrapper = path.join(projectRoot, 'test', 'fixtures', 'pw-counting.sh');

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

describe('the chaos campaign', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-chaos-'));
  const stateDir = path.join(dir, 'state');
  const runDir = path.join(dir, 'run');
  const countFile = path.join(dir, 'pw-starts.txt');
  const log: string[] = [];
  let env: Record<string, string>;
  let worker: ResultPromise | undefined;
  let client: Client;
  let inFlight = 0;

  const settings = () => temporalSettings({ ...process.env, ...env });
  const startWorker = () => {
    worker = execa(process.execPath, [cli, 'worker', '--grace', '1'], { env: { ...process.env, ...env, TEMPORAL_ADDRESS: '', PW_COUNT_FILE: countFile }, reject: false });
    return worker;
  };
  /** SIGKILL the worker: what it had started is gone within 10 s; a new worker takes over. */
  const killWorker = async (why: string) => {
    const w = worker!;
    const tree = descendants(w.pid!);
    const pw = tree.filter((p) => /(^|\/)pw\.x( |$)/.test(p.cmd)).length;
    inFlight += pw;
    w.kill('SIGKILL');
    await w;
    const s = await gone(tree.map((p) => p.pid), 10);
    log.push(`killed the worker during ${why} (${pw} pw.x in flight); its ${tree.length} processes gone in ${s.toFixed(1)} s`);
    startWorker();
  };
  const inTree = (re: RegExp) => worker?.pid !== undefined && descendants(worker.pid).some((p) => re.test(p.cmd));

  beforeAll(async () => {
    env = { AUTOPIPE_TEMPORAL_PORT: String(await freePort()), AUTOPIPE_TEMPORAL_UI_PORT: String(await freePort()), TEMPORAL_NAMESPACE: 'chaos' };
    await startServer({ settings: settings(), stateDir, headless: true });
    client = await connectClient(settings());
  });
  afterAll(async () => {
    worker?.kill('SIGKILL');
    await client?.connection.close();
    await stopServer({ stateDir });
  });

  it('completes through every kind of crash and a resume with a fixed configuration', { timeout: 60 * 60_000 }, async () => {
    const loaded = loadCampaignFile('test/fixtures/campaigns/tiny-si.yaml');
    if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
    const id = 'chaos';
    const base = loaded.raw as Record<string, Record<string, unknown>>;
    const raw = {
      ...base,
      id,
      run_directory: runDir,
      dft: { ...base.dft, command: wrapper },
      // Members train long enough to be killed twice between checkpoints.
      teacher: { ...base.teacher, bootstrap: { ...(base.teacher!.bootstrap as object), max_epochs: 40 } },
      // The mistake: a fixed ZBL inner cutoff above the first-neighbour distance (ZBL would replace ACE on
      // every bond), found only when the distilled data exists, after the teacher phase.
      training: { ...base.training, zbl_inner_cutoff: 3.0, maxiter: 12 },
      budgets: { dft_total: 10, dft_per_generation: 3, max_generations: 1 },
    };
    const h = await client.workflow.start(campaignWorkflow, { taskQueue: TaskQueues.control, workflowId: id, args: [raw] });
    startWorker();

    // 1. pw.x (the teacher's seed structures).
    await until('pw.x', () => inTree(/pw\.x/), 900);
    await killWorker('pw.x');

    // 2. Twice during the same MACE training, each time with a checkpoint to resume from.
    const member = path.join(runDir, 'teacher', 'bootstrap', 'train-member-0');
    await until('a checkpoint of member-0', () => inTree(/mace_run_train/) && latestCheckpointEpoch(member) !== undefined, 900);
    const first = latestCheckpointEpoch(member)!;
    await killWorker(`MACE training (member-0, checkpoint epoch ${first})`);
    await until('a later checkpoint of member-0', () => inTree(/mace_run_train/) && (latestCheckpointEpoch(member) ?? -1) > first, 900);
    await killWorker(`the same MACE training (checkpoint epoch ${latestCheckpointEpoch(member)})`);

    // 3. The campaign fails on its configuration, at the distillation fit's pre-flight check: the fixed ZBL
    // inner cutoff is above the closest Si-Si pairs of the distilled structures.
    const failed = await h.result().then(
      () => undefined,
      (e: Error & { cause?: Error }) => e,
    );
    expect(failed?.message).toMatch(/failed/);
    expect(JSON.stringify((await client.workflow.getHandle(id).fetchHistory()).events?.at(-1))).toMatch(/zbl_inner_cutoff 3 Å is not below the closest pairs/);
    const trained = readFileSync(path.join(runDir, 'teacher', 'bootstrap', 'member-0.train.json'), 'utf8');
    const trainedAt = statSync(path.join(runDir, 'teacher', 'bootstrap', 'member-0.model')).mtimeMs;

    // 4. Fixed, and continued from the last finished phase (the teacher), through the CLI.
    const fixed = path.join(dir, 'fixed.yaml');
    const { zbl_inner_cutoff: _wrong, ...training } = raw.training;
    writeFileSync(fixed, YAML.stringify({ ...raw, training }));
    const resumed = await execa(process.execPath, [cli, 'resume', id, '--config', fixed], { env: { ...process.env, ...env, TEMPORAL_ADDRESS: '' } });
    expect(resumed.stdout).toMatch(new RegExp(`resumed ${id} from its failed run`));

    // 5. The distillation's Pacemaker fit, a few iterations in.
    const metrics = path.join(runDir, 'potentials', 'gen-0', 'fit', 'metrics.txt');
    await until('pacemaker iterations', () => inTree(/pacemaker/) && existsSync(metrics) && readFileSync(metrics, 'utf8').trim().split('\n').length > 3, 1800);
    await killWorker('a Pacemaker fit');

    // 6. MD.
    await until('MD', () => inTree(/md-explore/), 1800);
    await new Promise((r) => setTimeout(r, 2000));
    await killWorker('MD');

    // 7. The server, once, while the campaign labels or fine-tunes.
    await until('the labelling or fine-tuning phase', () => inTree(/pw\.x|mace_run_train/), 1800);
    const pid = Number(readFileSync(path.join(stateDir, 'temporal-server.pid'), 'utf8'));
    // A pw.x running through the server's restart normally finishes once (its heartbeats resume within
    // the timeout); counted apart, as it could be started again if they did not.
    const serverInFlight = descendants(worker!.pid!).filter((p) => /(^|\/)pw\.x( |$)/.test(p.cmd)).length;
    process.kill(pid, 'SIGKILL');
    log.push(`killed the server (${serverInFlight} pw.x in flight)`);
    await new Promise((r) => setTimeout(r, 2000));
    await startServer({ settings: settings(), stateDir, headless: true });
    await client.connection.close();
    client = await connectClient(settings());

    const outcome = await client.workflow.getHandle<typeof campaignWorkflow>(id).result();
    log.push(`outcome: ${outcome.stopReason}`);
    expect(outcome.generations).toBe(1);

    // Finished work was kept: the teacher phase ran once (the resumed run took its recorded result)...
    const teacherRuns: string[] = [];
    for await (const w of client.workflow.list({ query: `WorkflowId = '${id}/gen-0/teacher'` })) teacherRuns.push(w.runId);
    expect(teacherRuns).toHaveLength(1);
    expect(readFileSync(path.join(runDir, 'teacher', 'bootstrap', 'member-0.train.json'), 'utf8')).toBe(trained);
    expect(statSync(path.join(runDir, 'teacher', 'bootstrap', 'member-0.model')).mtimeMs).toBe(trainedAt);
    // ... the twice-killed member resumed from its checkpoint ...
    expect((JSON.parse(trained) as { result: MaceTrainResult }).result.resumedFromEpoch).toBeGreaterThanOrEqual(first);
    // ... and no DFT label was computed twice: starts = unique labels + the runs in flight at the kills.
    const starts = readFileSync(countFile, 'utf8').trim().split('\n').filter(Boolean);
    const labels = readdirSync(path.join(runDir, 'dft')).flatMap((s) => readdirSync(path.join(runDir, 'dft', s)).filter((f) => /^label-.*\.json$/.test(f)));
    expect(labels.length).toBe(outcome.dft.labelled);
    // A pw.x in flight at a kill whose output was already complete is read by the retry, not run again:
    // so the starts beyond one per label are at most the runs in flight at the kills.
    const extra = starts.length - labels.length - inFlight;
    log.push(`pw.x starts ${starts.length} = ${labels.length} labels + ${inFlight} in flight at worker kills + ${extra} after the server kill`);
    expect(starts.length).toBeGreaterThanOrEqual(labels.length);
    expect(extra).toBeLessThanOrEqual(serverInFlight);

    // The store: intact, no duplicate structure or label.
    const store = await pyJson<{ integrity: string; structures: number; systems: number; dupLabels: number }>(`
import json, sqlite3
con = sqlite3.connect(${JSON.stringify(path.join(runDir, 'store.sqlite'))})
q = lambda s: con.execute(s).fetchone()[0]
print(json.dumps({"integrity": q("PRAGMA integrity_check"), "structures": q("SELECT COUNT(*) FROM autopipe_structures"),
  "systems": q("SELECT COUNT(*) FROM systems"),
  "dupLabels": q("SELECT COUNT(*) FROM (SELECT structure_id, oracle FROM autopipe_labels WHERE oracle = 'dft' GROUP BY structure_id, oracle HAVING COUNT(*) > 1)")}))`);
    expect(store).toMatchObject({ integrity: 'ok', dupLabels: 0 });
    expect(store.systems).toBe(store.structures); // no half-inserted structure
    console.log(`chaos campaign:\n${log.join('\n')}\nstore: ${JSON.stringify(store)}`);

    // No orphan: once the last worker is stopped, nothing runs in the campaign's directory.
    worker!.kill('SIGTERM');
    await worker;
    // Every process a worker started carries PW_COUNT_FILE in its environment (the reaper leaves last).
    const ours = () =>
      processes().filter((p) => {
        try {
          return readFileSync(`/proc/${p.pid}/environ`, 'utf8').includes(countFile);
        } catch {
          return false;
        }
      });
    await until('no process of any worker', () => ours().length === 0, 10).catch(() => undefined);
    expect(ours().map((p) => p.cmd)).toEqual([]);
  });
});
