// `autopipe doctor`'s lines for the exploration engine: which engine, the libraries its speed depends on
// (numba/llvmlite compile the ACE kernel and the neighbour lists, pyace reads the potential), the
// threads it will use and whether the kernel is already compiled (the first exploration compiles it).
import { execa } from 'execa';
import { z } from 'zod';
import { helperCliModule, pythonExe, pythonPath } from '../../host/paths';
import { contract } from '../runtime/contract';

/** The engine's versions and threads (no input); run as a plain process so doctor works without a worker. */
export const MdEngineInfo = contract('md-engine-info', z.strictObject({}), z.record(z.string(), z.union([z.string(), z.number()])));

export interface EngineCheck {
  name: string;
  ok: boolean;
  version?: string;
  fix?: string;
}

const FIX = 'run `npm run setup` (numba and llvmlite are pinned in python/requirements.lock.txt)';

export async function explorationEngineChecks(): Promise<EngineCheck[]> {
  const r = await execa(pythonExe, ['-m', helperCliModule, 'md-engine-info', '/dev/null'], { reject: false, timeout: 120_000, env: { PYTHONPATH: pythonPath } }).catch(() => undefined);
  let info: Record<string, string | number> = {};
  try {
    info = JSON.parse(String(r?.stdout ?? '').trim().split('\n').pop() ?? '{}').result ?? {};
  } catch {
    /* every line below then fails with the fix */
  }
  const bad = (v: unknown) => v === undefined || String(v).startsWith('ERROR');
  const checks: EngineCheck[] = [{ name: 'exploration engine', ok: !bad(info.engine), version: info.engine as string, fix: FIX }];
  for (const mod of ['numba', 'llvmlite']) checks.push({ name: `exploration: ${mod}`, ok: !bad(info[mod]), version: info[mod] as string, fix: FIX });
  checks.push({
    name: 'exploration: threads',
    ok: !bad(info.threads),
    version: `${info.threads} (${info.threads_from}), ${info.threading_layer} threading layer, cpu ${info.cpu}`,
    fix: FIX,
  });
  checks.push({ name: 'exploration: ACE kernel', ok: !bad(info.kernel_cache), version: info.kernel_cache as string, fix: FIX });
  return checks;
}
