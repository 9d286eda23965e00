// Where the project's own installed tools live. Every external binary is resolved here so that
// `doctor`, the activities and the tests agree on one answer.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const venvDir = process.env.AUTOPIPE_VENV ?? path.join(projectRoot, '.venv');
export const venvBin = path.join(venvDir, 'bin');
export const pythonExe = path.join(venvBin, 'python');
/** PYTHONPATH of the helpers: the `activities` package (Python beside the TypeScript that calls it). */
export const pythonPath = projectRoot;
/** `python -m <this> <command> <input.json>` runs one helper command (activities/runtime/commands.py). */
export const helperCliModule = 'activities.runtime.helper_cli';
export const stateDir = process.env.AUTOPIPE_STATE_DIR ?? path.join(projectRoot, '.state');
export const defaultRunsDir = path.join(projectRoot, 'runs');
/** Where run directories may be: the project's runs/ plus AUTOPIPE_RUN_ROOTS (colon-separated, e.g. /scratch/me). */
export function runRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const extra = (env.AUTOPIPE_RUN_ROOTS ?? '').split(path.delimiter).filter(Boolean).map((d) => path.resolve(d));
  return [defaultRunsDir, ...extra];
}
export const defaultPseudoDir = '/usr/share/espresso/pseudo';

/** A venv console script (pacemaker, mace_run_train, temporal, ...) by name. */
export function venvTool(name: string): string {
  return path.join(venvBin, name);
}

/** Resolve an executable: absolute paths as they are, else the venv first, then PATH. */
export function resolveExecutable(name: string): string | undefined {
  if (path.isAbsolute(name)) return existsSync(name) ? name : undefined;
  const candidates = [venvTool(name), ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((d) => path.join(d, name))];
  return candidates.find((c) => existsSync(c));
}
