/**
 * docs/PLUGINS.md stays true: every TypeScript and YAML sample in it is written to disk (inside
 * the package, so `import … from 'plugboard'` resolves as it does for a plugin in `plugins/`),
 * type-checked with the project's compiler settings, and run: the sample tests must pass, and
 * the sample configuration must load its plugin with the config it gives.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { ConfigRuntime } from '../../src/config/config-runtime.ts';
import { createSilentLogger } from '../../src/index.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const GUIDE = join(ROOT, 'docs', 'PLUGINS.md');
/** Inside the package (gitignored): the samples import 'plugboard' by its name, as plugins do. */
const OUT = join(ROOT, '.cache', 'plugins-guide');

interface Sample {
  readonly language: 'ts' | 'yaml';
  readonly file: string;
  readonly text: string;
}

/** Every fenced ts/yaml block, named by its first line (`// guide/x.ts` or `# guide/x.yaml`). */
function samplesOf(markdown: string): Sample[] {
  const samples: Sample[] = [];
  for (const match of markdown.matchAll(/```(ts|yaml)\n([\s\S]*?)```/g)) {
    const language = match[1] as 'ts' | 'yaml';
    const text = match[2]!;
    const name = /^(?:\/\/|#) (guide\/[\w.-]+)\n/.exec(text)?.[1];
    assert.ok(name, `every ${language} sample names its file on its first line:\n${text.slice(0, 120)}`);
    samples.push({ language, file: name.slice('guide/'.length), text });
  }
  return samples;
}

let samples: Sample[] = [];

before(async () => {
  samples = samplesOf(await readFile(GUIDE, 'utf8'));
  await rm(OUT, { recursive: true, force: true });
  await mkdir(OUT, { recursive: true });
  for (const sample of samples) await writeFile(join(OUT, sample.file), sample.text);
});
after(() => rm(OUT, { recursive: true, force: true }));

describe('docs/PLUGINS.md', () => {
  test('has samples of every part the guide promises', () => {
    const files = samples.map((sample) => sample.file);
    for (const expected of ['banned-words.plugin.ts', 'banned-words.test.ts', 'config.yaml', 'services.test.ts']) {
      assert.ok(files.includes(expected), expected);
    }
  });

  test('every TypeScript sample type-checks with the project’s settings', () => {
    const config = ts.readConfigFile(join(ROOT, 'tsconfig.json'), ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, ROOT);
    const files = samples.filter((sample) => sample.language === 'ts').map((sample) => join(OUT, sample.file));
    const program = ts.createProgram(files, parsed.options);
    const problems = ts
      .getPreEmitDiagnostics(program)
      .filter((diagnostic) => diagnostic.file === undefined || diagnostic.file.fileName.startsWith(OUT))
      .map((diagnostic) => {
        const where = diagnostic.file
          ? `${diagnostic.file.fileName.slice(OUT.length + 1)}:${diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line + 1}`
          : '';
        return `${where} ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`;
      });
    assert.deepEqual(problems, []);
  });

  test('every sample test passes', () => {
    const tests = samples.filter((sample) => sample.file.endsWith('.test.ts')).map((sample) => join(OUT, sample.file));
    assert.ok(tests.length >= 2);
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', ...tests], {
      cwd: ROOT,
      encoding: 'utf8',
      // Not a subtest of this run: a report of its own.
      env: { ...process.env, NODE_TEST_CONTEXT: undefined },
      timeout: 120_000,
    });
    assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
    const passed = Number(/^# pass (\d+)$/m.exec(run.stdout)?.[1]);
    assert.ok(passed >= 3, `${passed} tests passed`);
    assert.match(run.stdout, /^# fail 0$/m);
  });

  test('the sample configuration loads the sample plugin with the config it gives', async () => {
    const runtime = await ConfigRuntime.start({
      file: join(OUT, 'config.yaml'),
      env: {},
      logger: createSilentLogger(),
    });
    try {
      const status = runtime.manager.getPluginStatus().plugins['banned-words'];
      assert.equal(status?.state, 'ACTIVE', JSON.stringify(status?.lastError));
      assert.equal(status?.priority, 'HIGH');
      assert.equal(status?.source, join(OUT, 'banned-words.plugin.ts'));
    } finally {
      await runtime.close();
    }
  });
});
