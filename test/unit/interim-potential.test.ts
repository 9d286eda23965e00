// A fit resumed after a crash starts from Pacemaker's interim potential, which Pacemaker rewrites in place
// every iteration: a worker killed mid-write left it empty (CI, durability-tools), and the resumed fit
// died with "bad conversion". Only a whole interim is resumed from.
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { wholeInterim } from '../../activities/ace/fit';

const dir = mkdtempSync(path.join(os.tmpdir(), 'interim-'));
const whole = `species:
  - speciesblock: Si
    ndensityi: 2
    nbody:
      - {type: Si Si, nr: [1], nl: [0], c: [0.5056885386039478, 0.47174402160338047]}
      - {type: Si Si Si, nr: [1, 1], nl: [0, 0], c: [0.05, -0.2]}
`;

describe('wholeInterim', () => {
  it('accepts a whole interim potential', () => {
    writeFileSync(path.join(dir, 'whole.yaml'), whole);
    expect(wholeInterim(path.join(dir, 'whole.yaml'))).toBe(true);
  });

  it('refuses an empty, missing or cut-short one', () => {
    writeFileSync(path.join(dir, 'empty.yaml'), '');
    expect(wholeInterim(path.join(dir, 'empty.yaml'))).toBe(false);
    expect(wholeInterim(path.join(dir, 'missing.yaml'))).toBe(false);
    // cut inside a coefficient list (unterminated flow sequence) and inside a number
    writeFileSync(path.join(dir, 'cut.yaml'), whole.slice(0, whole.indexOf('0.4717')));
    expect(wholeInterim(path.join(dir, 'cut.yaml'))).toBe(false);
    writeFileSync(path.join(dir, 'header.yaml'), whole.slice(0, whole.indexOf('nbody')));
    expect(wholeInterim(path.join(dir, 'header.yaml'))).toBe(false);
  });
});
