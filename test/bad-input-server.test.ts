// Bad-input catalogue, part 3: what needs a real Temporal server. The workflows started with plain JSON,
// as the Temporal UI's "Start workflow" form does (no CLI in between): every bad campaign fails in its
// preparation with the field named and nothing written, and a DFT whose cost exceeds the limits is refused
// by the activity's pre-flight before pw.x starts. Then the CLI on those failed and foreign workflows
// (status, pause, tune), where a raw TypeError used to hide the cause.
import { WorkflowFailedError } from '@temporalio/client';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DftSchema } from '../common/campaign-schema';
import { TaskQueues } from '../common/queues';
import { defaultRunsDir } from '../host/paths';
import { campaign, checkBadInput, extxyz, PARTIAL_CIF, sandbox, snapshot, type BadInput } from './helpers/bad-input';
import { startTestWorkers, testClient, useTestServerEnv } from './helpers/temporal';
import { py, structureIds } from './helpers/python';
import { cuTraining, emtDataset } from './fixtures/training/data';
import { potentialSection } from '../activities/ace/fit-input';
import { runTool } from '../activities/runtime/process';
import { dftLabelKey, jobDirFor } from '../activities/dft/qe';

const box = sandbox('autopipe-catalogue-server');
const partial = box.file('partial.cif', PARTIAL_CIF);
const si2 = box.file('run-label/structures/input.extxyz', extxyz([[0, 2.715, 2.715], [2.715, 0, 2.715], [2.715, 2.715, 0]], [['Si', 0, 0, 0], ['Si', 1.3575, 1.3575, 1.3575]]));
let stop: () => Promise<void>;
const tag = `${process.pid}-${Date.now()}`;

beforeAll(async () => {
  stop = await startTestWorkers(['control', 'dft']);
});
afterAll(async () => {
  await stop?.();
  rmSync(box.dir, { recursive: true, force: true });
});

interface UiCase {
  name: string;
  workflowId: string;
  raw: Record<string, unknown>;
  says: string[];
  notCreated: string[];
}

const ui: UiCase[] = [
  { name: 'elements listed twice', workflowId: `ui-twice-${tag}`, raw: campaign({ system: { elements: ['Si', 'Si'] }, run_directory: box.at('r1') }), says: ['system.elements: list each element once (got Si, Si)'], notCreated: [box.at('r1')] },
  { name: 'run_directory in /etc', workflowId: `ui-etc-${tag}`, raw: campaign({ run_directory: '/etc/autopipe-ui' }), says: ['run_directory: /etc/autopipe-ui is outside the allowed run roots'], notCreated: ['/etc/autopipe-ui'] },
  { name: 'run_directory /', workflowId: `ui-root-${tag}`, raw: campaign({ run_directory: '/' }), says: ['run_directory: / is outside the allowed run roots'], notCreated: ['/logs', '/campaign.input.json'] },
  { name: 'a workflow id with a path in it', workflowId: `../../etc/ui bad id ${tag}`, raw: campaign(), says: [`id: "../../etc/ui bad id ${tag}" is not a valid id`], notCreated: [path.resolve(defaultRunsDir, `../../etc/ui bad id ${tag}`)] },
  { name: 'a pseudopotential named ../../../../etc/passwd', workflowId: `ui-passwd-${tag}`, raw: campaign({ dft: { pseudopotentials: { Si: '../../../../etc/passwd' } }, run_directory: box.at('r2') }), says: ['dft.pseudopotentials.Si: "../../../../etc/passwd" must be a file name inside dft.pseudo_dir'], notCreated: [box.at('r2')] },
  { name: 'a missing pseudopotential', workflowId: `ui-nopseudo-${tag}`, raw: campaign({ dft: { pseudopotentials: { Si: 'Si.missing.UPF' } }, run_directory: box.at('r3') }), says: ['dft.pseudopotentials.Si: file /usr/share/espresso/pseudo/Si.missing.UPF not found'], notCreated: [box.at('r3')] },
  { name: 'a missing teacher model', workflowId: `ui-model-${tag}`, raw: campaign({ teacher: { models: [box.at('gone.model')] }, run_directory: box.at('r4') }), says: [`teacher.models.0: ${box.at('gone.model')} not found (a MACE model file)`], notCreated: [box.at('r4')] },
  { name: 'kspacing 0.0001', workflowId: `ui-kfine-${tag}`, raw: campaign({ dft: { kspacing: 0.0001 }, run_directory: box.at('r5') }), says: ['a 3190x3190x3190 k-point grid (3.25e+10 points) exceeds dft.limits.max_kpoints (20000): raise dft.kspacing'], notCreated: [box.at('r5')] },
  { name: 'a CIF with partial occupancy', workflowId: `ui-partial-${tag}`, raw: campaign({ system: { prototype: undefined, structure_file: partial, elements: ['Si', 'Ge'] }, dft: { pseudopotentials: { Si: 'Si.pbe-rrkj.UPF', Ge: 'Ge.pbe-kjpaw.UPF' } }, run_directory: box.at('r6') }), says: [`${partial}[0]: partial occupancy on site 0`], notCreated: [box.at('r6')] },
];

describe('bad-input catalogue: the campaign workflow started with plain JSON (the Temporal UI entry)', () => {
  it.each(ui)('$name', async (c) => {
    const client = await testClient();
    const runsBefore = snapshot(defaultRunsDir, [], 'stat');
    const sandboxBefore = snapshot(box.dir);
    const h = await client.workflow.start('campaignWorkflow', { taskQueue: TaskQueues.control, workflowId: c.workflowId, args: [c.raw] });
    const err = await h.result().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    let cause: unknown = err;
    while ((cause as { cause?: unknown }).cause) cause = (cause as { cause?: unknown }).cause;
    const message = (cause as Error).message;
    expect((cause as { type?: string }).type).toBe('InvalidConfig');
    for (const s of c.says) expect(message).toContain(s);
    for (const p of c.notCreated) expect(existsSync(p), `${p} was created`).toBe(false);
    expect(snapshot(defaultRunsDir, [], 'stat')).toEqual(runsBefore);
    expect(snapshot(box.dir)).toEqual(sandboxBefore);
    await client.connection.close();
  });

  it('labellingWorkflow from plain JSON: a DFT above dft.limits is refused by the activity before pw.x starts', async () => {
    const client = await testClient();
    const runDir = box.at('run-label');
    const dft = DftSchema.parse({ pseudopotentials: { Si: 'Si.pz-vbc.UPF' }, ecutwfc: 16, kspacing: 0.0001, max_retries: 0 });
    // Structure ids are content hashes (the store keys structures by content).
    const [id] = await structureIds(si2);
    const h = await client.workflow.start('labellingWorkflow', { taskQueue: TaskQueues.control, workflowId: `ui-label-${tag}`, args: [{ runDir, dft, structureFile: si2, ids: [id!] }] });
    const r = (await h.result()) as { labelled: number; failed: number; failures: { reason: string }[] };
    expect(r.labelled).toBe(0);
    expect(r.failed).toBe(1);
    expect(r.failures[0]!.reason).toMatch(new RegExp(`^TooExpensive: structure ${id}: a 3190x3190x3190 k-point grid \\(3\\.25e\\+10 points\\) exceeds dft\\.limits\\.max_kpoints \\(20000\\)`));
    expect(r.failures[0]!.reason).toContain('nothing was started');
    // pw.x never ran: the attempt holds the written input and no pw.x output or log.
    const attempt = path.join(jobDirFor(runDir, id!, dftLabelKey(id!, dft)), 'attempt-1');
    expect(readdirSync(attempt).sort()).toEqual(expect.arrayContaining(['espresso.pwi']));
    expect(existsSync(path.join(attempt, 'pw.log'))).toBe(false);
    expect(existsSync(path.join(attempt, 'espresso.pwo'))).toBe(false);
    await client.connection.close();
  });
});

describe('bad-input catalogue: the CLI on failed and foreign workflows', () => {
  const failed = `ui-etc-${tag}`;
  const foreign = `ui-label-${tag}`;
  const cases: BadInput[] = [
    { name: 'status of a failed campaign', argv: ['status', failed], exit: 1, says: [`campaign ${failed}: failed at `, 'failed: InvalidConfig: invalid campaign (nothing was started):', 'run_directory: /etc/autopipe-ui is outside the allowed run roots'] },
    { name: 'status --json of a failed campaign', argv: ['status', failed, '--json'], exit: 1, says: [`"campaignId": "${failed}"`, '"status": "FAILED"', 'run_directory: /etc/autopipe-ui is outside'] },
    { name: 'status of a workflow that is not a campaign', argv: ['status', foreign], exit: 1, says: [`autopipe status: "${foreign}" is a labellingWorkflow workflow, not a campaign (see \`autopipe list\` for campaigns)`] },
    { name: 'status of an id that does not exist', argv: ['status', `nope-${tag}`], exit: 1, says: [`autopipe status: no campaign with id "nope-${tag}" on 127.0.0.1:`] },
    { name: 'pause of a failed campaign', argv: ['pause', failed], exit: 1, says: [`autopipe pause: campaign "${failed}" is failed, nothing to pause (\`autopipe status ${failed}\` says how it ended)`] },
    { name: 'tune of a failed campaign', argv: ['tune', failed, 'gamma_select=2'], exit: 1, says: [`autopipe tune: campaign "${failed}" is failed, nothing to tune`] },
    { name: 'watch of a workflow that is not a campaign', argv: ['watch', foreign], exit: 1, says: ['is a labellingWorkflow workflow, not a campaign'] },
  ];
  it.each(cases)('$name', async (c) => {
    useTestServerEnv(); // this pool slot's server and namespace in process.env, for the in-process CLI
    await checkBadInput(c, box);
  });
});

describe('bad-input catalogue: gamma on structures a potential cannot evaluate', () => {
  // A potential with an active set (the Cu campaign's basis, unfitted, pace_activeset over EMT data, as in
  // selection.test.ts), then structures with NaN positions and overlapping atoms: before, the command
  // printed "max gamma Infinity" and exited 0.
  let potential: string;
  beforeAll(async () => {
    const dir = box.at('gamma');
    const train = await emtDataset(dir, 'train', { count: 20, seed: 5 });
    potential = path.join(dir, 'potential.yaml');
    await py(`from pyace.basisextension import construct_bbasisconfiguration
construct_bbasisconfiguration(${JSON.stringify(potentialSection(cuTraining(), ['Cu']))}).save(${JSON.stringify(potential)})`);
    await runTool({ command: 'pace_activeset', args: ['-a', '-d', train, potential], cwd: dir, logFile: path.join(dir, 'activeset.log') });
  }, 600_000);

  it('NaN positions and overlapping atoms: exit 1, the structure named, no Infinity', async () => {
    const cell = [[3.61, 0, 0], [0, 3.61, 0], [0, 0, 3.61]];
    const ok: [string, number, number, number][] = [['Cu', 0, 0, 0], ['Cu', 0, 1.805, 1.805], ['Cu', 1.805, 0, 1.805], ['Cu', 1.805, 1.805, 0]];
    const frames = [
      extxyz(cell, ok),
      extxyz(cell, [['Cu', 0, 0, 0], ['Cu', NaN, 1.805, 1.805], ['Cu', 1.805, 0, 1.805], ['Cu', 1.805, 1.805, 0]]),
      extxyz(cell, [['Cu', 0, 0, 0], ['Cu', 0, 0, 0], ['Cu', 1.805, 0, 1.805], ['Cu', 1.805, 1.805, 0]]),
    ];
    const file = box.file('gamma/bad.extxyz', frames.join(''));
    useTestServerEnv();
    await checkBadInput(
      {
        name: 'gamma: NaN and overlapping structures',
        argv: ['gamma', file, '--potential', potential, '--results', box.at('gamma/out/bad.gamma.json')],
        mayWrite: [box.at('gamma/out')], // the per-structure results it was asked for
        exit: 1,
        says: ['autopipe gamma: 2 of 3 structures could not be evaluated (first: index 1', 'check them (NaN positions, overlapping atoms, elements the potential lacks)', /^3 structures, max gamma \d+\.\d{3}, median \d+\.\d{3}, 2 not evaluable$/m],
       
      },
      box,
    );
  });
});

export const count = ui.length + 1 + 7 + 1;
