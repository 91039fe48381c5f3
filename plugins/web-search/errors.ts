import { defineErrors } from '../../src/index.ts';

/**
 * The web_search plugin's error codes. The tool loop may give their message to the model: they
 * say what went wrong with the provider (a status, a timeout), never its URL, which may hold
 * credentials, nor its headers.
 */
export const webSearchErrors = defineErrors('web_search', {
  TIMEOUT: {
    summary: 'The search provider did not answer within timeout_ms',
    hint: 'Try again later, or raise timeout_ms; check that the provider runs.',
    status: 504,
  },
  PROVIDER_UNAVAILABLE: {
    summary: 'The search provider could not be reached',
    hint: 'Check the url in the web_search config and that the provider runs; the log has the cause.',
    status: 502,
  },
  PROVIDER_FAILED: {
    summary: 'The search provider answered with an HTTP error status',
    hint: 'Check the provider (its logs, an API key in headers); the message has the status.',
    status: 502,
  },
  PROVIDER_INVALID_RESPONSE: {
    summary: 'The search provider answered something that is not the JSON results expected',
    hint: 'Check that the url is a SearXNG-compatible instance with the json format enabled.',
    status: 502,
  },
});
