/**
 * One node-llama-cpp `Llama` (the llama.cpp binding) per GPU setting, shared by every llamacpp
 * backend in the process. llama.cpp's log callback is process-wide: with two live Llama
 * instances the second one's logger never receives anything (its lines go straight to
 * stderr), and a failed load could no longer say why. So backends share the instance, each
 * receiving its log lines, and its thread budget is the sum of theirs.
 *
 * The registry lives on `globalThis`: the plugin loader evaluates a fresh copy of the plugin's
 * modules for every load (hot reload), and they must all find the same instances.
 */
import { getLlama, type Llama, LlamaLogLevel } from 'node-llama-cpp';

/** One backend using a shared Llama. */
export interface LlamaUser {
  /** CPU threads this backend's contexts use. */
  readonly threads: number;
  /** Receives every llama.cpp log line (warnings and errors) while the backend holds the Llama. */
  readonly log: (level: LlamaLogLevel, message: string) => void;
}

/** A hold on a shared Llama; release it when done. */
export interface LlamaLease {
  readonly llama: Llama;
  release(): Promise<void>;
}

interface Entry {
  readonly llama: Promise<Llama>;
  readonly users: Set<LlamaUser>;
}

type Gpu = false | 'auto' | 'cuda' | 'vulkan' | 'metal';

const REGISTRY = Symbol.for('plugboard.llamacpp.sharedLlamas');
const registry: Map<string, Entry> =
  ((globalThis as Record<symbol, unknown>)[REGISTRY] as Map<string, Entry>) ?? new Map<string, Entry>();
(globalThis as Record<symbol, unknown>)[REGISTRY] = registry;

/**
 * The process's Llama for `gpu`, created on first use: prebuilt binaries only (never a build
 * from source, which would download llama.cpp), llama.cpp logs at warning level and up.
 * @throws node-llama-cpp's error (e.g. `NoBinaryFoundError`) when no binary fits.
 */
export async function acquireLlama(gpu: Gpu, user: LlamaUser): Promise<LlamaLease> {
  const key = String(gpu);
  let entry = registry.get(key);
  if (entry === undefined) {
    const users = new Set<LlamaUser>();
    const created: Entry = {
      users,
      llama: getLlama({
        gpu,
        build: 'never',
        skipDownload: true,
        usePrebuiltBinaries: true,
        progressLogs: false,
        maxThreads: Math.max(1, user.threads),
        logLevel: LlamaLogLevel.warn,
        logger: (level, message) => {
          for (const each of users) each.log(level, message);
        },
      }),
    };
    entry = created;
    registry.set(key, created);
    created.llama.catch(() => {
      if (registry.get(key) === created) registry.delete(key);
    });
  }
  entry.users.add(user);
  let llama: Llama;
  try {
    llama = await entry.llama;
  } catch (error) {
    entry.users.delete(user);
    throw error;
  }
  setThreadBudget(llama, entry.users);
  const held = entry;
  let released = false;
  return {
    llama,
    async release() {
      if (released) return;
      released = true;
      held.users.delete(user);
      if (held.users.size > 0) {
        setThreadBudget(llama, held.users);
        return;
      }
      if (registry.get(key) === held) registry.delete(key);
      await llama.dispose();
    },
  };
}

/** The Llama's thread budget: what its backends' contexts use together. */
function setThreadBudget(llama: Llama, users: ReadonlySet<LlamaUser>): void {
  let threads = 0;
  for (const user of users) threads += user.threads;
  llama.maxThreads = Math.max(1, threads);
}
