/**
 * The health of a `models_dir` backend, from a (cached) reading of the folder and what is
 * loaded: no header is read and nothing is imported, so probing it costs a readdir at most.
 */
import type { HealthReport, PlugboardError } from '../../src/index.ts';
import type { ResolvedSettings } from './config.ts';
import type { LlamaCppEngine } from './engine.ts';
import { emptyFolderAdvice } from './errors.ts';
import type { ModelCatalog, ServedModel } from './model-catalog.ts';
import type { ModelResidency } from './model-residency.ts';

/**
 * `unhealthy` when the folder has no model (saying how to get one) or cannot be read;
 * otherwise `healthy`, naming the models and which are loaded — `degraded` when the last load
 * of a model failed or a file's header was refused (the reasons in the message). Files left
 * out for other reasons (a download under way, a hidden file) are listed in `details.skipped`.
 *
 * @example
 * ```ts
 * await folderHealth(catalog, residency, settings, loadErrors);
 * // { status: 'healthy', message: '2 models in /srv/models: loaded: qwen; at most 1 loaded at once', details: { … } }
 * ```
 */
export async function folderHealth(
  catalog: ModelCatalog,
  residency: ModelResidency<ServedModel, LlamaCppEngine>,
  settings: ResolvedSettings,
  loadErrors: ReadonlyMap<string, PlugboardError>,
): Promise<HealthReport> {
  const scan = (await catalog.scan())!;
  const skipped = [...scan.skipped, ...catalog.broken];
  const residents = residency.residents.map((resident) => {
    const engine = residency.engineOf(resident.id);
    return {
      id: resident.id,
      state: resident.state,
      users: resident.users,
      draining: resident.draining,
      ...(engine === undefined ? {} : { contextSize: engine.contextSize, gpu: engine.gpu, ...engine.stats }),
    };
  });
  const details = {
    modelsDir: scan.dir,
    models: scan.models.map((model) => model.id),
    maxLoadedModels: settings.max_loaded_models,
    loaded: residents,
    waiting: residency.waiting,
    ...(skipped.length === 0 ? {} : { skipped }),
  };
  if (scan.models.length === 0) return { status: 'unhealthy', message: emptyFolderAdvice(scan), details };
  const failed = scan.models.flatMap((model) => {
    const error = loadErrors.get(model.id);
    return error === undefined ? [] : [`${model.id}: ${error.message}`];
  });
  const count = `${scan.models.length} model${scan.models.length === 1 ? '' : 's'} in ${scan.dir}`;
  const ready = residents.filter((resident) => resident.state === 'ready').map((resident) => resident.id);
  const loading = residents.filter((resident) => resident.state === 'loading').map((resident) => resident.id);
  const state = [
    ready.length === 0 ? 'none loaded yet, each loads on its first request' : `loaded: ${ready.join(', ')}`,
    ...(loading.length === 0 ? [] : [`loading: ${loading.join(', ')}`]),
    `at most ${settings.max_loaded_models} loaded at once`,
  ].join('; ');
  if (failed.length > 0)
    return { status: 'degraded', message: `${count}; failed to load: ${failed.join('; ')}`, details };
  const broken = catalog.broken;
  if (broken.length > 0) {
    return {
      status: 'degraded',
      message: `${count}: ${state}; not served: ${broken.map((file) => `${file.file}: ${file.reason}`).join('; ')}`,
      details,
    };
  }
  return { status: 'healthy', message: `${count}: ${state}`, details };
}
