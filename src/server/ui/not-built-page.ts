/**
 * The page `GET /` answers a browser with (503) when the web UI has not been built: what is
 * missing and the command that builds it. Self-contained (its style inline, which the UI's
 * Content-Security-Policy allows). It names no path of the server (the page is public); the
 * server's log does.
 */
export function notBuiltPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Plugboard — web UI not built</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem; color: #222; }
  code { background: #f1f1f1; padding: 0.1rem 0.3rem; border-radius: 3px; }
  @media (prefers-color-scheme: dark) { body { background: #161616; color: #ddd; } code { background: #2a2a2a; } }
</style>
</head>
<body>
<h1>The web UI is not built</h1>
<p>Plugboard is running — its APIs answer at <code>/v1</code> and <code>/api</code> — but the files of its
web UI are missing.</p>
<p>Build them, in Plugboard's folder, then reload this page (no restart needed):</p>
<p><code>npm run build:ui</code></p>
</body>
</html>
`;
}
