// The pw.x command line and its progress lines, shared by both launchers (local child, Slurm job).

/** Split a command template such as "mpirun -np {ranks} pw.x" into an argv. */
export function commandArgv(template: string, ranks: number): string[] {
  return template.trim().split(/\s+/).map((t) => t.replaceAll('{ranks}', String(ranks)));
}

export interface ScfProgress {
  scf_iteration: number;
  estimated_accuracy_ry: number;
}

/** A line parser that turns pw.x's SCF iterations into heartbeat details (stateful: remembers the iteration). */
export function scfProgress(): (line: string) => ScfProgress | undefined {
  let iteration = 0;
  return (line: string) => {
    const it = line.match(/iteration #\s*(\d+)/);
    if (it) iteration = Number(it[1]);
    const acc = line.match(/estimated scf accuracy\s*<\s*([\d.eE+-]+)\s*Ry/);
    if (acc) return { scf_iteration: iteration, estimated_accuracy_ry: Number(acc[1]) };
    return undefined;
  };
}

/** The last SCF progress in a (partial) pw.x output. */
export function lastScfProgress(text: string): ScfProgress | undefined {
  const parse = scfProgress();
  let last: ScfProgress | undefined;
  for (const line of text.split('\n')) last = parse(line) ?? last;
  return last;
}
