import { PlugboardError } from '../core/errors/plugboard-error.ts';
import { type ModelCatalogue, splitBackendPrefix } from '../core/routing/model-router.ts';

type ListingFailure = ModelCatalogue['failures'][number];

/**
 * The answer to a model listing or lookup that failed because backends could not list their
 * models (docs/API.md, "Errors"): a 502 `BACKEND_FAILED` when a backend is at fault (it threw
 * or returned garbage), a 503 `BACKEND_UNAVAILABLE` when every failed backend was merely
 * unreachable. An empty list, or a 404, would read as "no such model"; the truth is "could not ask".
 */
export function listingFailed(failures: readonly ListingFailure[], what: string): PlugboardError {
  const failed = failures.map((failure) => `${failure.backend} (${failure.error.publicMessage})`).join('; ');
  const unreachable = failures.every((failure) => failure.error.status === 503);
  return new PlugboardError(unreachable ? 'BACKEND_UNAVAILABLE' : 'BACKEND_FAILED', `${what}: ${failed}`, {
    ...(failures.length === 1 ? { plugin: failures[0]!.backend } : {}),
  });
}

/**
 * The listing failures that may hide the model `name` a lookup did not find: the failure of
 * the backend it names (`backend/model`), or, for a bare name, every failure.
 */
export function failuresHiding(name: string, catalogue: ModelCatalogue, backends: readonly string[]): ListingFailure[] {
  const prefixed = splitBackendPrefix(name, backends);
  return prefixed === undefined
    ? [...catalogue.failures]
    : catalogue.failures.filter((failure) => failure.backend === prefixed.backend);
}
