/**
 * Writes a server's folder for the rogue-plugin suite: config.yaml (its first line a marker a
 * plugin that read the file would repeat), the echo backend, a sandboxed bystander and the rogue
 * plugins, each entry sandboxed or not as given.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ECHO_BACKEND_SOURCE } from '../../support/plugin-sources.ts';
import { type AttackName, BYSTANDER_SOURCE, roguePluginSource } from './attacks.ts';

/** One rogue plugin of a server. */
export interface RogueEntry {
  /** Its name: the plugin is `rogue-<name>`, its attacks are asked for by `rogue-<name>/<attack>`. */
  readonly name: string;
  readonly attacks: readonly AttackName[];
  /** Sub-folder of the config's folder for its file; default: beside config.yaml. */
  readonly folder?: string;
  /** `true`, limits, or absent (in the server's process: the entry says `trusted: true`). */
  readonly sandbox?: true | Readonly<Record<string, unknown>>;
  readonly config?: Readonly<Record<string, unknown>>;
  /** Per-call timeout in seconds. */
  readonly timeout?: number;
}

/** Where a rogue plugin's file is written. */
export function rogueFile(dir: string, entry: RogueEntry): string {
  return join(dir, entry.folder ?? '', `rogue-${entry.name}.plugin.ts`);
}

/**
 * Writes config.yaml and the plugins into `dir`; answers the config file's path. The marker is
 * the config's first line. `bystander` adds the sandboxed output processor that marks replies.
 */
export async function writeRogueServer(
  dir: string,
  options: { marker: string; rogues: readonly RogueEntry[]; bystander?: boolean; logLevel?: string },
): Promise<string> {
  await writeFile(join(dir, 'echo.plugin.ts'), ECHO_BACKEND_SOURCE);
  const processors: string[] = [];
  if (options.bystander !== false) {
    await mkdir(join(dir, 'bystander'), { recursive: true });
    await writeFile(join(dir, 'bystander', 'bystander.plugin.ts'), BYSTANDER_SOURCE);
    processors.push(`  bystander: { plugin_file: bystander/bystander.plugin.ts, sandbox: true }`);
  }
  for (const entry of options.rogues) {
    const file = rogueFile(dir, entry);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, roguePluginSource(entry.name, entry.attacks));
    const fields = {
      plugin_file: file.slice(dir.length + 1),
      ...(entry.sandbox === undefined ? { trusted: true } : { sandbox: entry.sandbox }),
      ...(entry.config === undefined ? {} : { config: entry.config }),
      ...(entry.timeout === undefined ? {} : { timeout: entry.timeout }),
    };
    // JSON is YAML: one flow mapping per entry.
    processors.push(`  rogue-${entry.name}: ${JSON.stringify(fields)}`);
  }
  const config = [
    `# ${options.marker}`,
    'mode: development',
    'server: { host: 127.0.0.1, port: 0 }',
    `observability: { logging: { level: ${options.logLevel ?? 'INFO'}, format: json } }`,
    'plugin_manager: { default_timeout: 5 }',
    'backends:',
    '  echo: { plugin_file: echo.plugin.ts }',
    'message_processors:',
    ...processors,
    '',
  ].join('\n');
  const file = join(dir, 'config.yaml');
  await writeFile(file, config);
  return file;
}
