// The tiered oracle's routing rules over fixed uncertainty values (pure logic: no models needed here; the
// real committee and the real DFT oracle route in oracle-routing.test.ts).
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { TeacherSchema, parseCampaign } from '../../common/campaign-schema';
import { capDft, route, routingPolicy, uncertaintyOf, type RoutingPolicy } from '../../common/routing';

const teacher = TeacherSchema.parse({ accept_threshold: 0.05, dft_threshold: 0.2, gamma_accept_threshold: 1.5, gamma_dft_threshold: 5 });
const committee: RoutingPolicy = routingPolicy(teacher, 2, undefined, 0).policy;

function failure(fn: () => unknown): ApplicationFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected an ApplicationFailure');
}

describe('routing by committee force spread', () => {
  it('keeps, sends to DFT and discards exactly at the thresholds', () => {
    const cases: [number, string][] = [
      [0, 'accept'],
      [0.049, 'accept'],
      [0.05, 'accept'], // "uncertainty <= accept threshold -> the MACE label is kept"
      [0.0500001, 'discard'],
      [0.12, 'discard'],
      [0.2, 'discard'], // not above the DFT threshold yet
      [0.2000001, 'dft'],
      [7.5, 'dft'],
    ];
    expect(cases.map(([u]) => route({ fStd: u }, committee))).toEqual(cases.map(([, r]) => r));
  });

  it('queues instead of discarding when teacher.between is queue', () => {
    const queue = routingPolicy({ ...teacher, between: 'queue' }, 3, undefined, 0).policy;
    expect([0.01, 0.1, 0.3].map((u) => route({ fStd: u }, queue))).toEqual(['accept', 'queue', 'dft']);
  });

  it('treats a flagged prediction as infinite uncertainty; overlapping atoms are rejected, never sent to DFT', () => {
    expect(uncertaintyOf({ flag: 'exploding' }, committee)).toBe(Infinity);
    expect(route({ flag: 'exploding' }, committee)).toBe('dft');
    expect(route({ flag: 'non_finite' }, committee)).toBe('dft');
    expect(route({ flag: 'overlapping_atoms' }, committee)).toBe('reject');
    expect(route({ fStd: Number.NaN }, committee)).toBe('dft');
    expect(route({}, committee)).toBe('dft'); // a committee reply without a spread is not trusted
  });
});

describe('single model: routing by the ACE extrapolation grade', () => {
  it('needs one gamma per structure and says in the note why', () => {
    const { policy, note } = routingPolicy(teacher, 1, 4, 4);
    expect(policy.source).toBe('ace_gamma');
    expect(note).toMatch(/single fast-oracle model: no committee uncertainty; routed by the ACE extrapolation grade/);
    // fStd is ignored for a single model; gamma decides; null gamma (JSON's infinity) goes to DFT.
    expect([0.8, 1.5, 3, 5.01, null].map((gamma) => route({ fStd: 0, gamma }, policy))).toEqual(['accept', 'accept', 'discard', 'dft', 'dft']);
  });

  it('fails with a typed, actionable error without gamma or with the wrong number of values', () => {
    const none = failure(() => routingPolicy(teacher, 1, undefined, 10));
    expect(none.type).toBe('InvalidConfig');
    expect(none.nonRetryable).toBe(true);
    expect(none.message).toMatch(/list two or more files in teacher\.models .*or pass gamma/);
    const short = failure(() => routingPolicy(teacher, 1, 9, 10));
    expect(short.type).toBe('InvalidInput');
    expect(short.message).toBe('gamma has 9 values for 10 structures: give one extrapolation grade per structure, in order');
  });
});

describe('threshold validation', () => {
  it('rejects inverted, negative and non-finite thresholds, naming the field', () => {
    const inverted = failure(() => routingPolicy({ ...teacher, accept_threshold: 0.3 }, 2, undefined, 0));
    expect(inverted.type).toBe('InvalidConfig');
    expect(inverted.message).toBe('teacher.accept_threshold (0.3) must be <= teacher.dft_threshold (0.2): lower the first or raise the second');
    expect(failure(() => routingPolicy({ ...teacher, dft_threshold: -1 }, 2, undefined, 0)).message).toMatch(/^teacher\.dft_threshold must be a finite number >= 0/);
    expect(failure(() => routingPolicy({ ...teacher, accept_threshold: Number.NaN }, 2, undefined, 0)).message).toMatch(/^teacher\.accept_threshold must be a finite number/);
    expect(failure(() => routingPolicy({ ...teacher, gamma_accept_threshold: 9 }, 1, 1, 1)).message).toMatch(/^teacher\.gamma_accept_threshold \(9\) must be <= teacher\.gamma_dft_threshold \(5\)/);
  });

  it('the campaign schema reports the same mistakes at validation time', () => {
    const r = parseCampaign({
      system: { name: 'Si', elements: ['Si'], prototype: { kind: 'diamond', a: 5.43 } },
      teacher: { accept_threshold: 0.3, dft_threshold: 0.2, gamma_accept_threshold: 6, bootstrap: { members: 1 }, surrogates: { weight: 2 } },
    });
    expect(r.ok ? [] : r.errors).toEqual([
      'teacher.bootstrap.members: must be >= 2 (a committee)',
      'teacher.surrogates.weight: must be <= 1',
      'teacher.accept_threshold: must be <= teacher.dft_threshold (0.2)',
      'teacher.gamma_accept_threshold: must be <= teacher.gamma_dft_threshold (5)',
    ]);
  });
});

describe('DFT cap', () => {
  it('sends the most uncertain structures first and queues the rest, keeping index order', () => {
    const c = [0.5, 3, 0.9, 3, Infinity, 0.3].map((u, index) => ({ u, index }));
    const { dft, deferred } = capDft(c, 3);
    expect(dft.map((x) => x.index)).toEqual([1, 3, 4]);
    expect(deferred.map((x) => x.index)).toEqual([0, 2, 5]);
    expect(capDft(c, undefined).dft).toHaveLength(6);
    expect(capDft(c, 0).dft).toHaveLength(0);
  });
});
