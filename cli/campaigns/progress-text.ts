// Words and bar values for what a campaign is doing: its running child's step (from the status query) and
// each in-flight activity's heartbeat details. Pure, shared by `status`, `watch` and the demo.
import type { StepProgress } from '../../common/progress';
import type { CampaignStatus } from '../../workflows/campaign-api';
import type { LiveActivity } from './live';

export interface ProgressLine {
  /** Stable key for a bar (one per step or activity). */
  key: string;
  label: string;
  done?: number;
  total?: number;
  text: string;
}

const n = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const g3 = (v: unknown) => (n(v) === undefined ? '?' : Number(v).toPrecision(3));
const f1 = (v: unknown) => (n(v) === undefined ? '?' : Number(v).toFixed(1));

function seconds(since: string | undefined, now: number): string {
  if (!since) return '';
  const s = Math.max(0, Math.round((now - Date.parse(since)) / 1000));
  return s < 120 ? `${s} s` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** A quiet tool's latest output line (runTool's heartbeat before any progress line), as a suffix. */
const lastLine = (d: Record<string, unknown>) => (typeof d.last === 'string' && d.last ? `: ${d.last}` : '');

const LABELS: Record<string, string> = { dftLabel: 'DFT', trainMace: 'MACE train', fineTuneMace: 'MACE fine-tune', fitAce: 'ACE fit', exploreMd: 'MD' };

/** One in-flight activity: what its heartbeat says, with a count when it has one. */
export function activityLine(a: LiveActivity, now = Date.now()): ProgressLine {
  const d = a.details ?? {};
  const key = `${a.workflowId}#${a.activityId}`;
  const attempt = a.attempt > 1 ? ` attempt ${a.attempt}` : '';
  const running = `running ${seconds(a.startedAt, now)}`;
  if (a.state === 'scheduled') {
    // Not started (no free worker slot yet, or waiting to retry): say so, and why the last attempt failed.
    const failed = a.lastFailure ? `; attempt ${a.attempt - 1} failed: ${a.lastFailure.split('\n')[0]!.slice(0, 120)}` : '';
    return { key, label: LABELS[a.type] ?? a.type, text: `waiting for a worker${a.attempt > 1 ? ` (attempt ${a.attempt}${failed})` : ''}` };
  }
  switch (a.type) {
    case 'dftLabel': {
      const who = typeof d.structure === 'string' ? d.structure : '';
      const retry = a.attempt > 1 ? ` (attempt ${a.attempt}${typeof d.rung === 'string' ? `, rung ${d.rung}` : ''})` : '';
      const acc = n(d.estimated_accuracy_ry);
      const scf = n(d.scf_iteration) !== undefined ? `SCF iteration ${d.scf_iteration}, accuracy ${acc === undefined ? '?' : acc.toExponential(1)} Ry` : `setting up pw.x${typeof d.setup === 'string' ? `: ${d.setup}` : lastLine(d)}`;
      return { key, label: `DFT ${who}`.trim(), text: `${scf}${retry}, ${running}` };
    }
    case 'trainMace':
    case 'fineTuneMace': {
      const who = typeof d.member === 'string' ? d.member : 'member';
      const text = n(d.epoch) !== undefined ? `epoch ${d.epoch}${n(d.max_epochs) ? `/${d.max_epochs}` : ''}, loss ${g3(d.loss)}` : `starting mace_run_train${typeof d.setup === 'string' ? `: ${d.setup}` : lastLine(d)}`;
      return { key, label: `MACE ${a.type === 'trainMace' ? 'train' : 'fine-tune'} ${who}`, done: n(d.epoch), total: n(d.max_epochs), text: `${text}${attempt}, ${running}` };
    }
    case 'fitAce': {
      if (n(d.iteration) === undefined) return { key, label: 'ACE fit', text: `preparing pacemaker${lastLine(d)}${attempt}, ${running}` };
      const test = n(d.test_rmse_forces_mev_a) !== undefined ? `; split ${f1(d.test_rmse_energy_mev_atom)} meV/atom, ${f1(d.test_rmse_forces_mev_a)} meV/Å` : '';
      return {
        key,
        label: 'ACE fit',
        done: n(d.iteration),
        total: n(d.maxiter),
        text: `iteration ${d.iteration}${n(d.maxiter) ? `/${d.maxiter}` : ''}, loss ${g3(d.loss)}, RMSE ${f1(d.rmse_energy_mev_atom)} meV/atom, ${f1(d.rmse_forces_mev_a)} meV/Å${test}`,
      };
    }
    case 'exploreMd': {
      if (n(d.step) === undefined) return { key, label: 'MD', text: `loading the potential${lastLine(d)}${attempt}, ${running}` };
      const gamma = `max gamma ${g3(d.gamma_max)}`;
      // The lockstep engine runs every trajectory at once: step of steps, with running/halted/harvested counts.
      if (n(d.steps) !== undefined) {
        const counts = [n(d.trajectories) !== undefined ? `${d.trajectories} trajectories` : '', n(d.running) !== undefined ? `${d.running} running` : '', n(d.halted) ? `${d.halted} halted` : '', n(d.harvested) !== undefined ? `${d.harvested} harvested` : '']
          .filter(Boolean)
          .join(', ');
        return { key, label: 'MD', done: n(d.step), total: n(d.steps), text: `step ${d.step}/${d.steps}${counts ? `, ${counts}` : ''}, ${gamma}` };
      }
      // One trajectory after another: which one, and its step.
      return { key, label: 'MD', text: `trajectory ${String(d.trajectory ?? '?')} step ${d.step}, ${gamma}` };
    }
    default: {
      if (n(d.evaluated) !== undefined) return { key, label: a.type, done: n(d.evaluated), total: n(d.total), text: `${d.evaluated}/${d.total ?? '?'} structures` };
      if (n(d.done) !== undefined && n(d.total)) return { key, label: a.type, done: n(d.done), total: n(d.total), text: `${d.done}/${d.total}${typeof d.what === 'string' ? ` ${d.what}` : ''}` };
      return { key, label: a.type, text: `${running}${attempt}${lastLine(d)}` };
    }
  }
}

/** The running children's steps, innermost last (e.g. the teacher, then its DFT labelling). */
export function stepLines(progress: StepProgress[] | undefined): ProgressLine[] {
  return (progress ?? []).map((p) => ({
    key: p.workflowId,
    label: p.workflowId.split('/').slice(1).join('/') || p.workflowType,
    done: p.done,
    total: p.total,
    text: p.step,
  }));
}

export function dftBudgetLine(s: CampaignStatus): ProgressLine {
  const extra = [s.dft.running?.length ? `${s.dft.running.length} running` : '', s.dft.healed ? `${s.dft.healed} healed` : '', s.dft.failed ? `${s.dft.failed} failed` : ''].filter(Boolean);
  return { key: 'dft-budget', label: 'DFT budget', done: s.dft.used, total: s.dft.budget, text: `${s.dft.used}/${s.dft.budget} used${extra.length ? ` (${extra.join(', ')})` : ''}` };
}

/** Everything worth a line or a bar right now. */
export function progressLines(s: CampaignStatus | undefined, activities: LiveActivity[], now = Date.now()): ProgressLine[] {
  const acts = [...activities].sort((a, b) => a.workflowId.localeCompare(b.workflowId) || Number(a.activityId) - Number(b.activityId) || a.activityId.localeCompare(b.activityId));
  return [...(s ? [dftBudgetLine(s), ...stepLines(s.progress)] : []), ...acts.map((a) => activityLine(a, now))];
}
