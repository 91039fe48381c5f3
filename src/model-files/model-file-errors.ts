import { defineFirstPartyErrors } from '../core/errors/define-errors.ts';

/**
 * The error codes of model downloads (`plugboard models pull`, `POST /admin/models/pull`). They
 * join the one catalogue `GET /plugins/errors` and `plugboard errors` list. Each says what to do:
 * a refused file never lands in the models folder, an interrupted one resumes on the next pull.
 */
export const modelFileErrors = defineFirstPartyErrors('model-files', {
  MODEL_SOURCE_INVALID: {
    summary: 'The model source is not a GGUF file Plugboard can download',
    hint: 'Give `hf:owner/repo/file.gguf` (or `hf:owner/repo:branch/file.gguf`), a Hugging Face file URL, or an http(s) URL of a .gguf file.',
    status: 400,
  },
  MODEL_DOWNLOAD_FAILED: {
    summary: 'The server holding the model file refused it or could not be reached',
    hint: 'Check the source (repository, branch and file name) and the network: the message says what the server answered, or why it could not be reached. Gated or private repositories are not supported: download those by hand into the models folder.',
    status: 502,
  },
  MODEL_DOWNLOAD_INTERRUPTED: {
    summary: 'The model download stopped before the whole file arrived',
    hint: 'Run the same pull again: it resumes from the part file (`<file>.part`) in the models folder.',
    status: 502,
  },
  MODEL_CHECKSUM_MISMATCH: {
    summary: 'The downloaded file does not match the size or SHA-256 its server advertised',
    hint: 'The part file was deleted and nothing was added to the models folder; pull again. If it fails again, the mirror (HF_ENDPOINT) or a proxy is altering the file.',
    status: 502,
  },
  MODEL_NOT_GGUF: {
    summary: 'The downloaded file is not a GGUF model',
    hint: 'Point at the .gguf file itself (on Hugging Face: a `resolve/` URL or `hf:owner/repo/file.gguf`, not a web page); nothing was added to the models folder.',
    status: 422,
  },
  MODEL_PULL_IN_PROGRESS: {
    summary: 'Another pull is already writing this model file',
    hint: 'Wait for it to finish (GET /admin/models/pulls, or the other `plugboard models pull`), or cancel it first.',
    status: 409,
  },
  MODEL_PULL_CANCELLED: {
    summary: 'The model pull was cancelled',
    hint: 'The part file was kept: the same pull resumes where this one stopped.',
    status: 499,
  },
  MODEL_PULL_NOT_FOUND: {
    summary: 'There is no model pull with that id',
    hint: 'List the pulls with GET /admin/models/pulls; finished pulls are kept only for a while.',
    status: 404,
  },
  MODEL_DIR_UNWRITABLE: {
    summary: 'The models folder cannot be created or written',
    hint: 'Check `server.models_dir` (or --dir, PLUGBOARD_MODELS_DIR), the permissions and the free space of that folder.',
    status: 500,
  },
});

/** The code of a cancelled pull, to tell it from a failure (`isPlugboardError(error, PULL_CANCELLED)`). */
export const PULL_CANCELLED = modelFileErrors.codeOf('MODEL_PULL_CANCELLED');
