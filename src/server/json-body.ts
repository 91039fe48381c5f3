import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PlugboardError } from '../core/errors/plugboard-error.ts';

/**
 * Ollama's documented examples use `curl -d '{…}'`, which sends
 * `application/x-www-form-urlencoded`; Ollama ignores the content type. So does Plugboard:
 * every body is parsed as JSON, with Fastify's prototype-poisoning protection.
 */
export function acceptJsonOfAnyContentType(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    parseJsonText(parseJson, request, text, done);
  });
}

/**
 * Parses a request body's text with Fastify's JSON parser (prototype-poisoning protection),
 * naming what is wrong: the JSON's syntax, or the forbidden keys.
 */
export function parseJsonText(
  parseJson: ReturnType<FastifyInstance['getDefaultJsonParser']>,
  request: FastifyRequest,
  text: string,
  done: (error: Error | null, value?: unknown) => void,
): void {
  parseJson(request, text, (error: Error | null, value?: unknown) => {
    if (error === null) return done(null, value);
    // Fastify's message blames the content type; say what is wrong with the JSON instead.
    try {
      JSON.parse(text);
      done(
        new PlugboardError(
          'REQUEST_INVALID',
          'The request body may not contain "__proto__" or "constructor.prototype" keys',
        ),
        undefined,
      );
    } catch (syntax) {
      done(new PlugboardError('REQUEST_INVALID', `The request body is not valid JSON: ${(syntax as Error).message}`));
    }
  });
}
