import semver from 'semver';
import { PlugboardError } from '../errors/plugboard-error.ts';

/** A plugin as the dependency resolver sees it. */
export interface DependencyNode {
  readonly name: string;
  readonly version: string;
  /** Dependency name → semver range. */
  readonly dependencies: Readonly<Record<string, string>>;
}

/** The outcome of resolving dependencies (FR-3). */
export interface StartPlan {
  /** Names that can start, dependencies first; ties keep the input order. */
  readonly order: readonly string[];
  /** Names that cannot start, with the reason (`PLUGIN_DEPENDENCY_*`). */
  readonly failures: ReadonlyMap<string, PlugboardError>;
}

/**
 * Orders plugins so that each starts after what it depends on, and says which cannot
 * start: a missing dependency, a version outside the declared range, a cycle (reported
 * with its path, `a → b → c → a`), or a dependency that itself cannot start. Unrelated
 * plugins are unaffected.
 *
 * @param unavailable plugins that exist but cannot serve as dependencies (e.g. in ERROR), with why
 */
export function planStartOrder(
  nodes: readonly DependencyNode[],
  unavailable: ReadonlyMap<string, string> = new Map(),
): StartPlan {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const failures = new Map<string, PlugboardError>();

  for (const node of nodes) {
    for (const [dependency, range] of Object.entries(node.dependencies)) {
      const target = byName.get(dependency);
      if (target === undefined) {
        const why = unavailable.get(dependency);
        failures.set(
          node.name,
          new PlugboardError(
            'PLUGIN_DEPENDENCY_MISSING',
            why === undefined
              ? `Plugin "${node.name}" depends on "${dependency}" (${range}), which is not loaded`
              : `Plugin "${node.name}" depends on "${dependency}" (${range}), which cannot start: ${why}`,
            { plugin: node.name, details: { dependency, range } },
          ),
        );
        break;
      }
      if (!semver.satisfies(target.version, range, { includePrerelease: true })) {
        failures.set(
          node.name,
          new PlugboardError(
            'PLUGIN_DEPENDENCY_VERSION',
            `Plugin "${node.name}" needs "${dependency}" ${range}, but version ${target.version} is loaded`,
            { plugin: node.name, details: { dependency, range, found: target.version } },
          ),
        );
        break;
      }
    }
  }

  for (const cycle of findCycles(nodes, byName)) {
    const path = [...cycle, cycle[0]!].join(' → ');
    for (const name of cycle) {
      failures.set(
        name,
        new PlugboardError('PLUGIN_DEPENDENCY_CYCLE', `Plugin "${name}" is part of a dependency cycle: ${path}`, {
          plugin: name,
          details: { cycle: [...cycle, cycle[0]!] },
        }),
      );
    }
  }

  // A plugin whose dependency cannot start cannot start either; repeat until nothing changes.
  let changed = true;
  while (changed) {
    changed = false;
    for (const node of nodes) {
      if (failures.has(node.name)) continue;
      const broken = Object.keys(node.dependencies).find((dependency) => failures.has(dependency));
      if (broken !== undefined) {
        failures.set(
          node.name,
          new PlugboardError(
            'PLUGIN_DEPENDENCY_MISSING',
            `Plugin "${node.name}" depends on "${broken}", which cannot start: ${failures.get(broken)!.message}`,
            { plugin: node.name, details: { dependency: broken, dependencyError: failures.get(broken)!.code } },
          ),
        );
        changed = true;
      }
    }
  }

  const order: string[] = [];
  const placed = new Set<string>();
  const inputIndex = new Map(nodes.map((node, index) => [node.name, index]));
  const place = (node: DependencyNode) => {
    if (placed.has(node.name) || failures.has(node.name)) return;
    placed.add(node.name);
    // Dependencies pulled ahead of their dependent keep the input order among themselves.
    const dependencies = Object.keys(node.dependencies).sort((a, b) => inputIndex.get(a)! - inputIndex.get(b)!);
    for (const dependency of dependencies) place(byName.get(dependency)!);
    order.push(node.name);
  };
  for (const node of nodes) place(node);
  return { order, failures };
}

/** Every elementary cycle found by depth-first search, each as the list of names in it. */
function findCycles(nodes: readonly DependencyNode[], byName: ReadonlyMap<string, DependencyNode>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: DependencyNode) => {
    state.set(node.name, 'visiting');
    stack.push(node.name);
    for (const dependency of Object.keys(node.dependencies)) {
      const target = byName.get(dependency);
      if (target === undefined) continue;
      const seen = state.get(dependency);
      if (seen === 'visiting') cycles.push(stack.slice(stack.indexOf(dependency)));
      else if (seen === undefined) visit(target);
    }
    stack.pop();
    state.set(node.name, 'done');
  };
  for (const node of nodes) if (!state.has(node.name)) visit(node);
  return cycles;
}
