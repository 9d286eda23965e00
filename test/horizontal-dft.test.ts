// Horizontal DFT workers: two `autopipe worker --queues dft` processes share a labelling run; one is
// SIGKILLed mid-SCF and the other finishes every label. pw.x starts are counted by the command-template
// wrapper, with the pid of the worker that started each: unique labels plus the one run in flight at the
// kill, every later start on the surviving worker.
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DftSchema } from '../common/campaign-schema';
import { TaskQueues } from '../common/queues';
import { projectRoot, pythonExe } from '../host/paths';
import type { DftLabel } from '../activities/dft/qe';
import { labellingWorkflow } from '../workflows/labelling';
import { descendants, gone, until } from './helpers/processes';
import { structureIds } from './helpers/python';
import { startTestWorkers, testClient } from './helpers/temporal';

const cli = path.join(projectRoot, 'bin', 'autopipe.mjs');
const wrapper = path.join(projectRoot, 'test', 'fixtures', 'pw-counting.sh');

describe('two DFT workers', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-horizontal-'));
  const countFile = path.join(dir, 'pw-starts.txt');
  const workers: ResultPromise[] = [];
  let stopControl: () => Promise<void>;
  const starts = () => readFileSync(countFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
    const [pid, cwd, ppid] = l.split(' ');
    return { pid: Number(pid), id: cwd!.split(path.sep).slice(-3)[0]!, worker: Number(ppid) };
  });

  beforeAll(async () => {
    stopControl = await startTestWorkers(['control']);
  });
  afterAll(async () => {
    for (const w of workers) w.kill('SIGKILL');
    await stopControl?.();
  });

  it('share the labelling; SIGKILL one mid-SCF and the other finishes it', { timeout: 20 * 60_000 }, async () => {
    const cells = path.join(dir, 'si.extxyz');
    await execa(pythonExe, ['-c', `from ase.build import bulk; from ase.io import write
fs = []
for i in range(4):
    a = bulk('Si', 'diamond', a=5.43, cubic=True); a.rattle(0.04, seed=20 + i); fs.append(a)
write(${JSON.stringify(cells)}, fs)`]);
    const [a, b] = [0, 1].map(() => {
      const w = execa(process.execPath, [cli, 'worker', '--queues', 'dft', '--slots', 'dft=1', '--grace', '1'], { env: { ...process.env, PW_COUNT_FILE: countFile }, reject: false });
      workers.push(w);
      return w;
    }) as [ResultPromise, ResultPromise];
    const dft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 20, smearing: 'none', kspacing: 0.07, command: wrapper, concurrency: 2 });
    const ids = await structureIds(cells);
    const client = await testClient();
    const h = await client.workflow.start(labellingWorkflow, { taskQueue: TaskQueues.control, workflowId: `horizontal-${Date.now()}`, args: [{ runDir: path.join(dir, 'run'), dft, structureFile: cells, ids }] });

    // Both workers have an SCF running: kill A in the middle of its own.
    await until('a pw.x under each worker', () => [a, b].every((w) => descendants(w.pid!).some((p) => /pw\.x/.test(p.cmd))), 300);
    const killed = starts().find((s) => s.worker === a.pid)!;
    const tree = descendants(a.pid!).map((p) => p.pid);
    a.kill('SIGKILL');
    await a;
    expect(await gone(tree, 10)).toBeLessThan(10); // A's pw.x died with it

    const r = await h.result();
    expect(r).toMatchObject({ labelled: 4, failed: 0, healed: 0 });
    const all = starts();
    // pw.x starts: one per label plus the one in flight on A when it died; all later ones on B.
    expect(all).toHaveLength(ids.length + 1);
    expect(new Set(all.map((s) => s.id))).toEqual(new Set(ids));
    expect(all.slice(all.findIndex((s) => s.pid === killed.pid) + 1).every((s) => s.worker === b.pid)).toBe(true);
    const redone = all.filter((s) => s.id === killed.id);
    expect(redone.map((s) => s.worker)).toEqual([a.pid, b.pid]);
    const label = JSON.parse(readFileSync(r.labels.find((l) => l.structureId === killed.id)!.labelFile, 'utf8')) as DftLabel;
    expect(label.provenance).toMatchObject({ healed: false, genuine_failures: 0, rung: 'default' });
    expect(label.provenance.temporal_attempt).toBeGreaterThanOrEqual(2);
  });
});
