// `autopipe history STRUCTURE_ID`: one structure's whole story from its campaign's store and run directory:
// how it was made (source, generation, parent chain), every label and oracle, its DFT attempts and rungs,
// the fits and committees that trained on it, and links to the activities in the Temporal UI.
import type { Client } from '@temporalio/client';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import { runLayout } from '../../common/run-layout';
import { defaultRunsDir } from '../../host/paths';
import { readJsonIfExists } from '../../activities/runtime/files';
import { callPython } from '../../activities/runtime/python';
import { ReportHistory, type StructureRecord } from '../../activities/report/contracts';
import { readLedger, type LedgerRow } from '../../activities/report/ledger';
import { scheduledActivities, workflowLink } from '../../activities/report/temporal-links';
import type { Campaign } from '../../common/campaign-schema';

export interface TrainingUse {
  what: 'ace-fit' | 'teacher';
  generation: number;
  how: string;
}

export interface StructureHistory {
  runDir: string;
  campaignId: string;
  store: string;
  alsoIn: string[];
  structure: z.infer<typeof StructureRecord>;
  ancestors: z.infer<typeof ReportHistory.result>['ancestors'];
  dft?: LedgerRow;
  trainedBy: TrainingUse[];
  links: { made?: string; dft?: string; labels: Record<string, string> };
}

/** Stores to search: the given campaign's, else every run under runs/, newest first. */
export function candidateStores(runDir?: string, runsDir = defaultRunsDir): string[] {
  if (runDir) return [runLayout(runDir).store];
  if (!existsSync(runsDir)) return [];
  return readdirSync(runsDir)
    .map((d) => runLayout(path.join(runsDir, d)).store)
    .filter((f) => existsSync(f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
}

/** Which ACE fits (training manifests) and which committees (the store's teacher sets) trained on the structure. */
export function trainingUses(runDir: string, s: Pick<z.infer<typeof StructureRecord>, 'structure_id' | 'sets'>): TrainingUse[] {
  const run = runLayout(runDir);
  const id = s.structure_id;
  const out: TrainingUse[] = [];
  if (existsSync(run.datasetsDir)) {
    for (const f of readdirSync(run.datasetsDir).sort()) {
      const m = f.match(/^gen-(\d+)-training\.manifest\.json$/);
      const man = m && readJsonIfExists<{ new?: string[]; replayed?: string[] }>(path.join(run.datasetsDir, f));
      if (!m || !man) continue;
      if (man.new?.includes(id)) out.push({ what: 'ace-fit', generation: Number(m[1]), how: 'new data' });
      else if (man.replayed?.includes(id)) out.push({ what: 'ace-fit', generation: Number(m[1]), how: 'replayed from the history' });
    }
  }
  for (const m of s.sets) {
    if (m.set_name === 'teacher-bootstrap') out.push({ what: 'teacher', generation: m.generation, how: 'bootstrap committee (seed DFT label)' });
    else if (/^teacher-gen-\d+-finetune$/.test(m.set_name)) {
      out.push({ what: 'teacher', generation: m.generation, how: m.config_type === 'dft_replay' ? 'committee fine-tune (replayed DFT label)' : 'committee fine-tune on the new DFT labels' });
    }
  }
  return out.sort((a, b) => a.generation - b.generation || a.what.localeCompare(b.what));
}

export interface HistoryOptions {
  runDir?: string;
  runsDir?: string;
  client?: Client;
  ui?: string;
}

export async function structureHistory(structureId: string, opts: HistoryOptions = {}): Promise<StructureHistory> {
  const stores = candidateStores(opts.runDir, opts.runsDir);
  if (!stores.length) throw new Error(opts.runDir ? `no store in ${opts.runDir}` : `no campaign stores under ${opts.runsDir ?? defaultRunsDir}: give --campaign ID or --run DIR`);
  const work = path.join(path.dirname(stores[0]!), 'report', 'work');
  const r = await callPython(ReportHistory, { stores, structure_id: structureId }, { workDir: work });
  const runDir = path.dirname(r.store);
  const resolved = readJsonIfExists<{ campaignId?: string; campaign: Campaign }>(runLayout(runDir).campaignResolved);
  const s = r.structure;
  const dft = readLedger(runDir, resolved?.campaign.dft).find((x) => x.structureId === s.structure_id);
  const links: StructureHistory['links'] = { labels: {} };
  if (opts.ui) {
    if (s.workflow_id) links.made = workflowLink(opts.ui, s.workflow_id);
    if (dft?.workflowId) links.dft = workflowLink(opts.ui, dft.workflowId);
    for (const l of s.labels) {
      const wid = (l.provenance.workflow_id as string | undefined) ?? l.workflow_id ?? undefined;
      if (wid) links.labels[`${l.oracle}/${l.settings_hash}`] = workflowLink(opts.ui, wid);
    }
    // The exact DFT activity: the labelling workflow's event with the summary "DFT <id>".
    if (opts.client && dft?.workflowId) {
      const ev = await scheduledActivities(opts.client, opts.ui, dft.workflowId).catch(() => []);
      const hit = ev.find((e) => e.summary === `DFT ${s.structure_id}`);
      const label = s.labels.find((l) => l.oracle === 'dft');
      if (hit) links.dft = hit.link;
      if (hit && label) links.labels[`dft/${label.settings_hash}`] = hit.link;
    }
  }
  return {
    runDir,
    campaignId: resolved?.campaignId ?? path.basename(runDir),
    store: r.store,
    alsoIn: r.also_in,
    structure: s,
    ancestors: r.ancestors,
    dft,
    trainedBy: trainingUses(runDir, s),
    links,
  };
}

const num = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '–' : v.toFixed(d));

export function formatHistory(h: StructureHistory): string {
  const s = h.structure;
  const out = [
    `structure ${s.structure_id} (${s.formula}, ${s.natoms} atoms) in campaign ${h.campaignId}`,
    `  store: ${h.store}${h.alsoIn.length ? ` (also in ${h.alsoIn.join(', ')})` : ''}`,
    `  made: generation ${s.generation}, source ${s.source}${s.config_type ? `, ${s.config_type}` : ''}${s.split ? `, split ${s.split}` : ''}, stored ${s.created_at}${h.links.made ? `\n        ${h.links.made}` : ''}`,
  ];
  for (const a of h.ancestors) out.push('missing' in a ? `  derived from ${a.structure_id} (not in the store)` : `  derived from ${a.structure_id}: generation ${a.generation}, source ${a.source}${a.config_type ? `, ${a.config_type}` : ''}`);
  out.push(`  labels (${s.labels.length}):`);
  for (const l of s.labels) {
    const p = l.provenance as { attempt?: number; rung?: string; wall_seconds?: number; scf_iterations?: number; qe_version?: string };
    const extra =
      l.oracle === 'dft'
        ? `; attempt ${p.attempt ?? '?'} rung ${p.rung ?? '?'}, pw.x ${num(p.wall_seconds, 1)} s, ${p.scf_iterations ?? '?'} SCF iterations${p.qe_version ? `, QE ${p.qe_version}` : ''}`
        : `${l.uncertainty !== null ? `; force std ${num(l.uncertainty)} eV/Å` : ''}${l.extrapolation_grade !== null ? `; gamma ${num(l.extrapolation_grade, 2)}` : ''}`;
    const link = h.links.labels[`${l.oracle}/${l.settings_hash}`];
    out.push(
      `    ${l.oracle.padEnd(6)} settings ${l.settings_hash.slice(0, 12)}: ${l.flag ? `FLAGGED ${l.flag}` : `${num(l.energy_per_atom, 4)} eV/atom, max |F| ${num(l.max_force)} eV/Å`}${extra}, ${l.created_at}${link ? `\n           ${link}` : ''}`,
    );
  }
  if (h.dft) {
    const d = h.dft;
    out.push(`  DFT: ${d.status}${d.healed ? ' (healed)' : ''}, ${d.attempts.length} attempt(s), ${num(d.wallSeconds, 1)} s wall, ${num(d.coreHours, 4)} core-hours${d.reason ? `; ${d.reason.split('\n')[0]}` : ''}`);
    for (const a of d.attempts) out.push(`    attempt ${a.attempt}: rung ${a.rung}${a.wallSeconds !== undefined ? `, ${num(a.wallSeconds, 1)} s` : ''}${a.exit !== undefined ? `, exit ${a.exit}` : ', no exit recorded'}`);
    if (h.links.dft) out.push(`    ${h.links.dft}`);
  } else out.push('  DFT: never sent to DFT');
  out.push(h.trainedBy.length ? `  trained on by:\n${h.trainedBy.map((t) => `    ${t.what === 'ace-fit' ? `ACE fit of generation ${t.generation}` : `teacher committee of generation ${t.generation}`}: ${t.how}`).join('\n')}` : '  trained on by: nothing yet');
  if (s.children.length) out.push(`  derived structures (${s.children.length}): ${s.children.map((c) => `${c.structure_id} (${c.source}, gen ${c.generation})`).join(', ')}`);
  return out.join('\n');
}
