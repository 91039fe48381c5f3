/** What both HTTP benchmark targets answer: the same model, reply and chunking. */
export const MODEL = 'scripted-model';
/** 80 characters, streamed as 20 chunks of 4. */
export const REPLY = 'word '.repeat(16);
export const CHUNK_CHARS = 4;
