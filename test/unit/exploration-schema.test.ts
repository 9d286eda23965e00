// The exploration keys of the campaign schema: NPT by default, varied starts, and nvt refused with a
// pressure it would ignore.
import { describe, expect, it } from 'vitest';
import { parseCampaign } from '../../common/campaign-schema';
import { explorationThreads } from '../../activities/md/explore';

const system = { name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: 5.43 } };

describe('exploration keys', () => {
  it('defaults to NPT from generated and most-uncertain starts', () => {
    const r = parseCampaign({ system });
    expect(r.ok && r.campaign.exploration).toMatchObject({ ensemble: 'npt', pressures: [0], start_structures: 6, uncertain_starts: 2 });
  });

  it('refuses a non-zero pressure under nvt, naming the field', () => {
    const r = parseCampaign({ system, exploration: { ensemble: 'nvt', pressures: [0, 2] } });
    expect(r.ok ? [] : r.errors).toEqual(['exploration.pressures: a pressure other than 0 needs exploration.ensemble: npt']);
    expect(parseCampaign({ system, exploration: { ensemble: 'nvt' } }).ok).toBe(true);
    expect(parseCampaign({ system, exploration: { ensemble: 'nve' } }).ok).toBe(false);
  });

  it('takes the kernel threads from AUTOPIPE_ML_THREADS, else leaves them to the helper (all cores)', () => {
    expect(explorationThreads({ AUTOPIPE_ML_THREADS: '3' })).toBe(3);
    expect(explorationThreads({})).toBeUndefined();
    expect(explorationThreads({ AUTOPIPE_ML_THREADS: 'lots' })).toBeUndefined();
  });
});
