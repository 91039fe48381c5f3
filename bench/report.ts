import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The machine a benchmark ran on, recorded with its results. */
export function machine(): { cpu: string; cores: number; node: string; platform: string } {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((text) => text.startsWith('model name'));
    if (line) cpu = line.slice(line.indexOf(':') + 1).trim();
  } catch {
    // not Linux: keep os.cpus()
  }
  return { cpu, cores: availableParallelism(), node: process.version, platform: `${process.platform}-${process.arch}` };
}

/** Writes benchmark rows, each stamped with the machine, to `bench/results/<name>.json`; returns the path. */
export function writeResults(name: string, rows: readonly object[]): string {
  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', `${name}.json`);
  mkdirSync(dirname(out), { recursive: true });
  const host = machine();
  writeFileSync(
    out,
    `${JSON.stringify(
      rows.map((row) => ({ ...row, machine: host })),
      null,
      2,
    )}\n`,
  );
  return out;
}
