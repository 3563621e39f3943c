import { availableParallelism, loadavg } from 'node:os';

/** One measured figure, printed as one JSON line on stdout (nothing else goes to stdout). */
export interface BenchResult {
  name: string;
  value: number;
  unit: string;
  /** What `pass` checks, e.g. `ratio <= 1.1` or `<= 120`. */
  target: string;
  /** The same figure for the floor it is compared with (e.g. a bare Bolt app), same unit. */
  baseline?: number;
  /** value / baseline. */
  ratio?: number;
  pass: boolean;
  /** How the figure was obtained, when that needs saying (e.g. scaled time). */
  note?: string;
}

export const machine = { cores: availableParallelism(), node: process.version };

/** The machine, with its 1-minute load average when the figure was taken (others' work skews timings). */
function machineNow(): typeof machine & { load1: number } {
  return { ...machine, load1: round(loadavg()[0] ?? 0) };
}

export function report(result: BenchResult): void {
  const { note, ...rest } = result;
  const line = { ...rest, machine: machineNow(), ...(note === undefined ? {} : { note }) };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

/** Progress for a person watching the run; stderr, so stdout stays one JSON object per line. */
export function progress(bench: string, text: string): void {
  process.stderr.write(`[${bench}] ${text}\n`);
}

export function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
