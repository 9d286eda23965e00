// A fit resumed after a crash starts from Pacemaker's interim potential, which Pacemaker rewrites in place
// every iteration: a worker killed mid-write left it empty (CI, durability-tools), and the resumed fit
// died with "bad conversion". Only a whole interim is resumed from: Pacemaker's own, or the copy kept aside.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { keepWholeInterim, takeInterim, wholeInterim } from '../../activities/ace/fit-resume';

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

// The attempt after a crash: Pacemaker's own interim when whole, else the whole copy kept aside while it ran.
describe('takeInterim', () => {
  const attempt = (name: string, own: string, kept?: { text: string; iterations: number }) => {
    const outDir = path.join(dir, name);
    const work = path.join(outDir, 'fit');
    mkdirSync(work, { recursive: true });
    writeFileSync(path.join(work, 'fingerprint'), 'fp\n');
    writeFileSync(path.join(work, 'metrics.txt'), 'iter_num loss\n1 0.5\n2 0.4\n3 0.3\n4 0.2\n5 0.1\n');
    writeFileSync(path.join(work, 'interim_potential_0.yaml'), own);
    if (kept) {
      writeFileSync(path.join(work, 'interim-whole.yaml'), kept.text);
      writeFileSync(path.join(work, 'interim-whole.json'), JSON.stringify({ iterations: kept.iterations }));
    }
    return { outDir, work };
  };

  it('resumes from a whole interim after the iterations metrics.txt shows', () => {
    const { outDir, work } = attempt('own', whole);
    const r = takeInterim(outDir, work, 'fp', 30);
    expect(r.iterations).toBe(5);
    expect(readFileSync(r.interim!, 'utf8')).toBe(whole);
  });

  it('falls back to the kept whole copy when the kill cut Pacemaker\'s file, counting the copy\'s iterations', () => {
    const { outDir, work } = attempt('cut', '', { text: whole, iterations: 3 });
    const r = takeInterim(outDir, work, 'fp', 30);
    expect(r.iterations).toBe(3);
    expect(readFileSync(r.interim!, 'utf8')).toBe(whole);
  });

  it('starts afresh with neither, or for another fit (fingerprint)', () => {
    const a = attempt('none', whole.slice(0, 40));
    expect(takeInterim(a.outDir, a.work, 'fp', 30)).toEqual({ iterations: 0 });
    const b = attempt('other', whole);
    expect(takeInterim(b.outDir, b.work, 'another', 30)).toEqual({ iterations: 0 });
  });
});

describe('keepWholeInterim', () => {
  it('copies a settled whole interim with its iterations, and never a cut one', async () => {
    const work = path.join(dir, 'keep');
    mkdirSync(work, { recursive: true });
    writeFileSync(path.join(work, 'metrics.txt'), 'iter_num loss\n1 0.5\n2 0.4\n');
    const own = path.join(work, 'interim_potential_0.yaml');
    writeFileSync(own, whole);
    const settled = (Date.now() - 5000) / 1000;
    utimesSync(own, settled, settled);
    const stop = keepWholeInterim(work, 50);
    try {
      await waitFor(() => existsSync(path.join(work, 'interim-whole.json')));
      expect(readFileSync(path.join(work, 'interim-whole.yaml'), 'utf8')).toBe(whole);
      expect(JSON.parse(readFileSync(path.join(work, 'interim-whole.json'), 'utf8'))).toEqual({ iterations: 2 });
      // Pacemaker caught mid-write: the cut file is never copied over the whole one.
      writeFileSync(path.join(work, 'metrics.txt'), 'iter_num loss\n1 0.5\n2 0.4\n3 0.3\n');
      writeFileSync(own, whole.slice(0, whole.indexOf('0.4717')));
      utimesSync(own, settled + 1, settled + 1);
      await new Promise((r) => setTimeout(r, 300));
      expect(readFileSync(path.join(work, 'interim-whole.yaml'), 'utf8')).toBe(whole);
      expect(JSON.parse(readFileSync(path.join(work, 'interim-whole.json'), 'utf8'))).toEqual({ iterations: 2 });
    } finally {
      stop();
    }
  });
});

async function waitFor(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  expect(ok()).toBe(true);
}
