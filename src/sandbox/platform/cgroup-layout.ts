/**
 * Where this machine's cgroups are and where plugin groups go. Plugin groups are made *under
 * the server's own group* in each hierarchy (`<mount>/<own path>/plugboard/pidns-<id>/`), so a
 * limit set on the server (by a container runtime, systemd, …) still holds for its plugins.
 *
 * The `pidns-<id>` level keeps servers in different PID namespaces apart: on a host whose cgroup
 * v1 hierarchies are shared by several containers, a stale-group clean-up judges a group by
 * whether its creator's pid is alive, and a pid means something only in its own namespace.
 *
 * cgroup v1 has one hierarchy per controller (or a few controllers mounted together); cgroup v2
 * has one, where a group can hand a controller to its sub-groups only if it is the root or has
 * no processes of its own (`cgroup.subtree_control`) — often impossible inside a container.
 */
import { existsSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The controllers a plugin group limits. */
export type CgroupController = 'memory' | 'cpu' | 'pids';

/** Every controller a plugin group limits, in the order they are set up. */
export const CGROUP_CONTROLLERS: readonly CgroupController[] = ['memory', 'cpu', 'pids'];

/** Per controller: the directory plugin groups are made in. */
export type CgroupParents = Partial<Record<CgroupController, string>>;

/** The outcome of {@link locateCgroupParents}. */
export interface CgroupLayout {
  readonly version: 1 | 2 | undefined;
  /** The controllers whose parent directory exists and (v2) hands the controller down. */
  readonly parents: CgroupParents;
  /** Why a controller has no parent, per controller. */
  readonly problems: Partial<Record<CgroupController, string>>;
}

interface CgroupMount {
  readonly version: 1 | 2;
  readonly mountPoint: string;
  /** The path inside the hierarchy that is visible at the mount point. */
  readonly root: string;
  /** v1: the controllers of this hierarchy (its super options); v2: empty. */
  readonly controllers: readonly string[];
}

/** The folder under the server's own group that holds every Plugboard group. */
export const PLUGBOARD_CGROUP_FOLDER = 'plugboard';

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** An errno code (`EBUSY`, `EROFS`, …) or the message of an error, for a reason text. */
export function describeError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ?? (error instanceof Error ? error.message : String(error));
}

/** mountinfo writes a space in a path as `\040` (and likewise tab, newline, backslash). */
function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

function readCgroupMounts(): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of (readText('/proc/self/mountinfo') ?? '').split('\n')) {
    // "id parent major:minor root mountpoint options [optional…] - fstype source superoptions"
    const [before, after] = line.split(' - ');
    if (!before || !after) continue;
    const fields = before.split(' ');
    const [fsType, , superOptions = ''] = after.split(' ');
    const root = unescapeMountPath(fields[3] ?? '/');
    const mountPoint = unescapeMountPath(fields[4] ?? '');
    if (fsType === 'cgroup2') mounts.push({ version: 2, mountPoint, root, controllers: [] });
    if (fsType === 'cgroup') mounts.push({ version: 1, mountPoint, root, controllers: superOptions.split(',') });
  }
  return mounts;
}

/** /proc/self/cgroup: "hierarchy-id:controller,list:/path" per line ("0::/path" for v2). */
function readOwnCgroupPaths(): { v1: Map<string, string>; v2: string | undefined } {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of (readText('/proc/self/cgroup') ?? '').split('\n')) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    const [, id, controllers = '', path = '/'] = match;
    if (id === '0' && controllers === '') v2 = path;
    for (const controller of controllers.split(',')) if (controller) v1.set(controller, path);
  }
  return { v1, v2 };
}

/**
 * The directory of the server's own group inside a mounted hierarchy. Inside a cgroup
 * namespace, or when only part of a hierarchy is mounted, the own path may not lie under the
 * mount's root; then the mount point itself is the deepest group we can see.
 */
function ownDirectory(mount: CgroupMount, ownPath: string): string {
  const root = mount.root === '/' ? '' : mount.root;
  if (ownPath === root || ownPath.startsWith(`${root}/`)) {
    const inside = join(mount.mountPoint, ownPath.slice(root.length)).replace(/(.)\/+$/, '$1');
    if (existsSync(inside)) return inside;
  }
  return mount.mountPoint;
}

/** `pidns-<inode>` of this process's PID namespace. */
function pidNamespaceFolder(): string {
  try {
    const inode = /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
    return `pidns-${inode ?? 'unknown'}`;
  } catch {
    return 'pidns-unknown';
  }
}

function makeDirectory(path: string): string | undefined {
  try {
    mkdirSync(path, { recursive: true });
    return undefined;
  } catch (error) {
    const code = describeError(error);
    const readOnly = code === 'EROFS' ? ' (the cgroup filesystem is mounted read-only, as in most containers)' : '';
    return `cannot create ${path}: ${code}${readOnly}`;
  }
}

function locateV1(mounts: readonly CgroupMount[], ownPaths: Map<string, string>): CgroupLayout {
  const parents: CgroupParents = {};
  const problems: Partial<Record<CgroupController, string>> = {};
  const namespaceFolder = pidNamespaceFolder();
  for (const controller of CGROUP_CONTROLLERS) {
    const mount = mounts.find((candidate) => candidate.version === 1 && candidate.controllers.includes(controller));
    if (!mount) {
      problems[controller] = `cgroup v1: no ${controller} hierarchy is mounted`;
      continue;
    }
    const parent = join(ownDirectory(mount, ownPaths.get(controller) ?? '/'), PLUGBOARD_CGROUP_FOLDER, namespaceFolder);
    const problem = makeDirectory(parent);
    if (problem) problems[controller] = `cgroup v1: ${problem}`;
    else parents[controller] = parent;
  }
  return { version: 1, parents, problems };
}

/** The controllers listed in a v2 `cgroup.controllers` or `cgroup.subtree_control` file. */
function controllerList(path: string): string[] {
  return (readText(path) ?? '').split(/\s+/).filter(Boolean);
}

/**
 * Makes `directory`'s sub-groups get `controller`. Answers a reason when the kernel refuses:
 * EBUSY when the group has processes of its own (and is not the root), ENOENT/EINVAL when its
 * own parent did not hand the controller down.
 */
function delegate(directory: string, controller: CgroupController): string | undefined {
  const file = join(directory, 'cgroup.subtree_control');
  if (controllerList(file).includes(controller)) return undefined;
  try {
    writeFileSync(file, `+${controller}`);
    return undefined;
  } catch (error) {
    const code = describeError(error);
    const why =
      code === 'EBUSY'
        ? ': the group has processes of its own, and cgroup v2 lets only the root or a group without processes hand controllers to sub-groups'
        : '';
    return `cannot enable the ${controller} controller for sub-groups of ${directory} (${code})${why}`;
  }
}

function locateV2(mount: CgroupMount, ownPath: string): CgroupLayout {
  const parents: CgroupParents = {};
  const problems: Partial<Record<CgroupController, string>> = {};
  const own = ownDirectory(mount, ownPath);
  const plugboard = join(own, PLUGBOARD_CGROUP_FOLDER);
  const parent = join(plugboard, pidNamespaceFolder());
  const available = controllerList(join(own, 'cgroup.controllers'));
  const wanted = CGROUP_CONTROLLERS.filter((controller) => {
    if (available.includes(controller)) return true;
    problems[controller] =
      `cgroup v2: the ${controller} controller is not available in ${own} ` +
      `(cgroup.controllers: ${available.join(' ') || 'none'})`;
    return false;
  });
  if (wanted.length === 0) return { version: 2, parents, problems };
  const problem = makeDirectory(parent);
  for (const controller of wanted) {
    // Each level must hand the controller to the next: own → plugboard → pidns-… → plugin group.
    const refusal =
      problem ?? delegate(own, controller) ?? delegate(plugboard, controller) ?? delegate(parent, controller);
    if (refusal) problems[controller] = `cgroup v2: ${refusal}`;
    else parents[controller] = parent;
  }
  return { version: 2, parents, problems };
}

/**
 * Finds this machine's cgroup hierarchies and prepares (creates, and on v2 delegates
 * controllers to) the directory plugin groups are made in, per controller. A cgroup v1
 * hierarchy carrying any of memory/cpu/pids wins over v2 on a hybrid system, because there the
 * controllers are bound to v1 and the v2 hierarchy has none. `version` forces one kind (tests
 * use it to see the v2 path refuse on a hybrid machine). Never throws.
 */
export function locateCgroupParents(options: { version?: 1 | 2 } = {}): CgroupLayout {
  const mounts = readCgroupMounts();
  const own = readOwnCgroupPaths();
  const hasV1Controller = mounts.some(
    (mount) => mount.version === 1 && CGROUP_CONTROLLERS.some((controller) => mount.controllers.includes(controller)),
  );
  if (options.version === 1 || (options.version === undefined && hasV1Controller)) return locateV1(mounts, own.v1);
  const v2 =
    mounts.find((mount) => mount.version === 2 && mount.mountPoint === '/sys/fs/cgroup') ??
    mounts.find((mount) => mount.version === 2);
  if (v2) return locateV2(v2, own.v2 ?? '/');
  const problem = 'no cgroup filesystem is mounted (/proc/self/mountinfo lists none)';
  return { version: undefined, parents: {}, problems: { memory: problem, cpu: problem, pids: problem } };
}
