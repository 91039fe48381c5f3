import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigRuntime, type ConfigRuntimeOptions } from '../../src/config/config-runtime.ts';
import { createSilentLogger, type Logger } from '../../src/index.ts';
import { type RunningPlugboard, serve } from '../../src/server/serve.ts';

/**
 * A temporary folder holding a config.yaml and plugin files, and the ConfigRuntime started
 * from it. Test files extend it with helpers that write their own plugins and configs.
 */
export class RuntimeFixture {
  runtime: ConfigRuntime | undefined;

  constructor(readonly dir: string) {}

  /** A fresh temporary folder named with `prefix`. */
  static tempDir(prefix: string): Promise<string> {
    return mkdtemp(join(tmpdir(), prefix));
  }

  get file(): string {
    return join(this.dir, 'config.yaml');
  }

  write(name: string, text: string): Promise<void> {
    return writeFile(join(this.dir, name), text);
  }

  /** Saves like many editors do: the new content goes to a temporary file renamed over the old one. */
  async atomicWrite(name: string, text: string): Promise<void> {
    const temporary = join(this.dir, `.${name}.${process.hrtime.bigint()}.tmp`);
    await writeFile(temporary, text);
    await rename(temporary, join(this.dir, name));
  }

  /** Starts a runtime on config.yaml, silent, with an empty environment. */
  async start(options: Partial<ConfigRuntimeOptions> = {}): Promise<ConfigRuntime> {
    this.runtime = await ConfigRuntime.start({ file: this.file, env: {}, logger: createSilentLogger(), ...options });
    return this.runtime;
  }

  /**
   * `serve()` on config.yaml, as `plugboard serve` runs it: on 127.0.0.1 at a free port, silent
   * (unless a logger is given), an empty environment (unless given), no signal handlers. Stop it yourself.
   */
  serve(options: { readonly logger?: Logger; readonly env?: Record<string, string> } = {}): Promise<RunningPlugboard> {
    return serve({
      configFile: this.file,
      env: options.env ?? {},
      host: '127.0.0.1',
      port: 0,
      handleSignals: false,
      logger: options.logger ?? createSilentLogger(),
    });
  }

  async dispose(): Promise<void> {
    await this.runtime?.close();
    await rm(this.dir, { recursive: true, force: true });
  }
}
