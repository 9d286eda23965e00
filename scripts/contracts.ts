// Regenerate the helper contracts' JSON Schemas from their zod definitions:
//   npx tsx scripts/contracts.ts          write activities/contracts/<command>.json
//   npx tsx scripts/contracts.ts --check  exit 1 if any file is stale (what test/unit/contracts.test.ts checks)
// The Python side (activities/runtime/contracts.py) validates every helper input and result against them.
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { contractFile, contracts } from '../activities/runtime/contracts';

export const contractsDir = fileURLToPath(new URL('../activities/contracts/', import.meta.url));

export function staleContracts(dir = contractsDir): string[] {
  const stale: string[] = [];
  for (const c of Object.values(contracts)) {
    const f = path.join(dir, `${c.command}.json`);
    if (!existsSync(f) || readFileSync(f, 'utf8') !== contractFile(c)) stale.push(c.command);
  }
  const known = new Set(Object.keys(contracts).map((k) => `${k}.json`));
  if (existsSync(dir)) for (const f of readdirSync(dir)) if (f.endsWith('.json') && !known.has(f)) stale.push(`${f} (no such contract)`);
  return stale;
}

export function writeContracts(dir = contractsDir): void {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) if (f.endsWith('.json')) rmSync(path.join(dir, f));
  for (const c of Object.values(contracts)) writeFileSync(path.join(dir, `${c.command}.json`), contractFile(c));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  if (process.argv.includes('--check')) {
    const stale = staleContracts();
    if (stale.length) {
      console.error(`stale helper contracts (run npx tsx scripts/contracts.ts): ${stale.join(', ')}`);
      process.exit(1);
    }
  } else {
    writeContracts();
    console.log(`${Object.keys(contracts).length} contracts in ${contractsDir}`);
  }
}
