// Plain-text views of a campaign for `status`, `list` and the demo's final summary.
import type { CampaignStatus } from '../../workflows/campaign-api';
import type { CampaignView } from './live';
import { activityLine, stepLines, type ProgressLine } from './progress-text';

const counts = (o: Record<string, number>) =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ') || 'none';

export function formatLine(l: ProgressLine): string {
  const of = l.done !== undefined && l.total ? ` [${l.done}/${l.total}]` : '';
  return `${l.label}${of}: ${l.text}`;
}

export function formatStatus(s: CampaignStatus): string {
  const running = s.dft.running?.length ? `; running now: ${s.dft.running.join(', ')}` : '';
  const lines = [
    `campaign ${s.campaignId} (${s.system})  phase ${s.phase}  generation ${s.generation}${s.paused ? '  PAUSED' : ''}${s.stopAfterGeneration ? '  stopping after this generation' : ''}`,
    s.current ? `  now: ${s.current}` : '',
    ...stepLines(s.progress).map((l) => `    ${formatLine(l)}`),
    `  DFT: ${s.dft.used}/${s.dft.budget} used (${s.dft.labelled} labelled, ${s.dft.healed} healed, ${s.dft.failed} failed${running})`,
    `  structures by source: ${counts(s.structures.bySource)}; by oracle: ${counts(s.structures.byOracle)}`,
    `  teacher: ${s.teacher.models} model(s), uncertainty from ${s.teacher.uncertainty === 'committee' ? 'the committee' : 'the ACE extrapolation grade (single model: no committee)'}`,
    ...s.metrics.map(
      (m) =>
        `  gen ${m.generation}: split RMSE ${m.test_rmse_energy_mev_atom?.toFixed(2) ?? 'n/a'} meV/atom, ${m.test_rmse_forces_mev_a?.toFixed(1) ?? 'n/a'} meV/Å` +
        (m.explored ? `; MD: ${m.explored.candidates} candidates, ${m.explored.halted} halted, max gamma ${m.explored.gamma_max.toFixed(2)}` : '') +
        (m.dft ? `; DFT ${m.dft.labelled}/${m.dft.requested}` : '') +
        (m.validation ? `; validation (${m.validation.structures}): ${m.validation.potential.overall.forces_rmse_mev_a.toFixed(1)} meV/Å, ${m.validation.potential.overall.energy_rmse_mev_atom_offset.toFixed(2)} meV/atom` : ''),
    ),
    ...validationLines(s),
    s.potential ? `  potential (gen ${s.potential.generation}): ${s.potential.yace}` : '',
    s.stopReason ? `  stopped: ${s.stopReason}` : '',
    `  run directory: ${s.runDir}`,
  ];
  return lines.filter(Boolean).join('\n');
}

/** The validation set, the teacher's gate and the learning curve (every generation on the current set). */
function validationLines(s: CampaignStatus): string[] {
  const v = s.validation;
  if (!v) return [];
  const groups = Object.entries(v.byGroup).map(([k, n]) => `${n} ${k}`).join(', ');
  const out = [
    `  validation set: ${v.labelled} DFT labels never trained on (${groups || 'none yet'}; ${v.requested} DFT calls, ${v.failed} failed)`,
    `  teacher: ${v.teacher.open ? 'its labels train' : 'stepped aside'}${v.teacher.decidedAt !== undefined ? ` (generation ${v.teacher.decidedAt})` : ''}: ${v.teacher.reason}`,
  ];
  const withTeacher = s.metrics.filter((m) => m.validation?.teacher);
  if (v.curve?.points.length) {
    out.push(`  learning curve on the ${v.curve.structures} validation structures (forces meV/Å, energy meV/atom after the offset):`);
    out.push('    gen  DFT calls  DFT trained  F RMSE  E RMSE  teacher F');
    for (const p of v.curve.points) {
      const t = withTeacher.find((m) => m.generation === p.generation)?.validation?.teacher?.overall.forces_rmse_mev_a;
      out.push(`    ${String(p.generation).padStart(3)}  ${String(p.dft_calls).padStart(9)}  ${String(p.dft_trained).padStart(11)}  ${p.overall.forces_rmse_mev_a.toFixed(1).padStart(6)}  ${p.overall.energy_rmse_mev_atom_offset.toFixed(2).padStart(6)}  ${t === undefined ? '-' : t.toFixed(1).padStart(9)}`);
    }
  }
  return out;
}

/** `status ID`: the status plus every activity running now, or what the run directory recorded. */
export function formatView(v: CampaignView, now = Date.now()): string {
  if (!v.status) return `campaign ${v.id}: workflow ${v.workflowStatus.toLowerCase()}${v.workflowStatus === 'NOT_FOUND' ? ' (see `autopipe list`)' : ', and no recorded status in its run directory'}`;
  const head = v.statusSource === 'run-directory' ? [`(workflow ${v.workflowStatus.toLowerCase()}; status as recorded in the run directory)`] : [];
  const acts = v.activities.map((a) => `    ${formatLine(activityLine(a, now))}`);
  return [...head, formatStatus(v.status), ...(acts.length ? ['  running activities:', ...acts] : [])].join('\n');
}
