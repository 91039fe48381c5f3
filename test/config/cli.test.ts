// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${VAR}` in plain strings is the configuration syntax under test
/**
 * The CLI (`plugboard config check` / `plugboard config print`): exit codes 0 (valid), 1
 * (invalid, every problem listed with file:line:col), 2 (wrong usage); `--strict` also fails
 * on warnings; `config print` shows the effective configuration with secrets redacted. Tested
 * through `main()` with captured output, and once through the real `bin/plugboard.mjs`.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { main } from '../../src/cli/main.ts';

const SRC = fileURLToPath(new URL('../../src/index.ts', import.meta.url));
const ZOD = fileURLToPath(import.meta.resolve('zod'));
const BIN = fileURLToPath(new URL('../../bin/plugboard.mjs', import.meta.url));

/** Runs the CLI in-process and captures what it prints. */
async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

let dir: string;
const file = (name: string) => join(dir, name);

const VALID = [
  'mode: staging',
  'plugin_manager:',
  '  enable_hot_reload: false',
  'backends:',
  '  echo:',
  '    plugin_file: plugins/echo.plugin.ts',
  'message_processors:',
  '  tagger:',
  '    plugin_file: plugins/tagger.plugin.ts',
  '    priority: HIGH',
  '    config:',
  '      tag: hello',
  '',
].join('\n');

/** Five problems, each on a known line: three found by validation, two by importing the plugins. */
const INVALID = [
  'mode: staging', // 1
  'plugin_manager:', // 2
  '  enable_hot_relaod: true', // 3: unknown key
  'backends:', // 4
  '  echo:', // 5
  '    plugin_file: plugins/echo.plugin.ts', // 6
  'message_processors:', // 7
  '  tagger:', // 8
  '    plugin_file: plugins/tagger.plugin.ts', // 9
  '    priority: URGENT', // 10: bad priority (rejects the entry)
  '  tagger2:', // 11
  '    plugin_file: plugins/tagger2.plugin.ts', // 12
  '    config:', // 13
  '      tag: 42', // 14: fails the plugin's own schema
  '  ghost:', // 15
  '    plugin_file: plugins/ghost.plugin.ts', // 16: no such file
  'features:', // 17
  '  echo2:', // 18
  '    plugin_file: plugins/echo2.plugin.ts', // 19: a backend in the features section
  '',
].join('\n');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'plugboard-cli-'));
  await mkdir(join(dir, 'plugins'));
  await mkdir(join(dir, 'empty'));
  const tagger = (name: string) => `
import { z } from ${JSON.stringify(ZOD)};
import { defineMessageProcessor, withContent } from ${JSON.stringify(SRC)};
export default defineMessageProcessor({
  metadata: { name: '${name}', version: '1.0.0', configSchema: z.strictObject({ tag: z.string().default('-') }) },
  processMessage: (message) => withContent(message, message.content),
});`;
  const backend = (name: string) => `
import { createMessage, defineBackend } from ${JSON.stringify(SRC)};
export default defineBackend({
  metadata: { name: '${name}', version: '1.0.0' },
  chat: () => ({ message: createMessage({ role: 'assistant', content: 'hi' }) }),
  listModels: () => [{ id: '${name}' }],
});`;
  await Promise.all([
    writeFile(file('plugins/echo.plugin.ts'), backend('echo')),
    writeFile(file('plugins/echo2.plugin.ts'), backend('echo2')),
    writeFile(file('plugins/tagger.plugin.ts'), tagger('tagger')),
    writeFile(file('plugins/tagger2.plugin.ts'), tagger('tagger2')),
    writeFile(file('valid.yaml'), VALID),
    writeFile(file('invalid.yaml'), INVALID),
    writeFile(file('lenient.yaml'), VALID.replace('mode: staging', 'mode: staging\nstrict: false')),
  ]);
});
after(() => rm(dir, { recursive: true, force: true }));

describe('plugboard config check', () => {
  test('a valid file: exit 0, one line saying so', async () => {
    const { code, out, err } = await run('config', 'check', file('valid.yaml'));
    assert.equal(code, 0);
    assert.deepEqual(err, []);
    assert.deepEqual(out, [`${file('valid.yaml')}: valid (2 plugins, mode staging)`]);
  });

  test('an invalid file: exit 1, every error listed with its file:line:col, then the count', async () => {
    const { code, out, err } = await run('config', 'check', file('invalid.yaml'));
    assert.equal(code, 1);
    assert.deepEqual(out, []);
    const f = file('invalid.yaml');
    const expected = [
      `${f}:3:3: plugin_manager.enable_hot_relaod: unknown key (did you mean "enable_hot_reload"?)`,
      `${f}:10:15: message_processors.tagger.priority: expected one of`,
      `${f}:14:12: message_processors.tagger2.config.tag:`,
      `${join(dir, 'plugins/ghost.plugin.ts')}: could not import the module`,
      'features.echo2: the plugin is a backend-provider, not a feature-extension',
    ];
    for (const start of expected) {
      assert.ok(
        err.some((line) => line.includes(start)),
        `missing ${JSON.stringify(start)} in:\n${err.join('\n')}`,
      );
    }
    // Validation issues are listed one per line; a plugin's own schema issues come under its name.
    assert.ok(err.some((line) => line.startsWith('Plugin "tagger2" has invalid config:')));
    assert.equal(err.at(-1), `${f}: 5 errors`);
  });

  test('--strict fails on warnings too (here: no file, running on built-in defaults)', async () => {
    // In-process: main() looks in the working directory; run it from an empty folder.
    const cwd = process.cwd();
    const saved = process.env.PLUGBOARD_CONFIG;
    delete process.env.PLUGBOARD_CONFIG;
    process.chdir(join(dir, 'empty'));
    try {
      const lenient = await run('config', 'check');
      assert.equal(lenient.code, 0);
      assert.match(lenient.err.join('\n'), /warning: no configuration file found; running on built-in defaults/);
      assert.match(lenient.out.join('\n'), /built-in defaults: valid \(0 plugins, mode development\)/);

      const strict = await run('config', 'check', '--strict');
      assert.equal(strict.code, 1);
      assert.match(strict.err.join('\n'), /warning: no configuration file found/);
      assert.equal(strict.err.at(-1), 'built-in defaults: 1 warning, not allowed in strict mode');
      assert.deepEqual(strict.out, []);
    } finally {
      process.chdir(cwd);
      if (saved !== undefined) process.env.PLUGBOARD_CONFIG = saved;
    }
  });

  test('--strict on a valid file: still 0, and the file is checked as strict even when it says otherwise', async () => {
    const strict = await run('config', 'check', '--strict', file('lenient.yaml'));
    assert.equal(strict.code, 0);
    assert.deepEqual(strict.out, [`${file('lenient.yaml')}: valid (2 plugins, mode staging, strict)`]);
    const plain = await run('config', 'check', file('lenient.yaml'));
    assert.deepEqual(plain.out, [`${file('lenient.yaml')}: valid (2 plugins, mode staging)`]);
    assert.equal((await run('config', 'check', file('invalid.yaml'), '--strict')).code, 1);
  });

  test('a named file that does not exist: exit 1', async () => {
    const { code, err } = await run('config', 'check', file('nope.yaml'));
    assert.equal(code, 1);
    assert.match(err.join('\n'), /nope\.yaml: cannot read the configuration file: ENOENT/);
  });
});

describe('plugboard config print', () => {
  test('prints the effective configuration with secrets redacted', async () => {
    await writeFile(
      file('secrets.yaml'),
      [
        'mode: staging',
        'backends:',
        '  echo:',
        '    plugin_file: plugins/echo.plugin.ts',
        '    config:',
        '      model: llama3',
        '      api_key: sk-live-0123456789',
        '      token: ${CLI_TEST_TOKEN}',
        '      auth:',
        '        password: hunter2',
        '        db_password: "${CLI_TEST_DB:swordfish}"',
        '        username: admin',
        '      empty_token: ""',
        'connections:',
        '  redis:',
        '    cache: { url: "redis://:redis-secret-42@127.0.0.1:6379/0" }',
        '',
      ].join('\n'),
    );
    process.env.CLI_TEST_TOKEN = 'tok-from-env-987';
    try {
      const { code, out, err } = await run('config', 'print', file('secrets.yaml'));
      assert.equal(code, 0);
      assert.deepEqual(err, []);
      const text = out.join('\n');
      for (const secret of ['sk-live-0123456789', 'tok-from-env-987', 'hunter2', 'swordfish', 'redis-secret-42']) {
        assert.ok(!text.includes(secret), `${secret} must not be printed`);
      }
      const printed = parse(text) as {
        plugin_manager: { default_timeout: number; enable_hot_reload: boolean };
        observability: { logging: { level: string } };
        backends: { echo: { plugin_file: string; enabled: boolean; config: Record<string, unknown> } };
      };
      const config = printed.backends.echo.config;
      assert.equal(config.api_key, '[redacted]');
      assert.equal(config.token, '[redacted]');
      // `auth` names a secret itself: the whole value is hidden.
      assert.equal(config.auth, '[redacted]');
      assert.equal(config.model, 'llama3', 'what is not a secret is shown');
      assert.equal(config.empty_token, '', 'an empty value gives nothing away');
      // Effective: defaults and the mode's presets filled in.
      assert.equal(printed.plugin_manager.default_timeout, 30);
      assert.equal(printed.plugin_manager.enable_hot_reload, false);
      assert.equal(printed.observability.logging.level, 'DEBUG');
      assert.equal(printed.backends.echo.enabled, true);
      assert.equal(printed.backends.echo.plugin_file, 'plugins/echo.plugin.ts');
      assert.ok(!text.includes('resolvedPath'));
      assert.ok(!text.includes('origin'), 'only keys the file accepts are printed');
      assert.match(text, /redis:\/\/:\*\*\*@127\.0\.0\.1:6379\/0/, 'a URL keeps all but its password');
    } finally {
      delete process.env.CLI_TEST_TOKEN;
    }
  });

  test('a fatally invalid file: the issues on stderr, exit 1', async () => {
    await writeFile(file('fatal.yaml'), 'strict: true\nplugin_manager:\n  default_timeout: soon\n');
    const { code, err } = await run('config', 'print', file('fatal.yaml'));
    assert.equal(code, 1);
    assert.match(err.join('\n'), /fatal\.yaml:3:20: plugin_manager\.default_timeout: expected number/);
  });
});

describe('plugboard errors', () => {
  test("lists the core's, the server's and the configured plugins' codes, as Markdown or JSON", async () => {
    await mkdir(file('plugins'), { recursive: true });
    await writeFile(
      file('plugins/quota.plugin.ts'),
      [
        `import { defineErrors, defineMiddleware } from ${JSON.stringify(SRC)};`,
        "const errors = defineErrors('quota', { EXCEEDED: { summary: 'Out of quota', hint: 'Wait | retry.', status: 429 } });",
        "export default defineMiddleware({ metadata: { name: 'quota', version: '1.0.0', errors }, processRequest: (c) => c });",
      ].join('\n'),
    );
    await writeFile(
      file('errors.yaml'),
      'mode: staging\nmiddleware:\n  quota:\n    plugin_file: plugins/quota.plugin.ts\n',
    );
    const markdown = await run('errors', file('errors.yaml'));
    assert.equal(markdown.code, 0, markdown.err.join('\n'));
    assert.equal(markdown.out[0], '| code | status | source | what went wrong | what to do |');
    assert.ok(markdown.out.includes('| `quota/EXCEEDED` | 429 | quota | Out of quota | Wait \\| retry. |'));
    assert.ok(markdown.out.some((line) => line.startsWith('| `ROUTE_NOT_FOUND` | 404 | server |')));
    assert.ok(markdown.out.some((line) => line.startsWith('| `PLUGIN_TIMEOUT` | 504 | core |')));
    const json = await run('errors', file('errors.yaml'), '--json');
    const { errors } = JSON.parse(json.out.join('\n')) as { errors: { code: string; source: string }[] };
    assert.equal(errors.find((entry) => entry.code === 'CONNECTION_UNKNOWN')?.source, 'connections');
    assert.ok(errors.some((entry) => entry.code === 'quota/EXCEEDED'));
  });
});

describe('usage', () => {
  test('unknown commands and wrong usage exit 2 with the usage; --help exits 0', async () => {
    for (const argv of [
      ['frobnicate'],
      ['config'],
      ['config', 'validate', file('valid.yaml')],
      ['config', 'check', file('valid.yaml'), 'extra'],
      ['config', 'check', '--bogus'],
      [],
    ]) {
      const { code, out, err } = await run(...argv);
      assert.equal(code, 2, `plugboard ${argv.join(' ')}`);
      assert.match([...out, ...err].join('\n'), /Usage: plugboard <command>/);
    }
    const help = await run('--help');
    assert.equal(help.code, 0);
    assert.match(help.out.join('\n'), /config check \[file\] \[--strict\]/);
  });
});

describe('bin/plugboard.mjs', () => {
  const exec = promisify(execFile);
  /** Runs the real executable; resolves with its exit code and output. */
  async function bin(args: string[], cwd = dir): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = { ...process.env };
    delete env.PLUGBOARD_CONFIG;
    try {
      const { stdout, stderr } = await exec(process.execPath, [BIN, ...args], { cwd, env, timeout: 30_000 });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout: string; stderr: string };
      assert.equal(typeof failed.code, 'number', `the process did not exit normally: ${String(error)}`);
      return { code: failed.code!, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  test('config check exits 0 for a valid file and 1 for an invalid one', async () => {
    const valid = await bin(['config', 'check', 'valid.yaml']);
    assert.equal(valid.code, 0, valid.stderr);
    assert.equal(valid.stdout.trim(), `${file('valid.yaml')}: valid (2 plugins, mode staging)`);

    const invalid = await bin(['config', 'check', 'invalid.yaml']);
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /invalid\.yaml:3:3: plugin_manager\.enable_hot_relaod: unknown key/);
    assert.match(invalid.stderr, /invalid\.yaml: 5 errors\n$/);

    const usage = await bin(['nonsense']);
    assert.equal(usage.code, 2);
  });
});
