/**
 * A parser for the samples of Prometheus' text exposition format (what `GET /metrics` answers).
 *
 * Why a parser of our own: the dashboard needs only a few counters' sample values, the format
 * is one sample per line, and a client library would add weight to a page that loads nothing
 * it does not need. It reads `name{label="value",…} value [timestamp]` lines (label values
 * with `\\`, `\"` and `\n` escapes), skips `#` comments (HELP, TYPE) and blank lines, and
 * ignores lines it cannot read rather than failing the whole scrape.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * Every sample in `text`.
 *
 * @example
 * ```ts
 * parsePrometheusText('# TYPE x counter\nx{status="200"} 3\n');
 * // [{ name: 'x', labels: { status: '200' }, value: 3 }]
 * ```
 */
export function parsePrometheusText(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const sample = parseLine(line);
    if (sample !== undefined) samples.push(sample);
  }
  return samples;
}

/**
 * The metrics `text` declares (`# TYPE <name> <type>` lines): a counter with labels has no
 * sample until it is first incremented, but its plugin already declares it.
 */
export function declaredMetrics(text: string): Set<string> {
  const names = new Set<string>();
  for (const match of text.matchAll(/^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) /gm))
    if (match[1] !== undefined) names.add(match[1]);
  return names;
}

/** The sum of the samples named `name` whose labels match `where` (every key equal). */
export function sumSamples(
  samples: readonly Sample[],
  name: string,
  where: Readonly<Record<string, string>> = {},
): number {
  let sum = 0;
  for (const sample of samples) {
    if (sample.name !== name) continue;
    if (Object.entries(where).every(([key, value]) => sample.labels[key] === value)) sum += sample.value;
  }
  return sum;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;

function parseLine(line: string): Sample | undefined {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) return undefined;
  let position = name.length;
  const labels: Record<string, string> = {};
  if (line[position] === '{') {
    const end = parseLabels(line, position + 1, labels);
    if (end === undefined) return undefined;
    position = end;
  }
  // The value, then an optional timestamp the dashboard does not need.
  const valueText = line.slice(position).trim().split(/\s+/)[0];
  if (valueText === undefined || valueText === '') return undefined;
  const value = parseValue(valueText);
  return Number.isNaN(value) && valueText !== 'NaN' ? undefined : { name, labels, value };
}

/** Reads `a="x",b="y"}` from `start`, filling `labels`; returns the index after `}`. */
function parseLabels(line: string, start: number, labels: Record<string, string>): number | undefined {
  let position = start;
  while (position < line.length) {
    while (line[position] === ' ' || line[position] === ',') position++;
    if (line[position] === '}') return position + 1;
    const key = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(position))?.[0];
    if (key === undefined) return undefined;
    position += key.length;
    while (line[position] === ' ') position++;
    if (line[position] !== '=' || line[position + 1] !== '"') return undefined;
    position += 2;
    let value = '';
    while (position < line.length && line[position] !== '"') {
      if (line[position] === '\\') {
        const escaped = line[position + 1];
        value += escaped === 'n' ? '\n' : (escaped ?? '');
        position += 2;
      } else {
        value += line[position];
        position++;
      }
    }
    if (line[position] !== '"') return undefined;
    labels[key] = value;
    position++;
  }
  return undefined;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(text);
}
