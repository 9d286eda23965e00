// Record the replay fixtures of a release: histories of every workflow type, made by the released code on
// real tools, kept in test/fixtures/histories/<release>/ so CI replays them against every later change
// (test/unit/replay.test.ts). The versioning policy (docs/durability.md) says when a release's folder may go.
//
// What runs, on a private dev server with in-process workers: the tiny Si campaign over its generations
// (teacher bootstrap, distillation with its tiered oracle, exploration, labelling, fine-tuning, continued
// as new between generations), then whichever workflow types the campaign did not reach, each once.
// Usage: nice -n 5 npx tsx scripts/record-histories.ts [RELEASE]   (RELEASE default: <date>-<git short sha>;
//        about 15-25 minutes on 2 cores)
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import proto from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import { loadCampaignFile } from '../cli/campaign-file';
import { DftSchema } from '../common/campaign-schema';
import { TaskQueues } from '../common/queues';
import { connectClient } from '../host/connections';
import { projectRoot, pythonExe } from '../host/paths';
import { startServer, stopServer } from '../host/server';
import { temporalSettings } from '../host/temporal-config';
import { createWorkers } from '../workers/worker';
import * as workflows from '../workflows';

const sha = (await execa('git', ['rev-parse', '--short', 'HEAD'], { cwd: projectRoot })).stdout.trim();
const release = process.argv[2] ?? `${new Date().toISOString().slice(0, 10)}-${sha}`;
const out = path.join(projectRoot, 'test', 'fixtures', 'histories', release);
const work = mkdtempSync(path.join(os.tmpdir(), 'autopipe-record-'));
const env = { AUTOPIPE_TEMPORAL_PORT: process.env.AUTOPIPE_TEMPORAL_PORT ?? '7320', AUTOPIPE_TEMPORAL_UI_PORT: process.env.AUTOPIPE_TEMPORAL_UI_PORT ?? '8320', TEMPORAL_NAMESPACE: 'record' };
Object.assign(process.env, env);
// The campaigns' run directories live in the scratch directory (the run-root guard, activities/safety/).
process.env.AUTOPIPE_RUN_ROOTS = [work, process.env.AUTOPIPE_RUN_ROOTS].filter(Boolean).join(':');
delete process.env.TEMPORAL_ADDRESS;
const settings = temporalSettings(process.env);
const stateDir = path.join(work, 'state');

async function saveAll(client: Client): Promise<Set<string>> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const seen = new Map<string, number>();
  const runs: { type: string; id: string; runId: string; start: number }[] = [];
  for await (const w of client.workflow.list()) runs.push({ type: w.type, id: w.workflowId, runId: w.runId, start: w.startTime.getTime() });
  runs.sort((a, b) => a.start - b.start);
  const index: { file: string; workflowId: string; type: string }[] = [];
  for (const r of runs) {
    const n = seen.get(r.type) ?? 0;
    seen.set(r.type, n + 1);
    const history = await client.workflow.getHandle(r.id, r.runId).fetchHistory();
    const file = path.join(out, `${r.type}${n ? `-${n}` : ''}.bin`);
    writeFileSync(file, proto.temporal.api.history.v1.History.encode(history).finish());
    index.push({ file: path.basename(file), workflowId: r.id, type: r.type });
    console.log(`${path.relative(projectRoot, file)}  ${r.id} (${history.events?.length} events)`);
  }
  // Replay needs each history's workflow id (child ids derive from it); a history does not hold it.
  writeFileSync(path.join(out, 'index.json'), JSON.stringify(index, null, 1) + '\n');
  return new Set(seen.keys());
}

await startServer({ settings, stateDir, headless: true });
const client = await connectClient(settings);
const workers = await createWorkers({ queues: ['control', 'dft', 'ml'], slots: { dft: 2, ml: 1 } });
const running = workers.map((w) => w.run());
try {
  const loaded = loadCampaignFile(path.join(projectRoot, 'test', 'fixtures', 'campaigns', 'tiny-si.yaml'));
  if (!loaded.ok) throw new Error(loaded.errors.join('\n'));
  const id = 'record-campaign';
  const raw = { ...loaded.raw, id, run_directory: path.join(work, 'campaign') };
  const outcome = await client.workflow.execute(workflows.campaignWorkflow, { taskQueue: TaskQueues.control, workflowId: id, args: [raw] });
  console.log(`campaign: ${outcome.stopReason} after ${outcome.generations} generation(s)`);

  // The types the campaign did not reach, each once, small.
  const reached = new Set<string>();
  for await (const w of client.workflow.list()) reached.add(w.type);
  const cells = path.join(work, 'si.extxyz');
  await execa(pythonExe, [path.join(projectRoot, 'test', 'fixtures', 'si_cells.py'), cells]);
  // Structure ids are content hashes (the store keys structures by content; dftLabel refuses others).
  const idsScript = `import json\nfrom ase.io import read\nfrom activities.structures.commands import structure_id\nprint(json.dumps([structure_id(a) for a in read(${JSON.stringify(cells)}, ':')]))`;
  const ids = JSON.parse((await execa(pythonExe, ['-c', idsScript], { cwd: projectRoot, env: { PYTHONPATH: projectRoot } })).stdout) as string[];
  const dft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 16, smearing: 'none', kspacing: 0.12 });
  const q = { taskQueue: TaskQueues.control };
  const labelled = await client.workflow.execute(workflows.labellingWorkflow, { ...q, workflowId: 'record-labelling', args: [{ runDir: path.join(work, 'labelling'), dft, structureFile: cells, ids: ids.slice(0, 2) }] });
  const bootstrap = path.join(work, 'campaign', 'teacher', 'bootstrap');
  const models = readdirSync(bootstrap).filter((f) => /^member-\d+\.model$/.test(f)).map((f) => path.join(bootstrap, f));
  const teacher = { models, batch_size: 4, finetune: { max_epochs: 2 }, surrogates: { per_structure: 1 } };
  const extra: Record<string, () => Promise<unknown>> = {
    singleActivityWorkflow: () => client.workflow.execute(workflows.singleActivityWorkflow, { ...q, workflowId: 'record-single', args: [{ queue: 'dft', activity: 'dftLabel', args: [{ runDir: path.join(work, 'single'), structureId: ids[0]!, structureFile: cells, index: 0, dft }] }] }),
    smokeWorkflow: () => client.workflow.execute(workflows.smokeWorkflow, { ...q, workflowId: 'record-smoke', args: [{ runDir: path.join(work, 'smoke'), campaign: loaded.campaign, structures: 10, fitIterations: 5, maceEpochs: 2 }] }),
    maceLabelWorkflow: () => client.workflow.execute(workflows.maceLabelWorkflow, { ...q, workflowId: 'record-mace-label', args: [{ runDir: path.join(work, 'mace-label'), structureFile: cells, ids: ids.slice(0, 2), teacher }] }),
    tieredOracleWorkflow: () => client.workflow.execute(workflows.tieredOracleWorkflow, { ...q, workflowId: 'record-tiered', args: [{ runDir: path.join(work, 'tiered'), name: 'record', structureFile: cells, ids: ids.slice(0, 2), teacher, dft, dftLimit: 1 }] }),
    teacherFinetuneWorkflow: () =>
      client.workflow.execute(workflows.teacherFinetuneWorkflow, {
        ...q,
        workflowId: 'record-teacher-finetune',
        args: [{ runDir: path.join(work, 'teacher-finetune'), generation: 1, teacher, dftLabels: labelled.labels.map((l) => ({ structureId: l.structureId, labelKey: l.labelKey })), structureFile: cells, indices: labelled.labels.map((l) => l.index), seed: 1 }],
      }),
  };
  for (const [type, start] of Object.entries(extra)) {
    if (reached.has(type)) continue;
    console.log(`running ${type} on its own`);
    await start().catch((err: Error) => console.log(`${type} failed (its history is recorded all the same): ${err.message}`));
  }
  const saved = await saveAll(client);
  const missing = Object.keys(workflows).filter((t) => !saved.has(t));
  if (missing.length) console.log(`NOT recorded (reach them from the campaign or add them above): ${missing.join(', ')}`);
} finally {
  workers.forEach((w) => w.shutdown());
  await Promise.allSettled(running);
  await client.connection.close();
  await stopServer({ stateDir });
  rmSync(work, { recursive: true, force: true });
}
