// Which figures the report draws, as plain numbers for the report-plots helper (matplotlib). Pure.
import type { ReportData } from './data';

export interface FigureSpec {
  name: string;
  kind: 'lines' | 'parity' | 'histogram';
  title: string;
  [key: string]: unknown;
}

const num = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v);

/** Error against DFT calls: validation (never trained on) first; the fit's own split and the teacher for context. */
function learning(d: ReportData, what: 'energy' | 'forces'): FigureSpec | undefined {
  const g = d.generations.filter((r) => r.metrics);
  const x = g.map((r) => r.dftCallsBeforeFit);
  const unit = what === 'energy' ? 'meV/atom' : 'meV/Å';
  const series = [];
  const val = g.map((r) => num(what === 'energy' ? r.validation?.energyRmse : r.validation?.forcesRmse));
  if (val.some((v) => v !== null)) series.push({ label: 'ACE on the validation set (DFT, never trained on)', x, y: val, annotate: g.map((r) => `gen ${r.generation}`) });
  const split = g.map((r) => num(what === 'energy' ? r.metrics?.test_rmse_energy_mev_atom : r.metrics?.test_rmse_forces_mev_a));
  if (split.some((v) => v !== null)) series.push({ label: "ACE on Pacemaker's held-out split (mostly teacher labels)", x, y: split, linestyle: '--' });
  // The committee is scored on every DFT label so far after its fine-tune in generation k: plot it at the
  // DFT calls the next fit had.
  const t = d.generations.filter((r) => r.metrics?.teacher);
  const tx = t.map((r) => r.dftCallsBeforeFit + (r.metrics?.dft?.requested ?? 0));
  const ty = t.map((r) => {
    const s = r.metrics!.teacher!;
    const chosen = s.adopted ? s.after : s.before;
    return num(what === 'energy' ? chosen?.rmse_energy_mev_atom : chosen?.rmse_forces_mev_a);
  });
  if (ty.some((v) => v !== null)) series.push({ label: 'teacher committee on all DFT labels so far', x: tx, y: ty, linestyle: ':' });
  if (!series.length) return undefined;
  return { name: `learning-${what}`, kind: 'lines', title: `${what === 'energy' ? 'Energy' : 'Force'} RMSE against DFT calls`, xlabel: 'DFT calculations', ylabel: `RMSE (${unit})`, series, logy: false };
}

export function figureSpecs(d: ReportData): FigureSpec[] {
  const out: FigureSpec[] = [];
  for (const w of ['forces', 'energy'] as const) {
    const f = learning(d, w);
    if (f) out.push(f);
  }
  const parity = d.parity.filter((p) => p.energy || p.forces);
  const shown = parity.length > 1 ? [parity[0]!, parity[parity.length - 1]!] : parity;
  if (shown.length) {
    for (const w of ['energy', 'forces'] as const) {
      const series = shown.filter((p) => p[w]).map((p) => ({ label: `gen ${p.generation}`, ref: p[w]!.ref, pred: p[w]!.pred }));
      if (series.length) out.push({ name: `parity-${w}`, kind: 'parity', title: `${w === 'energy' ? 'Energy' : 'Force components'} on the validation set`, unit: w === 'energy' ? 'eV/atom' : 'eV/Å', series });
    }
  }
  const th = d.status?.thresholds ?? (d.campaign ? { gammaSelect: d.campaign.exploration.gamma_select, gammaHalt: d.campaign.exploration.gamma_halt } : undefined);
  for (const r of d.generations) {
    if (!r.metrics?.explored) continue;
    out.push({
      name: `gamma-gen-${r.generation}`,
      kind: 'histogram',
      title: `Generation ${r.generation}: max extrapolation grade of harvested frames`,
      xlabel: 'max gamma per frame',
      values: r.gamma,
      vlines: th ? [{ x: th.gammaSelect, label: `gamma_select ${th.gammaSelect}`, color: '#dd8452' }, { x: th.gammaHalt, label: `gamma_halt ${th.gammaHalt}`, color: '#c44e52' }] : [],
      size: [4.6, 2.8],
    });
  }
  return out;
}
