import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { isPlugboardError } from '../core/errors/plugboard-error.ts';
import { listModelFiles } from '../model-files/list-model-files.ts';
import { PULL_CANCELLED } from '../model-files/model-file-errors.ts';
import { type ModelSource, parseModelSource, shownSource } from '../model-files/model-source.ts';
import { type PullProgress, type PullResult, pullModelFile } from '../model-files/pull-model-file.ts';
import type { CommandIo } from './config-commands.ts';

/** Where `plugboard models` writes, and what it reads. */
export interface ModelsCommandIo extends CommandIo {
  /** The stream the progress bar is drawn on (default process.stderr); drawn only when it is a TTY. */
  readonly progress?: NodeJS.WritableStream & { isTTY?: boolean };
  /** Environment (default process.env): PLUGBOARD_MODELS_DIR, HF_ENDPOINT. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export const MODELS_USAGE = `Usage: plugboard models pull <source> [--dir <folder>]
       plugboard models list [--dir <folder>]

pull downloads a GGUF model file into the models folder: as <file>.part, resumed by the next
pull of the same source when it stops (Ctrl-C, a dropped connection), checked (the SHA-256
Hugging Face gives, the size, a GGUF header), and only then renamed to <file>. A file already
in the folder is not downloaded again. list shows the folder's GGUF files and unfinished parts.

Sources:
  hf:owner/repo/file.gguf          a file of a Hugging Face repository (branch main)
  hf:owner/repo:branch/file.gguf   the same on another branch, tag or commit
  https://huggingface.co/owner/repo/blob/main/file.gguf   (or …/resolve/…)
  https://example.com/model.gguf   any http(s) URL of a .gguf file

  --dir D   the models folder (default: $PLUGBOARD_MODELS_DIR, else ./models)

HF_ENDPOINT sets the Hub's address (a mirror), as it does for llama.cpp.
Exit codes: 0 done (or already there), 1 failed, 2 wrong usage, 130 stopped with Ctrl-C.`;

/**
 * `plugboard models pull <source> [--dir D]` and `plugboard models list [--dir D]`. Returns the
 * exit code. A pull draws a progress bar on a terminal; Ctrl-C stops it, keeping the part file.
 *
 * @example
 * ```ts
 * await modelsCommand(['pull', 'hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf'], io);
 * ```
 */
export async function modelsCommand(argv: readonly string[], io: ModelsCommandIo): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return usage(io, (error as Error).message);
  }
  if (parsed.values.help) {
    io.out(MODELS_USAGE);
    return 0;
  }
  const env = io.env ?? process.env;
  const dir = parsed.values.dir ?? nonEmpty(env.PLUGBOARD_MODELS_DIR) ?? 'models';
  const [action, ...rest] = parsed.positionals;
  if (action === 'list' && rest.length === 0) return list(dir, io);
  if (action === 'pull' && rest.length === 1) return pull(rest[0] ?? '', dir, env, io);
  if (action === 'pull') return usage(io, rest.length === 0 ? 'Name the model to pull.' : 'Pull one model at a time.');
  return usage(io, action === undefined ? 'Name a models command: pull or list.' : `Unknown models command: ${action}`);
}

async function pull(
  text: string,
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  io: ModelsCommandIo,
): Promise<number> {
  let source: ModelSource;
  try {
    source = parseModelSource(text, { env });
  } catch (error) {
    return usage(io, (error as Error).message);
  }
  io.err(`Pulling ${shownSource(source.url)}\n   into ${shown(dir, source.file)}`);
  const controller = new AbortController();
  const onInterrupt = (): void => controller.abort();
  process.once('SIGINT', onInterrupt);
  const display = new ProgressDisplay(source.file, io);
  let result: PullResult;
  try {
    result = await pullModelFile({
      source,
      dir,
      env,
      signal: controller.signal,
      onProgress: (progress) => display.update(progress),
    });
  } catch (error) {
    display.stop();
    if (isPlugboardError(error, PULL_CANCELLED)) {
      io.err(`Stopped. ${shown(dir, `${source.file}.part`)} keeps what arrived; run the same command again to resume.`);
      return 130;
    }
    if (!isPlugboardError(error)) throw error;
    io.err(`${error.code}: ${error.message}\n${error.hint}`);
    return 1;
  } finally {
    process.off('SIGINT', onInterrupt);
  }
  display.stop();
  if (result.outcome === 'already-present') {
    io.out(
      `${shown(dir, result.file)} is already there (${formatBytes(result.bytes)}): nothing downloaded. Delete it to download it again.`,
    );
    return 0;
  }
  const check =
    result.verified === 'sha256'
      ? 'SHA-256 verified'
      : result.verified === 'size'
        ? 'size verified (the server gave no checksum)'
        : 'no size or checksum given to verify';
  io.out(`Downloaded ${shown(dir, result.file)} (${formatBytes(result.bytes)}; ${check}; GGUF header checked).`);
  return 0;
}

async function list(dir: string, io: ModelsCommandIo): Promise<number> {
  let entries: Awaited<ReturnType<typeof listModelFiles>>;
  try {
    entries = await listModelFiles(dir);
  } catch (error) {
    io.err(`Cannot read ${dir}: ${(error as Error).message}`);
    return 1;
  }
  if (entries.length === 0) {
    io.out(`No GGUF files in ${dir}. Download one: plugboard models pull hf:owner/repo/file.gguf`);
    return 0;
  }
  const width = Math.max(...entries.map((entry) => entry.file.length));
  for (const entry of entries) {
    const note = entry.partial ? '  unfinished: pulling it again resumes' : '';
    io.out(
      `${entry.file.padEnd(width)}  ${formatBytes(entry.bytes).padStart(10)}  ${entry.modifiedAt.toISOString().slice(0, 16).replace('T', ' ')}${note}`,
    );
  }
  return 0;
}

/** A progress bar on a terminal; elsewhere (a log, a pipe) a line per tenth of the file. */
class ProgressDisplay {
  readonly #bar: SingleBar | undefined;
  readonly #io: ModelsCommandIo;
  #started = false;
  #lastTenth = -1;

  constructor(file: string, io: ModelsCommandIo) {
    this.#io = io;
    const stream = io.progress ?? process.stderr;
    this.#bar = stream.isTTY
      ? new SingleBar({
          stream,
          format: `${file} [{bar}] {percentage}% | {done} of {size} | {speed}`,
          hideCursor: true,
          clearOnComplete: false,
          fps: 5,
        })
      : undefined;
  }

  update(progress: PullProgress): void {
    const payload = {
      done: formatBytes(progress.received),
      size: progress.total === undefined ? '?' : formatBytes(progress.total),
      speed: `${formatBytes(progress.bytesPerSecond)}/s`,
    };
    if (!this.#started) {
      this.#started = true;
      if (progress.resumedFrom > 0) this.#io.err(`Resuming from ${formatBytes(progress.resumedFrom)}.`);
      this.#bar?.start(progress.total ?? 0, progress.received, payload);
      return;
    }
    if (this.#bar !== undefined) {
      if (progress.total !== undefined) this.#bar.setTotal(progress.total);
      this.#bar.update(progress.received, payload);
      return;
    }
    if (progress.total === undefined || progress.total === 0) return;
    const tenth = Math.floor((progress.received * 10) / progress.total);
    if (tenth > this.#lastTenth) {
      this.#lastTenth = tenth;
      this.#io.err(`${tenth * 10}% (${payload.done} of ${payload.size}, ${payload.speed})`);
    }
  }

  stop(): void {
    this.#bar?.stop();
  }
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      dir: { type: 'string', short: 'd' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

function usage(io: ModelsCommandIo, problem: string): number {
  io.err(`${problem}\n\n${MODELS_USAGE}`);
  return 2;
}

/** `models/x.gguf` as the user sees it: relative when inside the working directory. */
function shown(dir: string, file: string): string {
  const path = relative(process.cwd(), join(dir, file));
  return path.startsWith('..') ? join(dir, file) : path;
}

/** 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
