// Run directories stay where runs belong: under the project's runs/ or a root the environment allows
// (AUTOPIPE_RUN_ROOTS, host/paths.ts). Checked on the real path of the nearest existing ancestor, so a
// symlink cannot lead a run to /etc; a root itself is refused (runs would mix their files).
import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { runRoots } from '../../host/paths';

/** The real path of `p`: symlinks of its nearest existing ancestor resolved, the rest appended. */
function realish(p: string): string {
  let head = path.resolve(p);
  const tail: string[] = [];
  while (!existsSync(head)) {
    const parent = path.dirname(head);
    if (parent === head) break;
    tail.unshift(path.basename(head));
    head = parent;
  }
  try {
    return path.join(realpathSync(head), ...tail);
  } catch {
    return path.resolve(p);
  }
}

function inside(child: string, root: string): boolean {
  const rel = path.relative(root, child);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
}

/** A sentence naming the field, the directory and the allowed roots, or undefined when it is allowed. */
export function runDirectoryProblem(dir: string, field: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const roots = runRoots(env);
  const real = realish(dir);
  if (roots.some((r) => inside(real, realish(r)))) return undefined;
  const isRoot = roots.some((r) => realish(r) === real);
  return `${field}: ${dir}${real !== path.resolve(dir) ? ` (really ${real})` : ''} ${isRoot ? 'is a root of all runs, not a run directory' : 'is outside the allowed run roots'} (${roots.join(', ')}): use a directory below runs/, or add its parent to AUTOPIPE_RUN_ROOTS (colon-separated)`;
}
