import { defineFirstPartyErrors } from '../core/errors/define-errors.ts';

/**
 * The error codes only the HTTP server raises. They live here, not in the core's catalogue
 * (the core knows nothing of HTTP), and join the one catalogue that `GET /plugins/errors`
 * lists. One factory per code: `serverErrors.ROUTE_NOT_FOUND(message)`.
 */
export const serverErrors = defineFirstPartyErrors('server', {
  ROUTE_NOT_FOUND: {
    summary: 'There is no such endpoint',
    hint: 'See docs/API.md for the routes Plugboard serves.',
    status: 404,
  },
  METHOD_NOT_ALLOWED: {
    summary: 'The endpoint exists but not for this HTTP method',
    hint: 'Use one of the methods listed in the `Allow` header.',
    status: 405,
  },
  NOT_IMPLEMENTED: {
    summary: 'Plugboard does not implement this operation',
    hint: 'The message says where to do it instead (e.g. pull models on the Ollama server itself with `ollama pull`).',
    status: 501,
  },
  REQUEST_TOO_LARGE: {
    summary: 'The request body is larger than the server accepts',
    hint: 'Send a smaller body, or raise `server.body_limit_mb` in the configuration.',
    status: 413,
  },
  REQUEST_LIMIT_EXCEEDED: {
    summary: 'The request has more messages, inputs or text than the server accepts',
    hint: 'Send fewer messages or inputs, or less text, per request; or raise `server.limits` in the configuration.',
    status: 413,
  },
  REQUEST_BODY_TIMEOUT: {
    summary: 'The request body did not arrive in time',
    hint: 'Send the body at once after the headers; a slow link may need a higher `server.body_timeout` or a lower `server.body_min_rate_kb`.',
    status: 408,
  },
  TOO_MANY_UPLOADS: {
    summary: 'The server is receiving as many request bodies at once as it allows',
    hint: 'Retry after the seconds in `Retry-After`; operators can raise `server.max_pending_bodies`.',
    status: 503,
  },
  UNSUPPORTED_CONTENT_ENCODING: {
    summary: 'The request body uses a Content-Encoding the server cannot decode',
    hint: 'Send the body uncompressed, or compressed with one of the codings in the `Accept-Encoding` response header (gzip, deflate, br).',
    status: 415,
  },
  URI_TOO_LONG: {
    summary: 'A part of the request path is longer than the server accepts',
    hint: 'Path parameters (plugin names, ids) are at most 100 characters long; check the URL.',
    status: 414,
  },
  REQUEST_TIMEOUT: {
    summary: 'The request took longer than the server allows',
    hint: 'Raise `server.request_timeout`, or ask for less output (`max_tokens`).',
    status: 504,
  },
  UNAUTHORIZED: {
    summary: 'The request lacks valid credentials',
    hint: 'Send `Authorization: Bearer <token>` with the admin token the server was configured with.',
    status: 401,
  },
  CONFIG_NOT_EDITABLE: {
    summary: "The server cannot write this plugin's config into its configuration file",
    hint: 'The message says why (no file, a read-only file, no entry for the plugin …): edit the file by hand, then reload it (POST /admin/reload).',
    status: 409,
  },
  PLUGIN_CONFIG_REFUSED: {
    summary: "The reload refused a plugin's edited config; the file was put back",
    hint: 'The message says why (its initialize failed with it, say); the running version stays. Change the config and save again.',
    status: 422,
  },
  SERVER_SHUTTING_DOWN: {
    summary: 'The server is shutting down and takes no new requests',
    hint: 'Retry against another instance, or once this one has restarted.',
    status: 503,
  },
});
