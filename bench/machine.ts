import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

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
