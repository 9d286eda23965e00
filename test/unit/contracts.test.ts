// The helper contracts are defined once (zod, beside each wrapper) and the committed JSON Schemas the
// Python side validates against are generated from them: stale files fail here, and a contract change on
// the TypeScript side (a renamed field) fails the Python side's own expectation (test/python/test_contracts.py).
import { execa } from 'execa';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { contract } from '../../activities/runtime/contract';
import { contractFile, contracts } from '../../activities/runtime/contracts';
import { StoreLabel } from '../../activities/store/store';
import { pythonExe, pythonPath } from '../../host/paths';
import { staleContracts, writeContracts } from '../../scripts/contracts';

const pythonCommands = () => [...readFileSync('activities/runtime/commands.py', 'utf8').matchAll(/^ {4}"([a-z-]+)": \(/gm)].map((m) => m[1]!).sort();

/** The Python side's samples checked against the schemas in `dir`: exit code and output. */
async function pythonSamples(dir: string) {
  return execa(pythonExe, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'test/python/test_contracts.py', '-k', 'follows_the_contract'], {
    env: { PYTHONPATH: pythonPath, AUTOPIPE_CONTRACTS_DIR: dir },
    reject: false,
  });
}

describe('helper contracts', () => {
  it('every Python helper command has exactly one contract', () => {
    expect(Object.keys(contracts).sort()).toEqual(pythonCommands());
  });

  it('the committed JSON Schemas are what the zod contracts generate (run `npx tsx scripts/contracts.ts` when this fails)', () => {
    expect(staleContracts()).toEqual([]);
  });

  it('a TypeScript-side change fails the Python side: a renamed input field breaks what store-label reads', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'autopipe-contracts-'));
    writeContracts(dir);
    const ok = await pythonSamples(dir);
    expect(ok.exitCode, ok.stdout).toBe(0);
    // The same contract with `structure_id` renamed, as a careless edit of the zod schema would do.
    const { structure_id: _gone, ...rest } = StoreLabel.input.shape;
    const renamed = contract('store-label', z.strictObject({ ...rest, structureId: z.string().min(1) }), StoreLabel.result);
    writeFileSync(path.join(dir, 'store-label.json'), contractFile(renamed));
    const broken = await pythonSamples(dir);
    expect(broken.exitCode).not.toBe(0);
    expect(broken.stdout).toMatch(/store-label/);
    expect(broken.stdout).toMatch(/structureId|structure_id/);
  });
});
