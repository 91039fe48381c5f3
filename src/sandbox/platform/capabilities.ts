/**
 * What this machine can enforce for a sandboxed plugin process, found out by trying: Node's
 * permission flag (from the version), network and PID namespaces (by running the wrapper with
 * `true`), and cgroup limits (by creating a test group, setting each limit and moving a
 * throw-away process into it). The answer is memoised: the probe spawns a few processes.
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createCgroupIn } from './cgroup.ts';
import { CGROUP_CONTROLLERS, type CgroupParents, describeError, locateCgroupParents } from './cgroup-layout.ts';

/** The flag that turns Node's permission model on. */
export type NodePermissionFlag = '--experimental-permission' | '--permission';

/** What {@link probeSandboxPlatform} found. */
export interface SandboxPlatform {
  readonly node: { readonly permissionFlag: NodePermissionFlag };
  readonly namespaces: {
    /** The argv prefix to put before `node …` (absolute path first); `undefined`: run node directly. */
    readonly command: readonly string[] | undefined;
    /** The command gives the process a network namespace with no interfaces but loopback (down). */
    readonly network: boolean;
    /** The command gives the process its own PID namespace (it cannot see or signal others). */
    readonly pid: boolean;
    /** Why a namespace is missing (every attempt and its error). */
    readonly reason?: string;
  };
  readonly cgroup: {
    readonly version: 1 | 2 | undefined;
    readonly memory: boolean;
    readonly cpu: boolean;
    readonly pids: boolean;
    /** Why a controller is unusable, per controller ("memory: …; cpu: …"). */
    readonly reason?: string;
    /** Where plugin groups are made, per usable controller (see `createPluginCgroup`). */
    readonly parents: CgroupParents;
  };
}

const PROBE_TIMEOUT_MS = 2_000;

/**
 * `--permission` from Node 22.13 (22.x line) and 23.5 on; `--experimental-permission` before
 * (Node 20 knows only that one; later versions still accept it, with a warning, for a while).
 */
export function permissionFlagFor(nodeVersion: string): NodePermissionFlag {
  const [major = 0, minor = 0] = nodeVersion.replace(/^v/, '').split('.').map(Number);
  const stable = major > 23 || (major === 23 && minor >= 5) || (major === 22 && minor >= 13);
  return stable ? '--permission' : '--experimental-permission';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` in the usual places, then on PATH. */
function findExecutable(name: string, usualPlaces: readonly string[]): string | undefined {
  const onPath = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return [...usualPlaces, ...onPath].map((folder) => join(folder, name)).find(isExecutable);
}

/** Runs `command true`; answers `undefined` when it exited 0, else why not. */
function tryWrapper(command: readonly string[]): Promise<string | undefined> {
  const [file = '', ...args] = command;
  return new Promise((resolve) => {
    execFile(file, [...args, 'true'], { timeout: PROBE_TIMEOUT_MS }, (error, _stdout, stderr) => {
      if (!error) return resolve(undefined);
      const message = String(stderr).trim().split('\n')[0] || describeError(error);
      resolve(`${command.join(' ')} failed: ${message}`);
    });
  });
}

interface WrapperCandidate {
  readonly command: readonly string[];
  readonly network: boolean;
  readonly pid: boolean;
}

function wrapperCandidates(): WrapperCandidate[] {
  const candidates: WrapperCandidate[] = [];
  const unshare = findExecutable('unshare', ['/usr/bin', '/bin']);
  if (unshare) {
    // --kill-child: when unshare dies (the server SIGKILLs it), its child dies too.
    const isolated = ['--net', '--pid', '--fork', '--kill-child'];
    // Without root, a user namespace (mapped to root inside) grants the right to make the others.
    const asUser = [unshare, '--user', '--map-root-user'];
    if (process.getuid?.() === 0) candidates.push({ command: [unshare, ...isolated], network: true, pid: true });
    candidates.push({ command: [...asUser, ...isolated], network: true, pid: true });
    if (process.getuid?.() === 0) candidates.push({ command: [unshare, '--net'], network: true, pid: false });
    candidates.push({ command: [...asUser, '--net'], network: true, pid: false });
  }
  const bwrap = findExecutable('bwrap', []);
  if (bwrap) {
    const isolated = ['--dev-bind', '/', '/', '--unshare-net', '--unshare-pid', '--die-with-parent', '--'];
    candidates.push({ command: [bwrap, ...isolated], network: true, pid: true });
  }
  return candidates;
}

async function probeNamespaces(): Promise<SandboxPlatform['namespaces']> {
  const candidates = wrapperCandidates();
  if (candidates.length === 0) {
    return { command: undefined, network: false, pid: false, reason: 'neither unshare nor bwrap is installed' };
  }
  const failures: string[] = [];
  for (const candidate of candidates) {
    const failure = await tryWrapper(candidate.command);
    if (failure) {
      failures.push(failure);
      continue;
    }
    const reason = candidate.pid ? undefined : failures.join('; ');
    return { ...candidate, ...(reason ? { reason } : {}) };
  }
  return { command: undefined, network: false, pid: false, reason: failures.join('; ') };
}

/** Moves a throw-away process into the group: some set-ups allow mkdir but not that. */
async function tryMovingAProcess(addProcess: (pid: number) => void): Promise<string | undefined> {
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 10000)'], { stdio: 'ignore' });
  try {
    await new Promise<void>((resolve, reject) => {
      sleeper.once('spawn', resolve);
      sleeper.once('error', reject);
    });
    addProcess(sleeper.pid ?? 0);
    return undefined;
  } catch (error) {
    return `cannot move a process into the group: ${describeError(error)}`;
  } finally {
    sleeper.kill('SIGKILL');
  }
}

async function probeCgroup(): Promise<SandboxPlatform['cgroup']> {
  const layout = locateCgroupParents();
  const problems: string[] = CGROUP_CONTROLLERS.flatMap((controller) => {
    const problem = layout.problems[controller];
    return problem ? [`${controller}: ${problem}`] : [];
  });
  const none = { memory: false, cpu: false, pids: false };
  if (layout.version === undefined || Object.keys(layout.parents).length === 0) {
    return { version: layout.version, ...none, reason: problems.join('; '), parents: {} };
  }
  const group = createCgroupIn(layout.version, layout.parents, 'probe', {
    memoryMb: 512,
    cpuPercent: 100,
    pidsMax: 64,
  });
  if (!group) return { version: layout.version, ...none, reason: problems.join('; '), parents: {} };
  problems.push(...group.warnings);
  const moveProblem = await tryMovingAProcess((pid) => group.addProcess(pid));
  try {
    await group.remove();
  } catch (error) {
    problems.push(`the probe group could not be removed: ${describeError(error)}`);
  }
  if (moveProblem) {
    return { version: layout.version, ...none, reason: [moveProblem, ...problems].join('; '), parents: {} };
  }
  const parents: CgroupParents = {};
  for (const controller of CGROUP_CONTROLLERS) {
    if (group.enforced[controller]) parents[controller] = layout.parents[controller];
  }
  const reason = problems.join('; ');
  return { version: layout.version, ...group.enforced, ...(reason ? { reason } : {}), parents };
}

let probe: Promise<SandboxPlatform> | undefined;

/**
 * Finds out, once per process, what can be enforced on this machine. Never rejects: what
 * cannot be used is `false`/`undefined` with a `reason`. Takes some tens of milliseconds
 * the first time (it runs the namespace wrapper and creates a test cgroup).
 */
export function probeSandboxPlatform(): Promise<SandboxPlatform> {
  probe ??= (async () => {
    const [namespaces, cgroup] = await Promise.all([probeNamespaces(), probeCgroup()]);
    return { node: { permissionFlag: permissionFlagFor(process.versions.node) }, namespaces, cgroup };
  })();
  return probe;
}

/** Forgets the memoised probe, so the next {@link probeSandboxPlatform} probes again (tests). */
export function resetSandboxPlatformProbe(): void {
  probe = undefined;
}

/**
 * One sentence per protection this machine cannot give a sandboxed plugin, saying what is
 * missing, why, and what a plugin can therefore do (or how the server makes up for it). Empty
 * when everything is enforced.
 */
export function describeGaps(platform: SandboxPlatform): string[] {
  const gaps: string[] = [];
  const { namespaces, cgroup } = platform;
  const why = (reason: string | undefined) => (reason ? ` (${reason})` : '');
  if (!namespaces.network) {
    gaps.push(`network: no network namespace${why(namespaces.reason)}; a sandboxed plugin can open sockets`);
  }
  if (!namespaces.pid) {
    gaps.push(
      `pid: no PID namespace${why(namespaces.reason)}; a sandboxed plugin can see the machine's other processes and signal those of its user`,
    );
  }
  if (!cgroup.memory) {
    gaps.push(
      `memory: no cgroup memory limit${why(cgroup.reason)}; the server samples the plugin's resident memory and kills it once over the limit, so a fast allocation can overshoot between samples`,
    );
  }
  if (!cgroup.cpu) {
    gaps.push(
      `cpu: no cgroup CPU quota${why(cgroup.reason)}; the server holds the plugin to its share by stopping and continuing it (SIGSTOP/SIGCONT), which is coarser than the kernel's quota`,
    );
  }
  if (!cgroup.pids) {
    gaps.push(
      `pids: no cgroup process limit${why(cgroup.reason)}; only Node's permission model (no child processes, no workers) keeps a plugin from multiplying`,
    );
  }
  return gaps;
}
