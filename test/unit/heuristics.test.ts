// The heuristic engine against the real pseudopotential folder: a minimal campaign is completed with
// explained values, and impossible requests fail with the field named.
import { describe, expect, it } from 'vitest';
import { deriveCampaign, functionsForData, pickPseudopotentials } from '../../activities/campaign/heuristics';
import { defaultPseudoDir, projectRoot } from '../../host/paths';
import { campaignFrom } from '../../cli/args';
import path from 'node:path';

const minimal = (elements: string[], kind = 'fcc') => ({ system: { name: elements.join(''), elements, prototype: { kind, a: 4.05 } }, budgets: { dft_total: 20 } });

describe('heuristic defaults', () => {
  it('completes a campaign that gives only elements, a prototype and a DFT budget', () => {
    const r = deriveCampaign(minimal(['Al']));
    if (!r.ok) throw new Error(r.errors.join('\n'));
    const d = Object.fromEntries(r.derived.map((x) => [x.key, x]));
    expect(d['dft.pseudopotentials.Al']!.value).toMatch(/^Al\./);
    expect(r.campaign.dft.ecutwfc).toBeGreaterThan(0);
    expect(r.campaign.dft.ecutrho).toBeGreaterThanOrEqual(4 * r.campaign.dft.ecutwfc!);
    expect(r.campaign.dft.smearing).toBe('mv');
    expect(d['dft.smearing']!.reason).toContain('all elements are metals');
    expect(d['training.number_of_functions_per_element']!.reason).toContain('DFT atomic environments per element');
    for (const x of r.derived) expect(x.reason.length).toBeGreaterThan(10);
  });

  it('the CLI commands (train, select, teacher, dataset) see the campaign as it runs: derived values included', () => {
    // `autopipe train --config examples/al.yaml` fitted 40 functions (the schema default) while the
    // campaign fitted 75 (derived from its DFT budget): the same file meant two different fits.
    const c = campaignFrom(path.join(projectRoot, 'examples', 'al.yaml'));
    expect(c.training.number_of_functions_per_element).toBe(functionsForData(150, 8, 1));
    expect(c.training.number_of_functions_per_element).not.toBe(40);
    expect(c.dft.pseudopotentials.Al).toBe('Al.pz-vbc.UPF');
  });

  it('chooses fixed occupations for a pristine insulator, cold smearing once defects or hot MD close its gap, and spin for a magnetic metal', () => {
    const pristine = { generation: { vacancy_fraction: 0 }, exploration: { temperatures: [300, 900] } };
    const si = deriveCampaign({ ...minimal(['Si'], 'diamond'), ...pristine });
    const siVacancies = deriveCampaign(minimal(['Si'], 'diamond')); // the schema's default vacancy_fraction is 0.1
    const siHot = deriveCampaign({ ...minimal(['Si'], 'diamond'), ...pristine, exploration: { temperatures: [300, 1500] } });
    const fe = deriveCampaign(minimal(['Fe'], 'bcc'));
    if (!si.ok || !siVacancies.ok || !siHot.ok || !fe.ok) throw new Error('derive failed');
    expect(si.campaign.dft.smearing).toBe('none');
    expect(siVacancies.campaign.dft).toMatchObject({ smearing: 'mv', degauss: 0.01 });
    expect(siVacancies.derived.find((d) => d.key === 'dft.smearing')!.reason).toContain('point defects');
    expect(siHot.campaign.dft.smearing).toBe('mv');
    expect(siHot.derived.find((d) => d.key === 'dft.smearing')!.reason).toContain('MD at 1500 K');
    expect(fe.campaign.dft.spin).toBe(true);
    expect(fe.campaign.dft.starting_magnetization).toEqual({ Fe: 0.5 });
  });

  it('takes suggested cutoffs from the UPF header with a 10% margin', () => {
    const r = deriveCampaign({ ...minimal(['Fe'], 'bcc'), dft: { pseudopotentials: { Fe: 'Fe.pbe-spn-rrkjus_psl.0.2.1.UPF' } } });
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.campaign.dft.ecutwfc).toBe(Math.ceil(64 * 1.1));
    expect(r.campaign.dft.ecutrho).toBe(Math.ceil(782 * 1.1));
  });

  it('sizes the ACE basis for the DFT data, not the teacher-labelled pool', () => {
    const small = deriveCampaign({ ...minimal(['Si'], 'diamond'), generation: { count: 2000 } });
    const big = deriveCampaign({ ...minimal(['Si'], 'diamond'), budgets: { dft_total: 150 } });
    if (!small.ok || !big.ok) throw new Error('derive failed');
    expect(small.campaign.training.number_of_functions_per_element).toBe(16); // 20 x 2 atoms: the floor, however many teacher labels
    expect(big.campaign.training.number_of_functions_per_element).toBe(functionsForData(150, 2, 1));
    expect(functionsForData(150, 8, 1)).toBe(75);
    expect(functionsForData(150, 8, 2)).toBe(38);
    expect(functionsForData(100000, 64, 1)).toBe(128);
  });

  it('keeps what the user wrote', () => {
    const r = deriveCampaign({ ...minimal(['Al']), dft: { smearing: 'gaussian', ecutwfc: 25 }, training: { number_of_functions_per_element: 33 } });
    if (!r.ok) throw new Error(r.errors.join('\n'));
    expect(r.campaign.dft.smearing).toBe('gaussian');
    expect(r.campaign.dft.ecutwfc).toBe(25);
    expect(r.campaign.training.number_of_functions_per_element).toBe(33);
    expect(r.derived.map((x) => x.key)).not.toContain('dft.smearing');
  });

  it('uses one functional for every element of a compound', () => {
    const p = pickPseudopotentials(defaultPseudoDir, ['Mg', 'O']);
    if ('error' in p) throw new Error(p.error);
    expect(p.map.Mg!.split('.')[1]!.startsWith(p.functional)).toBe(true);
    expect(p.map.O!.split('.')[1]!.startsWith(p.functional)).toBe(true);
  });

  it('names the element when no pseudopotential exists and the file when one is missing', () => {
    const noPseudo = deriveCampaign(minimal(['Xe']));
    expect(noPseudo).toEqual({ ok: false, errors: [expect.stringMatching(/^dft\.pseudopotentials: no pseudopotential for Xe in \/usr\/share\/espresso\/pseudo/)] });
    const missing = deriveCampaign({ ...minimal(['Al']), dft: { pseudopotentials: { Al: 'Al.nope.UPF' } } });
    expect(missing).toEqual({ ok: false, errors: ['dft.pseudopotentials.Al: file /usr/share/espresso/pseudo/Al.nope.UPF not found'] });
  });
});
