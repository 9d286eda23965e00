// The HTML report's writer and figure list over synthetic report data (no tools): every section says
// something, a campaign without validation metrics says so instead of passing split errors off as
// validation, text is escaped, and figures are asked for exactly when there are numbers to draw.
import { describe, expect, it } from 'vitest';
import type { ReportData } from '../../activities/report/data';
import { validationOf } from '../../activities/report/data';
import { figureSpecs } from '../../activities/report/figures';
import { renderReport, SECTIONS } from '../../activities/report/html';
import type { GenerationMetrics } from '../../workflows/campaign-api';

const metrics = (g: number, extra: Partial<GenerationMetrics> = {}): GenerationMetrics => ({
  generation: g,
  potential: `/r/potentials/gen-${g}/potential.yace`,
  train_rmse_energy_mev_atom: 3,
  train_rmse_forces_mev_a: 40,
  test_rmse_energy_mev_atom: 4,
  test_rmse_forces_mev_a: 50,
  iterations: 30,
  ...extra,
});

function data(over: Partial<ReportData> = {}): ReportData {
  return {
    campaignId: 'si<test>',
    system: 'Si',
    runDir: '/r',
    generatedAt: '2026-01-01T00:00:00Z',
    generations: [
      {
        generation: 0,
        metrics: metrics(0, { explored: { candidates: 5, halted: 1, above_select: 5, gamma_max: 6.2 }, dft: { requested: 3, labelled: 2, healed: 1, failed: 1 } }),
        bySource: { initial_random: 24, md_select: 5 },
        byOracle: { mace: 20, dft: 12 },
        dftCallsBeforeFit: 10,
        gamma: [2.1, 3.3, 6.2],
      },
      { generation: 1, metrics: metrics(1), bySource: {}, byOracle: {}, dftCallsBeforeFit: 13, gamma: [] },
    ],
    ledger: [
      { structureId: 'aaa', status: 'labelled', attempts: [{ attempt: 1, rung: 'default', wallSeconds: 12, exit: '0' }], rung: 'default', healed: false, wallSeconds: 12, coreHours: 12 / 3600, ranks: 1, source: 'teacher_seed', generation: 0, link: 'http://ui/x', activityId: '3' },
      { structureId: 'bbb', status: 'failed', attempts: [{ attempt: 1, rung: 'default', wallSeconds: 5, exit: '3' }, { attempt: 2, rung: 'beta-0.3-local-TF', wallSeconds: 9, exit: '3' }], healed: false, wallSeconds: 14, coreHours: 28 / 3600, ranks: 2, reason: 'ScfNotConverged: <no luck>', source: 'md_halt', generation: 0 },
    ],
    parity: [],
    cost: { dftCalls: 2, dftCoreHours: 40 / 3600, perCallCoreHours: 20 / 3600, teacherLabels: 20, surrogateLabels: 0, savedCoreHours: (20 * 20) / 3600, teacherTrainingCoreHours: 0.01 },
    storeFound: true,
    ...over,
  };
}

const sections = (html: string) =>
  Object.fromEntries(SECTIONS.map(([id]) => [id, html.match(new RegExp(`<section id="${id}">([\\s\\S]*?)</section>`))?.[1] ?? '']));

describe('the campaign report', () => {
  it('has every section with content, escapes text, and links ledger rows to the Temporal UI', () => {
    const html = renderReport(data(), { 'learning-forces': 'data:image/png;base64,AAAA', 'gamma-gen-0': 'data:image/png;base64,BBBB' });
    const s = sections(html);
    for (const [id] of SECTIONS) expect(s[id]!.replace(/<h2>.*?<\/h2>/, '').replace(/<[^>]+>/g, '').trim().length, id).toBeGreaterThan(20);
    expect(html).toContain('Campaign si&lt;test&gt;');
    expect(html).not.toContain('<no luck>');
    expect(s.ledger).toContain('<a href="http://ui/x">');
    expect(s.ledger).toMatch(/1: default \(12\.0 s\)/);
    expect(s.ledger).toMatch(/2: beta-0\.3-local-TF \(9\.0 s\) exit 3/);
    expect(s.exploration).toContain('src="data:image/png;base64,BBBB"');
    expect(s.cost).toContain('0.111'); // 400 core-seconds saved = 0.111 core-hours
    expect(html).not.toMatch(/<script/);
  });

  it('says plainly when the campaign recorded no validation metrics', () => {
    const s = sections(renderReport(data(), {}));
    expect(s['learning-curve']).toContain('recorded no validation metrics');
    expect(s.parity).toContain('No parity data');
  });

  it('shows validation errors against DFT calls when they are recorded', () => {
    const d = data();
    d.generations[0]!.validation = { energyRmse: 12.5, forcesRmse: 140 };
    d.generations[1]!.validation = { energyRmse: 6.25, forcesRmse: 90 };
    const s = sections(renderReport(d, {}));
    expect(s['learning-curve']).not.toContain('recorded no validation metrics');
    expect(s['learning-curve']).toMatch(/<td>0<\/td><td>10<\/td><td>–<\/td><td>12\.50<\/td><td>–<\/td><td>140\.0<\/td>/);
    const f = figureSpecs(d).find((x) => x.name === 'learning-forces')!;
    const series = f.series as { label: string; x: number[]; y: (number | null)[] }[];
    expect(series[0]).toMatchObject({ x: [10, 13], y: [140, 90] });
    expect(series[0]!.label).toContain('validation');
  });

  it('asks for parity plots only with parity data, and a gamma histogram per exploration', () => {
    expect(figureSpecs(data()).map((f) => f.name)).toEqual(['learning-forces', 'learning-energy', 'gamma-gen-0']);
    const withParity = figureSpecs(data({ parity: [{ generation: 1, energy: { ref: [1, 2], pred: [1.1, 2.1] }, forces: { ref: [0.1], pred: [0.2] } }] }));
    expect(withParity.map((f) => f.name)).toEqual(['learning-forces', 'learning-energy', 'parity-energy', 'parity-forces', 'gamma-gen-0']);
  });
});

describe('validation metrics as a campaign may record them', () => {
  it('reads an evaluation summary (autopipe evaluate\'s shape), offset-corrected energy on a relative scale', () => {
    const overall = { n_structures: 20, energy_rmse_mev_atom: 900, energy_rmse_mev_atom_offset: 4.5, forces_rmse_mev_a: 61 };
    const summary = (energyScale: string) => ({ energyScale, offsets_ev_atom: {}, overall, by_group: {} });
    // the campaign's record (GenerationValidation) and a bare summary read the same
    const m = (energyScale: string) => ({ ...metrics(0), validation: { dft_calls: 10, dft_trained: 8, structures: 20, potential: summary(energyScale) } }) as unknown as GenerationMetrics;
    const bare = (energyScale: string) => ({ ...metrics(0), validation: summary(energyScale) }) as unknown as GenerationMetrics;
    expect(validationOf(m('relative'))).toEqual({ energyRmse: 4.5, energyRmseOffset: 4.5, forcesRmse: 61, n: 20 });
    expect(validationOf(m('absolute'))).toEqual({ energyRmse: 900, energyRmseOffset: 4.5, forcesRmse: 61, n: 20 });
    expect(validationOf(bare('relative'))).toEqual({ energyRmse: 4.5, energyRmseOffset: 4.5, forcesRmse: 61, n: 20 });
    expect(validationOf(metrics(0))).toBeUndefined();
  });
});
