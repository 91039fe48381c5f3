import { useEffect, useId, useRef, useState } from 'preact/hooks';
import type { ErrorInfo } from './chat-types.ts';
import { ErrorBanner } from './error-banner.tsx';
import { errorInfo } from './error-info.ts';
import { formatBytes } from './format-bytes.ts';
import { type AddedDocument, uploadDocument } from './rag-api.ts';
import type { Rag } from './use-rag.ts';
import './document-upload.css';

const ACCEPT = '.txt,.md,.markdown,.html,.htm,.xhtml,.pdf,text/plain,text/markdown,text/html,application/pdf';

interface UploadRow {
  readonly file: File;
  readonly sent: number;
  readonly result?: AddedDocument;
  readonly error?: ErrorInfo;
}

/**
 * The document upload dialog (rag plugin): pick a collection and files; each file is sent in
 * turn with its progress, then the server's answer (added, chunks) or its refusal.
 */
export function DocumentUpload(props: { readonly rag: Rag; readonly onClose: () => void }) {
  const { rag } = props;
  const dialog = useRef<HTMLDialogElement>(null);
  const collectionId = useId();
  const filesId = useId();
  const listId = useId();
  const [collection, setCollection] = useState(() => rag.searched[0] ?? rag.collections[0]?.name ?? 'default');
  const [files, setFiles] = useState<readonly File[]>([]);
  const [rows, setRows] = useState<readonly UploadRow[]>([]);
  const [busy, setBusy] = useState(false);
  const cancel = useRef<AbortController | undefined>(undefined);

  useEffect(() => {
    dialog.current?.showModal();
    return () => cancel.current?.abort();
  }, []);

  const known = [...new Set([...rag.searched, ...rag.collections.map((entry) => entry.name)])];
  const searchedHere = rag.searched.length === 0 || rag.searched.includes(collection.trim());

  async function upload() {
    const controller = new AbortController();
    cancel.current = controller;
    setBusy(true);
    const name = collection.trim();
    let current: UploadRow[] = files.map((file) => ({ file, sent: 0 }));
    setRows(current);
    const update = (index: number, change: Partial<UploadRow>) => {
      current = current.map((row, at) => (at === index ? { ...row, ...change } : row));
      setRows(current);
    };
    for (const [index, file] of files.entries()) {
      if (controller.signal.aborted) break;
      try {
        const result = await uploadDocument(name, file, (sent) => update(index, { sent }), controller.signal);
        update(index, { sent: file.size, result });
      } catch (thrown) {
        update(index, { error: errorInfo(thrown) });
      }
    }
    setBusy(false);
    setFiles([]);
    void rag.refresh();
  }

  return (
    <dialog ref={dialog} class="upload-dialog" aria-labelledby={`${listId}-title`} onClose={props.onClose}>
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          if (!busy && files.length > 0) void upload();
        }}
      >
        <h2 id={`${listId}-title`}>Add documents</h2>
        <p class="muted">Text, Markdown, HTML or PDF. Chats then answer from them and list the sources they used.</p>
        <label for={collectionId}>Collection</label>
        <input
          id={collectionId}
          list={listId}
          required
          pattern="[A-Za-z0-9_.\-]{1,64}"
          value={collection}
          onInput={(event) => setCollection(event.currentTarget.value)}
        />
        <datalist id={listId}>
          {known.map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
        {searchedHere ? null : (
          <p class="banner warning">
            Chats search only {rag.searched.join(', ')}: documents in “{collection.trim()}” are stored but not used in
            chats until the rag plugin's <code>collections</code> names it.
          </p>
        )}
        <label for={filesId}>Files</label>
        <input
          id={filesId}
          type="file"
          multiple
          accept={ACCEPT}
          disabled={busy}
          onChange={(event) => setFiles([...(event.currentTarget.files ?? [])])}
        />
        {rows.length === 0 ? null : (
          <ul class="upload-rows" aria-label="Uploads">
            {rows.map((row) => (
              <UploadStatus key={row.file.name} row={row} />
            ))}
          </ul>
        )}
        {rag.collections.length === 0 ? null : (
          <p class="muted upload-known">
            {rag.collections
              .map((entry) => `${entry.name}: ${entry.documents} document${entry.documents === 1 ? '' : 's'}`)
              .join(' · ')}
          </p>
        )}
        <div class="dialog-actions">
          <button type="button" onClick={() => (busy ? cancel.current?.abort() : dialog.current?.close())}>
            {busy ? 'Cancel upload' : 'Close'}
          </button>
          <button type="submit" class="primary" disabled={busy || files.length === 0}>
            Upload
          </button>
        </div>
      </form>
    </dialog>
  );
}

function UploadStatus(props: { readonly row: UploadRow }) {
  const { row } = props;
  const { file, result, error } = row;
  return (
    <li class="upload-row">
      <span class="upload-name">{file.name}</span>
      {result !== undefined ? (
        <span class="upload-done" role="status">
          {result.status} · {result.chunks} chunk{result.chunks === 1 ? '' : 's'} in {result.collection}
        </span>
      ) : error !== undefined ? (
        <ErrorBanner error={error} />
      ) : (
        <label class="upload-progress">
          <span class="visually-hidden">Upload of {file.name}</span>
          <progress max={file.size || 1} value={row.sent} />
          <span class="muted">
            {formatBytes(row.sent)} of {formatBytes(file.size)}
          </span>
        </label>
      )}
    </li>
  );
}
