// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax being loaded
/**
 * Configuration benchmark: what loading the configuration and reloading it cost.
 *
 * - `config_load_50_plugins`: `loadConfig()` of a file with 50 plugin entries (spread over the
 *   four plugin sections, with priorities, timeouts, `${VAR}` references and a few config keys
 *   each): reading the file, YAML parsing, environment substitution, validation of every section
 *   and entry, plugin_file path checks. No plugin module is imported. Target ≤ 5 ms p50 (spec:
 *   < 100 ms).
 * - `config_parse_50_plugins`: the same without reading the file (`parseConfig()` on the text).
 * - `reload_apply`: `ConfigRuntime.reload()` on a running runtime with 10 plugins, where the
 *   file changes one plugin's priority: read + validate + diff + one transaction
 *   (`applyChanges`) + a new snapshot + the configReloaded hook.
 * - `reload_apply_config_change`: the same where one plugin's `config` changes, so that plugin
 *   is re-imported (jiti) and a new instance initialized, the old one drained and shut down.
 *
 * Writes bench/results/config.json and prints a table. See docs/PERFORMANCE.md.
 *
 * Usage: npm run bench:config                 (~15 s)
 *        BENCH_QUICK=1 npm run bench:config   (a few seconds, for smoke tests)
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ConfigRuntime } from '../src/config/config-runtime.ts';
import { loadConfig, parseConfig } from '../src/config/load-config.ts';
import { createSilentLogger, PRIORITIES } from '../src/index.ts';
import { machine, writeResults } from './report.ts';

const QUICK = process.env.BENCH_QUICK === '1';
const SRC = fileURLToPath(new URL('../src/index.ts', import.meta.url));
const SECTIONS = ['backends', 'message_processors', 'features', 'middleware'] as const;

// ——— statistics ———

interface Stats {
  readonly p50: number;
  readonly p99: number;
  readonly mean: number;
  readonly samples: number;
}

function stats(samples: number[]): Stats {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    p50: at(0.5),
    p99: at(0.99),
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    samples: sorted.length,
  };
}

async function measure(iterations: number, warmUp: number, once: (index: number) => Promise<unknown> | unknown) {
  for (let index = 0; index < warmUp; index++) await once(index);
  const samples: number[] = [];
  for (let index = 0; index < iterations; index++) {
    const start = performance.now();
    await once(warmUp + index);
    samples.push(performance.now() - start);
  }
  return stats(samples);
}

// ——— config_load_50_plugins ———

/**
 * A 50-plugin configuration whose entries have the shape of the spec's examples (§8.1 entry
 * keys, a §8.2-style `config` with `${VAR}` references): about 8 lines per plugin, every
 * section used, every global section given.
 */
function fiftyPluginConfig(): string {
  const sections: Record<string, Record<string, unknown>> = {
    backends: {},
    message_processors: {},
    features: {},
    middleware: {},
  };
  for (let index = 0; index < 50; index++) {
    const section = SECTIONS[index % SECTIONS.length]!;
    sections[section]![`plugin-${index}`] = {
      enabled: index % 7 !== 0,
      plugin_file: `plugins/plugin-${index}.plugin.ts`,
      priority: PRIORITIES[index % 4],
      ...(index % 5 === 0 ? { timeout: 15, failure_policy: 'closed' } : {}),
      config: {
        api_key: '${BENCH_API_KEY:none}',
        model: `\${BENCH_MODEL_${index}:model-${index}}`,
        timeout: '${PLUGIN_TIMEOUT:60}',
      },
    };
  }
  return stringify({
    mode: 'production',
    strict: false,
    plugin_manager: {
      enable_hot_reload: false,
      enable_circuit_breaker: true,
      max_concurrent_plugins: 10,
      default_timeout: '${PLUGBOARD_TIMEOUT:30}',
      plugin_directories: ['plugins'],
      default_backend: 'plugin-0',
    },
    hooks: {
      default_timeout: 30,
      max_concurrent_hooks: 10,
      circuit_breaker: { failure_threshold: 5, timeout_seconds: 60 },
    },
    observability: { metrics: { enabled: true }, logging: { level: 'INFO', format: 'json' } },
    security: { plugin_sandboxing: { enabled: false, max_memory_mb: 512, max_cpu_percent: 50 } },
    ...sections,
  });
}

// ——— reload_apply ———

function processorSource(name: string): string {
  return `
import { defineMessageProcessor, withContent } from ${JSON.stringify(SRC)};
export default () => {
  let tag = '';
  return defineMessageProcessor({
    metadata: { name: '${name}', version: '1.0.0' },
    direction: 'input',
    initialize(config) { tag = String(config.config.tag ?? ''); },
    processMessage: (message) => withContent(message, message.content + tag),
  });
};
`;
}

function tenPluginConfig(priorityOf: (index: number) => string, tagOf: (index: number) => string): string {
  const processors: Record<string, unknown> = {};
  for (let index = 0; index < 9; index++) {
    processors[`p${index}`] = {
      plugin_file: `p${index}.plugin.ts`,
      priority: priorityOf(index),
      config: { tag: tagOf(index) },
    };
  }
  return stringify({
    mode: 'staging',
    plugin_manager: { enable_hot_reload: false },
    backends: { echo: { plugin_file: 'echo.plugin.ts' } },
    message_processors: processors,
  });
}

async function reloadBench(dir: string, iterations: number, kind: 'priority' | 'config'): Promise<Stats> {
  const file = join(dir, 'config.yaml');
  writeFileSync(
    join(dir, 'echo.plugin.ts'),
    `import { createMessage, defineBackend, lastUserMessage } from ${JSON.stringify(SRC)};
export default defineBackend({
  metadata: { name: 'echo', version: '1.0.0' },
  chat: (context) => ({ message: createMessage({ role: 'assistant', content: lastUserMessage(context)?.content ?? '' }) }),
  listModels: () => [{ id: 'echo' }],
});`,
  );
  for (let index = 0; index < 9; index++) writeFileSync(join(dir, `p${index}.plugin.ts`), processorSource(`p${index}`));
  writeFileSync(
    file,
    tenPluginConfig(
      () => 'NORMAL',
      () => 't0',
    ),
  );
  const runtime = await ConfigRuntime.start({ file, env: {}, logger: createSilentLogger() });
  try {
    let round = 0;
    const priorities = Array.from({ length: 9 }, () => 'NORMAL');
    const tags = Array.from({ length: 9 }, () => 't0');
    return await measureReload(iterations, async () => {
      // Change one plugin, a different one each time: its priority, or its config.
      round++;
      const target = round % 9;
      if (kind === 'priority') priorities[target] = priorities[target] === 'NORMAL' ? 'HIGH' : 'NORMAL';
      else tags[target] = `t${round}`;
      writeFileSync(
        file,
        tenPluginConfig(
          (index) => priorities[index]!,
          (index) => tags[index]!,
        ),
      );
    });

    async function measureReload(count: number, prepare: () => Promise<void>): Promise<Stats> {
      const warmUp = Math.min(20, count);
      const samples: number[] = [];
      for (let index = 0; index < warmUp + count; index++) {
        await prepare();
        const start = performance.now();
        const report = await runtime.reload();
        const elapsed = performance.now() - start;
        if (report.applied.length !== 1 || report.refused.length > 0) {
          throw new Error(
            `reload applied ${JSON.stringify(report.applied)}, refused ${JSON.stringify(report.refused)}`,
          );
        }
        if (index >= warmUp) samples.push(elapsed);
      }
      return stats(samples);
    }
  } finally {
    await runtime.close();
  }
}

// ——— main ———

const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

const work = mkdtempSync(join(tmpdir(), 'plugboard-bench-config-'));
try {
  const loadDir = join(work, 'load');
  mkdirSync(join(loadDir, 'plugins'), { recursive: true });
  for (let index = 0; index < 50; index++) writeFileSync(join(loadDir, `plugins/plugin-${index}.plugin.ts`), '');
  const configFile = join(loadDir, 'config.yaml');
  const text = fiftyPluginConfig();
  writeFileSync(configFile, text);
  const env = { PLUGIN_TIMEOUT: '20' };
  const check = await loadConfig({ file: configFile, env });
  if (check.issues.length > 0 || check.config.plugins.length !== 50) {
    throw new Error(
      `the benchmark config is not clean: ${check.issues.length} issues, ${check.config.plugins.length} plugins`,
    );
  }

  const loadIterations = QUICK ? 200 : 2000;
  const load = await measure(loadIterations, QUICK ? 20 : 200, () => loadConfig({ file: configFile, env }));
  const parse = await measure(loadIterations, QUICK ? 20 : 200, () => parseConfig(text, configFile, { env }));

  const reloadDir = join(work, 'reload');
  mkdirSync(reloadDir);
  const priority = await reloadBench(reloadDir, QUICK ? 30 : 300, 'priority');
  const configChange = await reloadBench(reloadDir, QUICK ? 20 : 150, 'config');

  const host = machine();
  const rows = [
    {
      name: 'config_load_50_plugins',
      p50_ms: round(load.p50),
      p99_ms: round(load.p99),
      mean_ms: round(load.mean),
      samples: load.samples,
      target_p50_ms: 5,
      plugins: 50,
      file_lines: text.split('\n').length,
      method:
        'loadConfig({ file, env }) of a 50-plugin file: read, YAML parse, env substitution, validation; no module imported',
    },
    {
      name: 'config_parse_50_plugins',
      p50_ms: round(parse.p50),
      p99_ms: round(parse.p99),
      mean_ms: round(parse.mean),
      samples: parse.samples,
      plugins: 50,
      file_lines: text.split('\n').length,
      method: 'parseConfig(text, file, { env }): config_load_50_plugins without reading the file',
    },
    {
      name: 'reload_apply',
      p50_ms: round(priority.p50),
      p99_ms: round(priority.p99),
      mean_ms: round(priority.mean),
      samples: priority.samples,
      plugins: 10,
      method:
        'ConfigRuntime.reload() with 10 plugins (1 backend, 9 processors), one plugin priority changed, no traffic',
    },
    {
      name: 'reload_apply_config_change',
      p50_ms: round(configChange.p50),
      p99_ms: round(configChange.p99),
      mean_ms: round(configChange.mean),
      samples: configChange.samples,
      plugins: 10,
      method:
        'ConfigRuntime.reload() with 10 plugins, one plugin config changed: re-import (jiti), initialize, drain, shutdown of the old instance',
    },
  ];
  const out = writeResults('config', rows);

  console.table(
    rows.map((row) => ({
      name: row.name,
      'p50 ms': row.p50_ms,
      'p99 ms': row.p99_ms,
      'mean ms': row.mean_ms,
      samples: row.samples,
    })),
  );
  const met = load.p50 <= 5;
  console.log(
    `config_load_50_plugins p50 ${round(load.p50)} ms: target ≤ 5 ms ${met ? 'met' : 'MISSED'} (${host.cpu}, ${host.cores} cores, Node ${host.node})`,
  );
  console.log(`wrote ${out}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
