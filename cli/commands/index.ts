// Commands contributed by feature modules: `autopipe <name> ...` calls run(args) and exits with its code.
// Add a module per command group and one line here; throw UsageError for bad arguments (exit 2).
export class UsageError extends Error {}

export interface Command {
  /** One line for the usage text: "name ARGS   what it does". */
  usage: string;
  run(args: string[]): Promise<number>;
}

export const commands: Record<string, () => Promise<Command>> = {
  label: async () => (await import('./label')).command,
  start: async () => (await import('./campaign')).commands.start!,
  status: async () => (await import('./campaign')).commands.status!,
  watch: async () => (await import('./campaign')).commands.watch!,
  pause: async () => (await import('./campaign')).commands.pause!,
  resume: async () => (await import('./campaign')).commands.resume!,
  stop: async () => (await import('./campaign')).commands.stop!,
  tune: async () => (await import('./campaign')).commands.tune!,
  list: async () => (await import('./campaign')).commands.list!,
  report: async () => (await import('./campaign')).commands.report!,
  history: async () => (await import('./campaign')).commands.history!,
  teacher: async () => (await import('./teacher')).command,
  generate: async () => (await import('./generate')).command,
  dataset: async () => (await import('./dataset')).command,
  train: async () => (await import('./train')).command,
  select: async () => (await import('./select')).command,
  gamma: async () => (await import('./gamma')).command,
  // e.g. generate: async () => (await import('./generate')).command,
};
