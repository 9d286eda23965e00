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
        (m.dft ? `; DFT ${m.dft.labelled}/${m.dft.requested}` : ''),
    ),
    s.potential ? `  potential (gen ${s.potential.generation}): ${s.potential.yace}` : '',
    s.stopReason ? `  stopped: ${s.stopReason}` : '',
    `  run directory: ${s.runDir}`,
  ];
  return lines.filter(Boolean).join('\n');
}

/** `status ID`: the status plus every activity running now, or what the run directory recorded. */
export function formatView(v: CampaignView, now = Date.now()): string {
  if (!v.status) return `campaign ${v.id}: workflow ${v.workflowStatus.toLowerCase()}${v.workflowStatus === 'NOT_FOUND' ? ' (see `autopipe list`)' : ', and no recorded status in its run directory'}`;
  const head = v.statusSource === 'run-directory' ? [`(workflow ${v.workflowStatus.toLowerCase()}; status as recorded in the run directory)`] : [];
  const acts = v.activities.map((a) => `    ${formatLine(activityLine(a, now))}`);
  return [...head, formatStatus(v.status), ...(acts.length ? ['  running activities:', ...acts] : [])].join('\n');
}
