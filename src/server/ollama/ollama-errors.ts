import { clientMessage, type ErrorFormat } from '../http-errors.ts';

/** Ollama's error format, `{ "error": "message" }`, plus the catalogue code and hint. */
export const ollamaErrorBody: ErrorFormat = (error, requestId) => ({
  error: clientMessage(error, requestId),
  code: error.code,
  hint: error.hint,
});
