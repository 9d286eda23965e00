// Everything about a campaign that can be checked before anything runs, in one place for `validate`,
// `start`, `teacher bootstrap` and the campaign's own preparation (the path a campaign started from the
// Temporal UI takes): the id, the run directory's location, files that must exist (pseudopotentials
// inside pseudo_dir, teacher models, the replay set, the structure file), the starting structure as
// ASE reads it (partial occupancy refused), and the DFT cost of the structures the campaign will label.
// Each problem is one "field: what is wrong and what to do" line. In stages: the structure is read only
// when the file checks pass (a Python start), so the first answer comes fast.
import { ApplicationFailure } from '@temporalio/common';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { Campaign } from '../../common/campaign-schema';
import { NonRetryableErrors } from '../../common/errors';
import { idProblem } from '../../common/ids';
import { costProblems, estimateDftCost, kptsFromSpacing, type DftCost } from '../dft/cost';
import { valenceElectrons } from '../dft/pseudopotentials';
import { callPython } from '../runtime/python';
import { generatorRecipe, RecipeSchema } from '../structures/generate';
import { contract } from '../runtime/contract';
import { runDirectoryProblem } from './run-directory';

const Described = z.object({ natoms: z.number(), cell: z.array(z.array(z.number())), symbols: z.array(z.string()), pbc: z.array(z.boolean()) });
/** The starting cell a campaign's recipe gives (the size and cost checks read it). */
export const SafetyDescribe = contract('safety-describe', RecipeSchema, Described);

export interface CampaignCheckOptions {
  /** The campaign id the run directory is named after (checked as an id). */
  campaignId?: string;
  /** The resolved run directory. */
  runDir?: string;
  /** Read the starting structure with the Python helper (occupancy, size, DFT cost); default true. */
  structures?: boolean;
  /** 'location': only the id and the run directory. */
  only?: 'location';
}

export interface CampaignCheck {
  problems: string[];
  /** Estimated DFT cost of the starting cell times the supercell, and of a max_atoms_dft cell. */
  cost?: { start: DftCost; largest: DftCost };
}

function fileProblem(file: string, field: string, what: string, fix: string): string | undefined {
  let st;
  try {
    st = statSync(file);
  } catch {
    return `${field}: ${file} not found (${what}): ${fix}`;
  }
  return st.isFile() ? undefined : `${field}: ${file} is not a file (${what}): ${fix}`;
}

/** Pseudopotential names are file names inside pseudo_dir; the file exists and is a UPF with z_valence. */
export function pseudopotentialProblems(dft: Campaign['dft'], elements: string[]): { problems: string[]; valence: Record<string, number> } {
  const problems: string[] = [];
  const valence: Record<string, number> = {};
  const dir = path.resolve(dft.pseudo_dir);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch {
    /* reported below */
  }
  if (!isDir) return { problems: [`dft.pseudo_dir: ${dir} is not a directory (install quantum-espresso-data, or point it at your UPF files)`], valence };
  for (const el of elements) {
    const name = dft.pseudopotentials[el];
    if (name === undefined) continue; // derived by the heuristics, or reported by them
    const full = path.resolve(dir, name);
    if (path.dirname(full) !== dir) {
      problems.push(`dft.pseudopotentials.${el}: "${name}" must be a file name inside dft.pseudo_dir (${dir}), not a path`);
      continue;
    }
    const missing = fileProblem(full, `dft.pseudopotentials.${el}`, 'a UPF pseudopotential', `put it in ${dir} or fix the name (\`ls ${dir}\`)`);
    if (missing) {
      problems.push(missing);
      continue;
    }
    const z = valenceElectrons(full);
    if (z === undefined) problems.push(`dft.pseudopotentials.${el}: ${full} is not a UPF file (no z_valence in its header)`);
    else valence[el] = z;
  }
  return { problems, valence };
}

/** Files the campaign reads: teacher models, the fine-tuning replay set, the structure file. */
export function campaignFileProblems(c: Campaign): string[] {
  const out: (string | undefined)[] = c.teacher.models.map((m, i) =>
    fileProblem(m, `teacher.models.${i}`, 'a MACE model file', 'fix the path, or remove teacher.models to bootstrap a committee from DFT'),
  );
  if (c.teacher.finetune.replay_file) out.push(fileProblem(c.teacher.finetune.replay_file, 'teacher.finetune.replay_file', 'an extxyz replay set', 'fix the path or remove the key'));
  if (c.system.structure_file) out.push(fileProblem(c.system.structure_file, 'system.structure_file', 'any ASE-readable structure file', 'fix the path (relative paths are relative to the campaign file)'));
  return out.filter((p): p is string => p !== undefined);
}

/** Scale a cell isotropically to hold `atoms` atoms at the same density. */
function scaled(cell: number[][], from: number, atoms: number): number[][] {
  const f = Math.cbrt(atoms / from);
  return cell.map((r) => r.map((x) => x * f));
}

/**
 * All checks. The campaign should be the derived one (activities/campaign/heuristics.ts: pseudopotentials
 * and cutoffs filled in), so the cost is estimated with the settings pw.x will get.
 */
export async function checkCampaign(c: Campaign, opts: CampaignCheckOptions = {}): Promise<CampaignCheck> {
  const problems: string[] = [];
  if (opts.campaignId !== undefined) {
    const bad = idProblem(opts.campaignId);
    if (bad) problems.push(`id: ${bad}`);
  }
  if (opts.runDir) {
    const bad = runDirectoryProblem(opts.runDir, c.run_directory ? 'run_directory' : 'run directory');
    if (bad) problems.push(bad);
  }
  if (opts.only === 'location') return { problems };
  const pseudo = pseudopotentialProblems(c.dft, c.system.elements);
  problems.push(...pseudo.problems, ...campaignFileProblems(c));
  if (c.exploration.max_atoms_dft > c.dft.limits.max_atoms) {
    problems.push(`exploration.max_atoms_dft: ${c.exploration.max_atoms_dft} is above dft.limits.max_atoms (${c.dft.limits.max_atoms}): DFT would refuse the cells exploration sends it`);
  }
  // Reading the structure takes a Python start (about a second): only once the cheap checks pass.
  if (opts.structures === false || problems.length) return { problems };

  const work = mkdtempSync(path.join(os.tmpdir(), 'autopipe-check-'));
  let d: z.infer<typeof Described>;
  try {
    const recipe = generatorRecipe(c.system, c.generation, { seed: c.seed });
    d = await callPython(SafetyDescribe, recipe, { workDir: work, timeoutMs: 120_000 });
  } catch (err) {
    const field = c.system.structure_file ? 'system.structure_file' : 'system.prototype';
    problems.push(`${field}: ${(err as Error).message.replace(/ \(helper "safety-describe".*$/s, '')}`);
    return { problems };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (d.natoms > c.exploration.max_atoms_dft) {
    problems.push(`system.supercell: the starting cell times the supercell has ${d.natoms} atoms, more than exploration.max_atoms_dft (${c.exploration.max_atoms_dft}), the largest cell DFT labels: a smaller supercell, or raise max_atoms_dft`);
  }
  if (c.dft.ecutwfc === undefined) return { problems };
  const settings = { ecutwfc: c.dft.ecutwfc, ecutrho: c.dft.ecutrho ?? 4 * c.dft.ecutwfc, spin: c.dft.spin, smearing: c.dft.smearing !== 'none', valence: pseudo.valence };
  const start = estimateDftCost({ ...settings, cell: d.cell, symbols: d.symbols, kpts: kptsFromSpacing(d.cell, c.dft.kspacing) });
  problems.push(...costProblems(start, c.dft.limits, `DFT of the starting cell (system, ${d.natoms} atoms)`));
  const n = c.exploration.max_atoms_dft;
  const bigCell = scaled(d.cell, d.natoms, n);
  const symbols = Array.from({ length: n }, (_, i) => d.symbols[i % d.symbols.length]!);
  const largest = estimateDftCost({ ...settings, cell: bigCell, symbols, kpts: kptsFromSpacing(bigCell, c.dft.kspacing) });
  problems.push(...costProblems(largest, c.dft.limits, `DFT of an exploration cell (exploration.max_atoms_dft = ${n} atoms)`));
  return { problems, cost: { start, largest } };
}

/** For the campaign's preparation: every problem at once as one non-retryable InvalidConfig failure. */
export async function assertCampaignInputs(c: Campaign, opts: CampaignCheckOptions): Promise<void> {
  const { problems } = await checkCampaign(c, opts);
  if (problems.length) {
    throw ApplicationFailure.create({ type: NonRetryableErrors.InvalidConfig, nonRetryable: true, message: `invalid campaign (nothing was started):\n${problems.join('\n')}` });
  }
}
