import type { ReloadReport } from './types.ts';

/**
 * What a configuration reload did: the plugins whose change took effect, the changes refused
 * (with the server's reason) and every issue found in the file.
 */
export function ReloadReportView(props: { readonly report: ReloadReport; readonly title?: string }) {
  const { report } = props;
  const ok = report.refused.length === 0;
  return (
    <div class={`reload-report banner ${ok ? 'ok' : 'warning'}`}>
      <p class="reload-report-title">
        <strong>{props.title ?? (ok ? 'Configuration reloaded' : 'Configuration reloaded with refusals')}</strong>
        {' — '}snapshot {report.snapshotVersion}
        {report.file === null ? null : (
          <>
            {' from '}
            <code>{report.file}</code>
          </>
        )}
      </p>
      <p>
        Applied:{' '}
        {report.applied.length === 0 ? (
          <em>nothing changed</em>
        ) : (
          report.applied.map((name, index) => (
            <span key={name}>
              {index > 0 ? ', ' : ''}
              <code>{name}</code>
            </span>
          ))
        )}
      </p>
      {report.refused.length === 0 ? null : (
        <>
          <p>Refused:</p>
          <ul>
            {report.refused.map((refusal) => (
              <li key={`${refusal.plugin}:${refusal.code}`}>
                <code>{refusal.plugin}</code> ({refusal.code}): {refusal.message}
              </li>
            ))}
          </ul>
        </>
      )}
      {report.issues.length === 0 ? null : (
        <details>
          <summary>{report.issues.length} issue(s) in the file</summary>
          <ul class="issues">
            {report.issues.map((issue) => (
              <li key={issue}>
                <code>{issue}</code>
              </li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
