// The report from a run directory alone (no server, no campaign run): validation parity from the numbers
// a campaign records, or from the plots `autopipe evaluate` drew; a failed DFT calculation in the ledger
// with every attempt and its rung; no store said plainly. Real matplotlib, real files.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildCampaignReport } from '../activities/report/report';
import { CampaignSchema } from '../common/campaign-schema';
import { runLayout } from '../common/run-layout';
import type { CampaignStatus } from '../workflows/campaign-api';

// a 2x2 PNG, enough to be an image
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAEklEQVR4nGP4z8DwHwyBNAMDAE8UBfuB/zlAAAAAAElFTkSuQmCC', 'base64');

function status(runDir: string): CampaignStatus {
  return {
    campaignId: 'report-test',
    system: 'Si',
    runDir,
    phase: 'finished',
    generation: 2,
    paused: false,
    stopAfterGeneration: false,
    stopReason: 'generation limit reached (2)',
    structures: { bySource: { teacher_seed: 2 }, byOracle: { dft: 1 } },
    candidates: { generated: 8, keptByTeacher: 6, discarded: 1, rejected: 0, waitingForDft: 1, mdHarvested: 3, mdKeptByTeacher: 0, pickedForDft: 2, notSelected: 1 },
    decisions: [{ generation: 0, decisions: ['distillation: 8 candidates; teacher kept 6'] }, { generation: 1, decisions: ['DFT: 1 of 2 labelled (0 healed, 1 failed)'] }],
    dft: { used: 2, budget: 10, labelled: 1, healed: 0, failed: 1 },
    thresholds: { accept: 0.1, dft: 0.5, gammaSelect: 1.5, gammaHalt: 5 },
    teacher: { models: 2, uncertainty: 'committee' },
    metrics: [0, 1].map((g) => ({ generation: g, potential: `${runDir}/potentials/gen-${g}/potential.yace`, train_rmse_energy_mev_atom: 3, train_rmse_forces_mev_a: 50, test_rmse_energy_mev_atom: 4, test_rmse_forces_mev_a: 60, iterations: 20 })),
  };
}

function runDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-report-'));
  const run = runLayout(dir);
  const campaign = CampaignSchema.parse({ system: { name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: 5.43 } }, dft: { pseudopotentials: { Si: 'Si.pz-vbc.UPF' } } });
  writeFileSync(run.campaignResolved, JSON.stringify({ campaignId: 'report-test', campaign }));
  // one labelled calculation, one that failed after two attempts (the default settings, then a remedy),
  // each job's attempts under dft/<id>/<job key>/attempt-N with the remedy it ran (activities/dft/attempts.ts)
  const attempt = (dir: string, n: number, remedy: string, log: string) => {
    const a = path.join(dir, 'k', `attempt-${n}`);
    mkdirSync(a, { recursive: true });
    writeFileSync(path.join(a, 'attempt.json'), JSON.stringify({ n, temporal_attempt: n, remedy }));
    writeFileSync(path.join(a, 'pw.log'), log);
  };
  const ok = run.dftDir('a'.repeat(20));
  attempt(ok, 1, 'default', '$ pw.x -in espresso.pwi\n# exit 0 after 7200 ms\n');
  const forces = Array.from({ length: 8 }, () => [0, 0, 0]);
  writeFileSync(path.join(ok, 'label-k.json'), JSON.stringify({ energy: -860, forces, provenance: { attempt: 1, rung: 'default', healed: false, wall_seconds: 7, scf_iterations: 9, workflow_id: 'report-test/gen-0/teacher/dft', activity_id: '1', finished_at: '2026-01-01T00:00:00Z', parameters: { ranks: 2 } } }));
  const bad = run.dftDir('b'.repeat(20));
  attempt(bad, 1, 'default', '# exit 3 after 5000 ms\n');
  attempt(bad, 2, 'beta-0.3-local-TF', '# exit 3 after 10000 ms\n');
  writeFileSync(path.join(bad, 'failed-k.json'), JSON.stringify({ structureId: 'b'.repeat(20), reason: 'ScfNotConverged: <after 2 rungs>', attempts: 2, at: '2026-01-01T00:01:00Z' }));
  return dir;
}

const section = (html: string, id: string) => html.match(new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`))![1]!;

describe('the campaign report from a run directory', () => {
  it('draws parity plots from recorded validation numbers; the ledger has every attempt and its rung', async () => {
    const dir = runDir();
    const v = runLayout(dir).validation(1);
    mkdirSync(v, { recursive: true });
    writeFileSync(path.join(v, 'parity.json'), JSON.stringify({ energy: { ref: [-5.4, -5.3, -5.2], pred: [-5.41, -5.28, -5.22] }, forces: { ref: [0.1, -0.3, 0.5, 1.2], pred: [0.12, -0.25, 0.55, 1.1] } }));
    const r = await buildCampaignReport({ runDir: dir, status: status(dir) });
    expect(r.figures).toEqual(expect.arrayContaining(['learning-forces', 'learning-energy', 'parity-energy', 'parity-forces']));
    const html = readFileSync(r.file, 'utf8');
    expect(section(html, 'parity').match(/<img src="data:image\/png;base64,/g)).toHaveLength(2);
    const ledger = section(html, 'ledger');
    expect(ledger).toMatch(/1: default \(7\.2 s\)/);
    expect(ledger).toMatch(/1: default \(5\.0 s\) exit 3<br>2: beta-0\.3-local-TF \(10\.0 s\) exit 3/);
    expect(ledger).toContain('ScfNotConverged: &lt;after 2 rungs&gt;');
    // core-hours: 7.2 s x 2 ranks + 15 s x 1 rank
    expect(r.cost.dftCoreHours).toBeCloseTo((7.2 * 2 + 15) / 3600, 6);
    expect(r.warnings).toEqual([]);
    expect(section(html, 'generations')).toContain('The run store was not found');
  });

  it('uses the parity plots autopipe evaluate drew when there are no numbers', async () => {
    const dir = runDir();
    const v = runLayout(dir).validation(1);
    mkdirSync(v, { recursive: true });
    writeFileSync(path.join(v, 'energy.png'), PNG);
    writeFileSync(path.join(v, 'forces.png'), PNG);
    const r = await buildCampaignReport({ runDir: dir, status: status(dir) });
    const parity = section(readFileSync(r.file, 'utf8'), 'parity');
    expect(parity).toContain(`src="data:image/png;base64,${PNG.toString('base64')}"`);
    expect(parity).toContain('generation 1');
  });
});
