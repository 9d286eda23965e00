// Everything the campaign report shows, gathered from the campaign's status (the workflow's own record of
// each generation) and its run directory: the DFT ledger, the store's counts per generation, the
// exploration candidates' extrapolation grades, the training manifests, and the cost of the teacher.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Campaign } from '../../common/campaign-schema';
import { runLayout } from '../../common/run-layout';
import type { CampaignStatus, GenerationMetrics } from '../../workflows/campaign-api';
import { readJsonIfExists } from '../runtime/files';
import { callPython } from '../runtime/python';
import { ReportCollect } from './contracts';
import { loggedToolSeconds, readLedger, type LedgerRow } from './ledger';

/** Validation errors of one generation's potential against DFT labels never trained on (issue 15). */
export interface ValidationPoint {
  /** meV/atom as predicted (absolute energy scale), else after the per-element offset. */
  energyRmse?: number;
  /** meV/atom after one constant per element (least squares): the figure that compares across scales. */
  energyRmseOffset?: number;
  forcesRmse?: number;
  n?: number;
}

export interface ParitySet {
  generation: number;
  energy?: { ref: number[]; pred: number[] };
  forces?: { ref: number[]; pred: number[] };
  /** Parity plots `autopipe evaluate --plot` already drew there (energy.png, forces.png), used as they are. */
  images?: { energy?: string; forces?: string };
}

export interface GenerationRow {
  generation: number;
  metrics?: GenerationMetrics;
  /** Structures first stored in this generation, by source and by the oracles that labelled them. */
  bySource: Record<string, number>;
  byOracle: Record<string, number>;
  /** DFT calculations finished before this generation's potential was fitted. */
  dftCallsBeforeFit: number;
  validation?: ValidationPoint;
  gamma: number[];
}

export interface ReportData {
  campaignId: string;
  system: string;
  runDir: string;
  generatedAt: string;
  status?: CampaignStatus;
  campaign?: Campaign;
  generations: GenerationRow[];
  ledger: (LedgerRow & { source?: string; generation?: number; link?: string })[];
  parity: ParitySet[];
  cost: {
    dftCalls: number;
    dftCoreHours: number;
    perCallCoreHours?: number;
    teacherLabels: number;
    surrogateLabels: number;
    savedCoreHours?: number;
    teacherTrainingCoreHours: number;
  };
  /** Temporal UI base for links: http://host:port/namespaces/<ns>; undefined when unknown (external service). */
  ui?: string;
  storeFound: boolean;
}

export interface CollectInput {
  runDir: string;
  status?: CampaignStatus;
  ui?: string;
}

/**
 * A generation's point on the learning curve: the campaign's own record (common/evaluation.ts
 * GenerationValidation, the potential's summary inside), or a bare evaluation summary as `autopipe
 * evaluate` writes it. On a relative energy scale the energy error is the one after the per-element offset.
 */
export function validationOf(m: GenerationMetrics | undefined): ValidationPoint | undefined {
  const recorded = (m as { validation?: unknown } | undefined)?.validation;
  if (!recorded || typeof recorded !== 'object') return undefined;
  const v = ((recorded as { potential?: unknown }).potential ?? recorded) as { energyScale?: string; overall?: Record<string, unknown> };
  const o = v.overall;
  if (!o || typeof o.forces_rmse_mev_a !== 'number') return undefined;
  const num = (x: unknown) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
  const relative = v.energyScale === 'relative';
  return {
    energyRmse: num(relative ? o.energy_rmse_mev_atom_offset : o.energy_rmse_mev_atom),
    energyRmseOffset: num(o.energy_rmse_mev_atom_offset),
    forcesRmse: num(o.forces_rmse_mev_a),
    n: num(o.n_structures),
  };
}

/**
 * Parity data of the validation set, when the campaign recorded it in runs/<id>/validation/gen-N/: the
 * numbers (parity.json: {energy: {ref, pred}, forces: {ref, pred}}), or the plots autopipe evaluate drew
 * there (energy.png, forces.png).
 */
function readParity(runDir: string): ParitySet[] {
  const dir = runLayout(runDir).validationDir;
  if (!existsSync(dir)) return [];
  const out: ParitySet[] = [];
  for (const d of readdirSync(dir)) {
    const m = d.match(/^gen-(\d+)$/);
    if (!m) continue;
    const at = (f: string) => path.join(dir, d, f);
    const p = readJsonIfExists<Omit<ParitySet, 'generation' | 'images'>>(at('parity.json'));
    const images = { energy: existsSync(at('energy.png')) ? at('energy.png') : undefined, forces: existsSync(at('forces.png')) ? at('forces.png') : undefined };
    if (p || images.energy || images.forces) out.push({ generation: Number(m[1]), energy: p?.energy, forces: p?.forces, images });
  }
  return out.sort((a, b) => a.generation - b.generation);
}

export function activityLink(ui: string | undefined, workflowId: string | undefined): string | undefined {
  if (!ui || !workflowId) return undefined;
  return `${ui}/workflows/${encodeURIComponent(workflowId)}`;
}

export async function collectReportData(input: CollectInput): Promise<ReportData> {
  const run = runLayout(input.runDir);
  const resolved = readJsonIfExists<{ campaignId?: string; campaign: Campaign }>(run.campaignResolved);
  const status = input.status ?? readJsonIfExists<CampaignStatus>(path.join(run.reportDir, 'status.json'));
  const campaign = resolved?.campaign;
  const ledger = readLedger(input.runDir, campaign?.dft);
  const metrics = status?.metrics ?? [];
  const candidates: Record<string, string> = {};
  for (const m of metrics) if (m.explored) candidates[String(m.generation)] = path.join(run.exploration(m.generation), 'candidates.extxyz');
  const collected = await callPython(
    ReportCollect,
    { store: run.store, ids: ledger.map((r) => r.structureId), candidates },
    { workDir: path.join(run.reportDir, 'work'), timeoutMs: 10 * 60_000 },
  );

  const seeds = status?.structures.bySource.teacher_seed ?? 0;
  const generations: GenerationRow[] = [];
  let calls = seeds;
  const gens = new Set<number>([...metrics.map((m) => m.generation), ...Object.keys(collected.by_generation).map(Number)]);
  for (const g of [...gens].sort((a, b) => a - b)) {
    const m = metrics.find((x) => x.generation === g);
    const counts = collected.by_generation[String(g)];
    generations.push({ generation: g, metrics: m, bySource: counts?.by_source ?? {}, byOracle: counts?.by_oracle ?? {}, dftCallsBeforeFit: calls, validation: validationOf(m), gamma: collected.gamma[String(g)] ?? [] });
    calls += m?.dft?.requested ?? 0;
  }

  const rows = ledger.map((r) => {
    const p = collected.provenance[r.structureId];
    return { ...r, source: p?.source, generation: p?.generation, link: activityLink(input.ui, r.workflowId) };
  });
  const dftCoreHours = rows.reduce((s, r) => s + r.coreHours, 0);
  const finished = rows.filter((r) => r.status !== 'running');
  const perCall = finished.length ? finished.reduce((s, r) => s + r.coreHours, 0) / finished.length : undefined;
  const surrogateLabels = metrics.reduce((s, m) => s + (m.teacher?.surrogates ?? 0), 0);
  // Teacher labels are counted under the teacher's kind (mace, chgnet, sevennet); every oracle but DFT is the teacher.
  const byOracle = Object.entries(status?.structures.byOracle ?? {}).filter(([oracle]) => oracle !== 'dft');
  const teacherLabels = Math.max(0, byOracle.reduce((sum, [, n]) => sum + n, 0) - surrogateLabels);
  const teacherTrainingCoreHours = loggedToolSeconds([run.teacherDir, path.join(input.runDir, 'mace')], /^member-.*\.log$/) / 3600;
  return {
    campaignId: status?.campaignId ?? resolved?.campaignId ?? path.basename(input.runDir),
    system: status?.system ?? campaign?.system.name ?? '?',
    runDir: input.runDir,
    generatedAt: new Date().toISOString(),
    status,
    campaign,
    generations,
    ledger: rows,
    parity: readParity(input.runDir),
    cost: {
      dftCalls: rows.length,
      dftCoreHours,
      perCallCoreHours: perCall,
      teacherLabels,
      surrogateLabels,
      savedCoreHours: perCall === undefined ? undefined : (teacherLabels + surrogateLabels) * perCall,
      teacherTrainingCoreHours,
    },
    ui: input.ui,
    storeFound: collected.store,
  };
}
