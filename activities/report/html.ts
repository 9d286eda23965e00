// The campaign report as one self-contained HTML file: inline CSS, figures as data: URIs, no script, links
// only to the Temporal UI. Pure (data in, string out), so it is unit-tested without tools.
import type { LedgerRow } from './ledger';
import type { GenerationRow, ReportData } from './data';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (s: unknown) => String(s ?? '').replace(/[&<>"']/g, (c) => ESC[c]!);

const fmt = (v: number | undefined | null, digits = 1) => (v === undefined || v === null || !Number.isFinite(v) ? '–' : v.toFixed(digits));
const counts = (o: Record<string, number>) =>
  Object.keys(o).length
    ? Object.entries(o)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, n]) => `${esc(k)} ${n}`)
        .join('<br>')
    : '–';
const link = (href: string | undefined, text: string) => (href ? `<a href="${esc(href)}">${esc(text)}</a>` : esc(text));
const img = (figures: Record<string, string>, name: string, alt: string) => (figures[name] ? `<img src="${figures[name]}" alt="${esc(alt)}">` : '');

function duration(s: number): string {
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(2)} h`;
}

function summary(d: ReportData): string {
  const s = d.status;
  const rows: [string, string][] = [
    ['campaign', link(d.ui && `${d.ui}/workflows/${encodeURIComponent(d.campaignId)}`, d.campaignId)],
    ['system', esc(d.system)],
    ['state', s ? esc(s.stopReason ? `finished: ${s.stopReason}` : `${s.phase}, generation ${s.generation}${s.current ? ` (${s.current})` : ''}`) : 'no status recorded'],
    ['DFT calculations', s ? `${s.dft.used} of ${s.dft.budget} (${s.dft.labelled} labelled, ${s.dft.healed} healed, ${s.dft.failed} failed)` : `${d.ledger.length}`],
    ['potential', s?.potential ? `generation ${s.potential.generation}: <code>${esc(s.potential.yace)}</code>` : 'none yet'],
    ['teacher', s ? `${s.teacher.models} model(s), uncertainty from ${s.teacher.uncertainty === 'committee' ? 'the committee' : 'the ACE extrapolation grade'}` : '–'],
    ['run directory', `<code>${esc(d.runDir)}</code>`],
    ['report written', esc(d.generatedAt)],
  ];
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>`;
}

function learning(d: ReportData, figures: Record<string, string>): string {
  const hasValidation = d.generations.some((g) => g.validation);
  const note = hasValidation
    ? '<p>Error of each generation\'s potential on the campaign\'s DFT validation set (structures never trained on), against the DFT calculations spent before its fit.</p>'
    : '<p class="warn">This campaign recorded no validation metrics: there is no error against DFT labels held out of training. The curves below are the fit\'s own held-out split (mostly teacher labels) and the teacher against the DFT labels it trained on; neither measures the potential against unseen DFT.</p>';
  const table = `<table><tr><th>generation</th><th>DFT calls before the fit</th><th>validation structures</th><th>validation energy RMSE (meV/atom)</th><th>after per-element offset (meV/atom)</th><th>validation force RMSE (meV/Å)</th><th>split energy RMSE (meV/atom)</th><th>split force RMSE (meV/Å)</th></tr>${d.generations
    .filter((g) => g.metrics)
    .map(
      (g) =>
        `<tr><td>${g.generation}</td><td>${g.dftCallsBeforeFit}</td><td>${g.validation?.n ?? '–'}</td><td>${fmt(g.validation?.energyRmse, 2)}</td><td>${fmt(g.validation?.energyRmseOffset, 2)}</td><td>${fmt(g.validation?.forcesRmse)}</td><td>${fmt(g.metrics?.test_rmse_energy_mev_atom, 2)}</td><td>${fmt(g.metrics?.test_rmse_forces_mev_a)}</td></tr>`,
    )
    .join('')}</table>`;
  const figs = ['learning-forces', 'learning-energy'].map((n) => img(figures, n, n.replace('-', ' '))).join('');
  return `${note}<div class="figs">${figs}</div>${d.generations.some((g) => g.metrics) ? table : '<p>No potential has been fitted yet.</p>'}`;
}

function parity(d: ReportData, figures: Record<string, string>): string {
  const figs = ['parity-energy', 'parity-forces'].map((n) => img(figures, n, n.replace('-', ' '))).join('');
  if (!figs) return '<p class="warn">No parity data: this campaign recorded no predictions on a DFT validation set.</p>';
  const withData = d.parity.filter((p) => p.energy || p.forces).map((p) => p.generation);
  const gens = withData.length ? (withData.length > 1 ? [withData[0]!, withData[withData.length - 1]!] : withData) : d.parity.filter((p) => p.images?.energy || p.images?.forces).map((p) => p.generation).slice(-1);
  return `<p>Predicted against DFT on the validation set, generation${gens.length > 1 ? `s ${gens.join(' and ')}` : ` ${gens[0] ?? '?'}`}.</p><div class="figs">${figs}</div>`;
}

function generationRow(g: GenerationRow): string {
  const m = g.metrics;
  const fit = m ? `train ${fmt(m.train_rmse_energy_mev_atom, 2)} / ${fmt(m.train_rmse_forces_mev_a)}<br>split ${fmt(m.test_rmse_energy_mev_atom, 2)} / ${fmt(m.test_rmse_forces_mev_a)}<br>${m.iterations} iterations${m.functions_per_element ? `, ${m.functions_per_element} functions` : ''}` : '–';
  const ex = m?.explored ? `${m.explored.candidates} candidates, ${m.explored.above_select} above select<br>${m.explored.halted} halted, max gamma ${fmt(m.explored.gamma_max, 2)}` : '–';
  const dft = m?.dft ? `${m.dft.requested} picked, ${m.dft.labelled} labelled<br>${m.dft.healed} healed, ${m.dft.failed} failed` : '–';
  const t = m?.teacher;
  const teacher = t
    ? `${t.adopted ? 'fine-tune adopted' : 'fine-tune not adopted (the old committee stays)'}<br>on ${t.dftLabels} DFT: ${fmt(t.before?.rmse_energy_mev_atom)} → ${fmt(t.after?.rmse_energy_mev_atom)} meV/atom, ${fmt(t.before?.rmse_forces_mev_a)} → ${fmt(t.after?.rmse_forces_mev_a)} meV/Å${t.trainedOn ? `<br>trained on ${t.trainedOn.new} new + ${t.trainedOn.replayed} replayed` : ''}<br>${t.surrogates} surrogates${t.note ? `<br><small>${esc(t.note)}</small>` : ''}`
    : '–';
  return `<tr><td>${g.generation}</td><td>${counts(g.bySource)}</td><td>${counts(g.byOracle)}</td><td>${dft}</td><td>${fit}</td><td>${ex}</td><td>${teacher}</td></tr>`;
}

function generations(d: ReportData): string {
  if (!d.generations.length) return '<p>No generation has produced data yet.</p>';
  const store = d.storeFound ? '' : '<p class="warn">The run store was not found: structure counts are missing.</p>';
  return `${store}<p>One row per generation: the structures first stored in it (by source, and by the oracles that labelled them), its DFT picks, the fit of its potential (energy meV/atom / forces meV/Å), the exploration with that potential, and the teacher's fine-tune scored on every DFT label so far.</p>
<table><tr><th>gen</th><th>structures by source</th><th>labelled by oracle</th><th>DFT picks</th><th>fit RMSE</th><th>exploration</th><th>teacher</th></tr>${d.generations.map(generationRow).join('')}</table>${decisions(d)}`;
}

/** The campaign's own account: where every candidate went, and each generation's decisions in order. */
function decisions(d: ReportData): string {
  const c = d.status?.candidates;
  const acc = c
    ? `<p>Candidates: ${c.generated} generated (${c.keptByTeacher} kept by the teacher, ${c.discarded} discarded, ${c.rejected} rejected); ${c.mdHarvested} from MD (${c.mdKeptByTeacher} kept by the teacher); ${c.pickedForDft} picked for DFT, ${c.notSelected} MD candidates not picked, ${c.waitingForDft} teacher-doubted still waiting for DFT.</p>`
    : '';
  const list = (d.status?.decisions ?? []).map((g) => `<li>generation ${g.generation}<ul>${g.decisions.map((x) => `<li>${esc(x)}</li>`).join('')}</ul></li>`).join('');
  return `${acc}${list ? `<h3>Decisions</h3><ul class="decisions">${list}</ul>` : ''}`;
}

function exploration(d: ReportData, figures: Record<string, string>): string {
  const ex = d.generations.filter((g) => g.metrics?.explored);
  if (!ex.length) return '<p>No exploration has run yet.</p>';
  return `<p>The largest extrapolation grade of each frame MD harvested (frames at or above gamma_select, and the halting frame of each halted trajectory).</p><div class="figs">${ex
    .map((g) => `<figure>${img(figures, `gamma-gen-${g.generation}`, `gamma histogram generation ${g.generation}`)}<figcaption>generation ${g.generation}: ${g.gamma.length} frames, ${g.metrics!.explored!.halted} halted trajectories, max gamma ${fmt(g.metrics!.explored!.gamma_max, 2)}</figcaption></figure>`)
    .join('')}</div>`;
}

function attempts(r: LedgerRow): string {
  return r.attempts.length ? r.attempts.map((a) => `${a.attempt}: ${esc(a.rung)}${a.wallSeconds !== undefined ? ` (${duration(a.wallSeconds)})` : ''}${a.exit && a.exit !== '0' ? ` exit ${esc(a.exit)}` : ''}`).join('<br>') : '–';
}

function ledger(d: ReportData): string {
  if (!d.ledger.length) return '<p>No DFT calculation has started yet.</p>';
  const rows = d.ledger
    .slice()
    .sort((a, b) => (a.finishedAt ?? '~').localeCompare(b.finishedAt ?? '~'))
    .map(
      (r) =>
        `<tr class="${r.status}"><td><code>${esc(r.structureId)}</code></td><td>${esc(r.source ?? '?')}</td><td>${r.generation ?? '–'}</td><td>${r.status}${r.healed ? ' (healed)' : ''}${r.reason ? `<br><small>${esc(r.reason.slice(0, 160))}</small>` : ''}</td><td>${attempts(r)}</td><td>${duration(r.wallSeconds)}</td><td>${fmt(r.coreHours, 4)}</td><td>${link(r.link, r.workflowId ? `${r.workflowId.startsWith(`${d.campaignId}/`) ? r.workflowId.slice(d.campaignId.length + 1) : r.workflowId}${r.activityId ? ` #${r.activityId}` : ''}` : '–')}</td></tr>`,
    )
    .join('');
  return `<p>One row per DFT calculation (pw.x), every attempt with its rung of the self-healing ladder. Core-hours = wall time × MPI ranks.</p>
<table><tr><th>structure</th><th>source</th><th>gen</th><th>status</th><th>attempts (rung, wall)</th><th>wall</th><th>core-hours</th><th>Temporal UI</th></tr>${rows}</table>`;
}

function cost(d: ReportData): string {
  const c = d.cost;
  const per = c.perCallCoreHours;
  const rows: [string, string][] = [
    ['DFT calculations', `${c.dftCalls}`],
    ['DFT core-hours spent', fmt(c.dftCoreHours, 3)],
    ['measured core-hours per DFT call', per === undefined ? '–' : `${fmt(per, 4)} (${duration(per * 3600)} of one core)`],
    ['teacher labels trained on', `${c.teacherLabels}`],
    ['surrogate labels trained on', `${c.surrogateLabels}`],
    ['estimated core-hours saved by teacher and surrogate labels', c.savedCoreHours === undefined ? '–' : fmt(c.savedCoreHours, 3)],
    ['teacher training and fine-tuning core-hours (MACE, from the tools\' logs)', fmt(c.teacherTrainingCoreHours, 3)],
  ];
  return `<table class="kv">${rows.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>
<p><small>Saved = labels the teacher supplied instead of DFT × the measured mean cost of this campaign's DFT calls; teacher and surrogate cells may differ in size from the DFT cells, so this is an estimate. The teacher's own training cost is listed beside it, not subtracted.</small></p>`;
}

const CSS = `body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .5em;vertical-align:top;text-align:left}
th{background:#f4f4f4}table.kv th{width:22em}.figs{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}
img{max-width:100%;border:1px solid #eee}.warn{background:#fff6e0;border-left:4px solid #e0a800;padding:.4em .8em}
tr.failed td{background:#fde8e8}tr.running td{background:#eef5ff}code{font-size:.9em}nav a{margin-right:1em}`;

export const SECTIONS = [
  ['summary', 'Summary'],
  ['learning-curve', 'Learning curve'],
  ['parity', 'Parity on the validation set'],
  ['generations', 'Generations'],
  ['exploration', 'Exploration'],
  ['ledger', 'DFT ledger'],
  ['cost', 'Cost'],
] as const;

export function renderReport(d: ReportData, figures: Record<string, string>): string {
  const body: Record<(typeof SECTIONS)[number][0], string> = {
    summary: summary(d),
    'learning-curve': learning(d, figures),
    parity: parity(d, figures),
    generations: generations(d),
    exploration: exploration(d, figures),
    ledger: ledger(d),
    cost: cost(d),
  };
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Campaign ${esc(d.campaignId)}</title><meta name="viewport" content="width=device-width, initial-scale=1"><style>${CSS}</style></head>
<body><h1>Campaign ${esc(d.campaignId)} (${esc(d.system)})</h1>
<nav>${SECTIONS.map(([id, title]) => `<a href="#${id}">${title}</a>`).join('')}</nav>
${SECTIONS.map(([id, title]) => `<section id="${id}"><h2>${title}</h2>\n${body[id]}\n</section>`).join('\n')}
</body></html>
`;
}
