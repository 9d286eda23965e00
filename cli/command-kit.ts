// What every command module needs to register itself: the wrapper that turns a command body's return
// value into the exit code (and its errors into the uniform report), and the "Examples:" help block.
import type { Command } from 'commander';

/** Wraps a command body: its return value is the exit code, its errors are reported uniformly. */
export type Act = <A extends unknown[]>(body: (...args: A) => Promise<number>) => (...args: A) => Promise<void>;

/** A command module's entry: adds its command(s) to the program. */
export type Register = (program: Command, act: Act) => void;

/** The help text block after the options: one runnable example per line. */
export function examples(...lines: string[]): string {
  return `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}`;
}
