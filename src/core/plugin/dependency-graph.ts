// One function, not the package's index: that loads all 48 of semver's modules (~15 ms at start).
import satisfies from 'semver/functions/satisfies.js';
import { dependencyCycle, dependencyUnavailable, dependencyVersion } from '../errors/core-errors.ts';
import type { PlugboardError } from '../errors/plugboard-error.ts';

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
 * @param known failures found before planning (a service nobody provides): they cannot start,
 *   and neither can what depends on them
 */
export function planStartOrder(
  nodes: readonly DependencyNode[],
  unavailable: ReadonlyMap<string, string> = new Map(),
  known: ReadonlyMap<string, PlugboardError> = new Map(),
): StartPlan {
  const byName = new Map(nodes.map((node) => [node.name, node]));
  const failures = new Map<string, PlugboardError>(known);

  for (const node of nodes) {
    for (const [dependency, range] of Object.entries(node.dependencies)) {
      const target = byName.get(dependency);
      if (target === undefined) {
        const why = unavailable.get(dependency);
        failures.set(
          node.name,
          dependencyUnavailable(
            node.name,
            dependency,
            why === undefined ? 'is not loaded' : `cannot start: ${why}`,
            range,
          ),
        );
        break;
      }
      if (!satisfies(target.version, range, { includePrerelease: true })) {
        failures.set(node.name, dependencyVersion(node.name, dependency, range, target.version));
        break;
      }
    }
  }

  for (const cycle of findCycles(nodes, byName)) {
    const path = [...cycle, cycle[0]!];
    for (const name of cycle) failures.set(name, dependencyCycle(name, path));
  }

  // A plugin whose dependency cannot start cannot start either; repeat until nothing changes.
  let changed = true;
  while (changed) {
    changed = false;
    for (const node of nodes) {
      if (failures.has(node.name)) continue;
      const broken = Object.keys(node.dependencies).find((dependency) => failures.has(dependency));
      if (broken !== undefined) {
        const cause = failures.get(broken)!;
        failures.set(
          node.name,
          dependencyUnavailable(node.name, broken, `cannot start: ${cause.message}`, undefined, cause),
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
