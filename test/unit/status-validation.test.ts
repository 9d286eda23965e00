// `autopipe status` shows the validation set, the teacher's gate and the learning curve (the campaign's
// status query carries them; formatStatus is what the CLI prints).
import { describe, expect, it } from 'vitest';
import { formatStatus } from '../../cli/campaign-client';
import type { ErrorMetrics } from '../../common/evaluation';
import type { CampaignStatus } from '../../workflows/campaign-api';

const m = (f: number, e: number): ErrorMetrics => ({
  n_structures: 3, n_atoms: 24, energy_rmse_mev_atom: e, energy_mae_mev_atom: e, energy_max_mev_atom: e, energy_rmse_mev_atom_offset: e, energy_mae_mev_atom_offset: e,
  energy_max_mev_atom_offset: e, forces_rmse_mev_a: f, forces_mae_mev_a: f, forces_max_mev_a: f, forces_ref_rms_mev_a: 900, stress_rmse_gpa: null, stress_mae_gpa: null, n_stress: 0,
});
const summary = (f: number, e: number) => ({ energyScale: 'absolute' as const, offsets_ev_atom: {}, overall: m(f, e), by_group: {} });

const status: CampaignStatus = {
  campaignId: 'gate-si', system: 'Si', runDir: '/runs/gate-si', phase: 'exploration', generation: 1, paused: false, stopAfterGeneration: false,
  structures: { bySource: {}, byOracle: {} },
  candidates: { generated: 40, keptByTeacher: 40, discarded: 0, rejected: 0, waitingForDft: 0, mdHarvested: 0, mdKeptByTeacher: 0, pickedForDft: 0, notSelected: 0 },
  dft: { used: 16, budget: 46, labelled: 16, healed: 0, failed: 0 },
  thresholds: { accept: 0.15, dft: 0.5, gammaSelect: 1.5, gammaHalt: 5 },
  teacher: { models: 2, uncertainty: 'committee' },
  metrics: [{ generation: 0, potential: '/p.yace', train_rmse_energy_mev_atom: 5, train_rmse_forces_mev_a: 50, iterations: 60, validation: { dft_calls: 13, dft_trained: 10, structures: 3, potential: summary(91.7, 51.43), teacher: summary(105.5, 167.7), variants: { with_teacher: m(83.7, 147.5), dft_only: m(91.7, 51.43), chosen: 'dft_only' } } }],
  validation: {
    requested: 6, labelled: 6, failed: 0, byGroup: { bulk: 1, shear: 1, md_300K: 1 },
    teacher: { open: false, decidedAt: 0, reason: "the teacher's labels do not help" },
    curve: { structures: 3, points: [{ generation: 0, dft_calls: 13, dft_trained: 10, potential: '/p.yaml', overall: m(91.7, 51.43), by_group: {} }] },
  },
  decisions: [],
};

describe('autopipe status: the validation set', () => {
  it('prints the set, the gate, each generation\'s validation score and the learning curve with the teacher beside it', () => {
    const out = formatStatus(status);
    expect(out).toContain('gen 0: split RMSE n/a meV/atom, n/a meV/Å; validation (3): 91.7 meV/Å, 51.43 meV/atom');
    expect(out).toContain('validation set: 6 DFT labels never trained on (1 bulk, 1 shear, 1 md_300K; 6 DFT calls, 0 failed)');
    expect(out).toContain("teacher: stepped aside (generation 0): the teacher's labels do not help");
    expect(out).toMatch(/^ +0 +13 +10 +91\.7 +51\.43 +105\.5$/m);
  });
  it('prints nothing about it for a status without a validation section (a campaign recorded before it)', () => {
    const { validation: _v, ...old } = status;
    expect(formatStatus({ ...old, metrics: [] } as unknown as CampaignStatus)).not.toContain('validation');
  });
});
