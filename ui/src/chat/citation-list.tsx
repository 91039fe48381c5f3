import type { Citation } from './chat-types.ts';

/**
 * The sources a reply was given (rag), numbered as the model was asked to cite them (`[n]`);
 * each opens to its excerpt.
 */
export function CitationList(props: { readonly citations: readonly Citation[] }) {
  if (props.citations.length === 0) return null;
  return (
    <section class="citations" aria-label="Sources">
      <p class="citations-title">Sources</p>
      <ol>
        {props.citations.map((citation) => (
          <li key={`${citation.source}-${citation.document ?? citation.name}-${citation.chunk ?? 0}`}>
            <details class="citation">
              <summary>
                <span class="citation-number">[{citation.source}]</span> {citation.name}
                {citation.page === undefined ? '' : `, page ${citation.page}`}
                {citation.section === undefined ? '' : ` — ${citation.section}`}
              </summary>
              <blockquote class="citation-excerpt">{citation.excerpt}</blockquote>
              <p class="muted citation-where">
                {citation.collection === undefined ? '' : `Collection ${citation.collection}`}
                {citation.chunk === undefined ? '' : ` · chunk ${citation.chunk}`}
              </p>
            </details>
          </li>
        ))}
      </ol>
    </section>
  );
}
