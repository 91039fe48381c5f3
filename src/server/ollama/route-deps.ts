import type { ServerContext } from '../server-context.ts';
import type { RunningModels } from './running-models.ts';

/** What every Ollama route module gets: the server's services and the API's own state. */
export interface OllamaRouteDeps {
  readonly context: ServerContext;
  /** Models used recently, for `GET /api/ps`. */
  readonly running: RunningModels;
}
