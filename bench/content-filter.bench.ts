/**
 * Quality benchmark of the content_filter plugin: precision and recall per category on a
 * generated, labelled corpus (seeded, so every run sees the same texts), false positives per
 * 1,000 benign messages (this repository's source code, prose, numbers, UUIDs, hashes, dates,
 * versions), and the cost per message. Prints a table and writes bench/results/content-filter.json.
 *
 *   npm run bench:content-filter
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { composeIBAN, isValidIBAN } from 'ibantools';
import { contentFilterConfigSchema } from '../plugins/content-filter/config.ts';
import { luhn } from '../plugins/content-filter/detectors/payment-card.ts';
import { createScanner } from '../plugins/content-filter/scanner.ts';
import { writeResults } from './report.ts';

const PER_CATEGORY = 600;
const BENIGN = 3000;

// ——— a seeded PRNG (mulberry32) ———
let seed = 0x5eed;
function random(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
const pick = <T>(items: readonly T[]): T => items[int(0, items.length - 1)]!;
const digits = (count: number) => Array.from({ length: count }, () => int(0, 9)).join('');
const chars = (alphabet: string, count: number) => Array.from({ length: count }, () => pick([...alphabet])).join('');
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const HEX = '0123456789abcdef';

// ——— positives, one generator per category, several formats each ———
function card(): string {
  const prefix = pick(['4', '51', '55', '2221', '34', '37', '6011', '65', '3528', '36']);
  const length = prefix === '34' || prefix === '37' ? 15 : prefix === '36' ? 14 : pick([16, 16, 16, 19, 13]);
  let body = prefix + digits(length - prefix.length - 1);
  for (let check = 0; check <= 9; check++)
    if (luhn(body + check)) {
      body += check;
      break;
    }
  if (length === 15) return pick([body, `${body.slice(0, 4)} ${body.slice(4, 10)} ${body.slice(10)}`]);
  if (length === 14) return pick([body, `${body.slice(0, 4)} ${body.slice(4, 10)} ${body.slice(10)}`]);
  if (length !== 16) return body;
  const separator = pick(['', ' ', '-']);
  return separator === '' ? body : body.match(/.{4}/g)!.join(separator);
}
function iban(): string {
  for (;;) {
    const [countryCode, bban] = pick([
      () => ['GB', chars(UPPER, 4) + digits(14)],
      () => ['DE', digits(18)],
      () => ['NL', chars(UPPER, 4) + digits(10)],
      () => ['AT', digits(16)],
      () => ['CH', digits(5) + chars(`${UPPER}0123456789`, 12)],
    ])() as [string, string];
    const value = composeIBAN({ countryCode, bban });
    if (value === null || !isValidIBAN(value)) continue;
    return pick([value, value.match(/.{1,4}/g)!.join(' ')]);
  }
}
const AREA = ['212', '415', '646', '312', '617', '202', '305', '713', '206', '303', '404', '512'];
function phone(): string {
  const [area, exchange, line] = [pick(AREA), `${int(2, 9)}${digits(2)}`, digits(4)];
  return pick([
    `(${area}) ${exchange}-${line}`,
    `${area}-${exchange}-${line}`,
    `${area}.${exchange}.${line}`,
    `+1 ${area} ${exchange} ${line}`,
    `+1-${area}-${exchange}-${line}`,
    `+44 20 7946 ${digits(4)}`,
    `+49 30 ${int(2, 9)}${digits(6)}`,
    `+33 1 ${int(40, 49)} ${digits(2)} ${digits(2)} ${digits(2)}`,
  ]);
}
function ssn(): string {
  const area = String(pick([int(1, 665), int(667, 899)])).padStart(3, '0');
  const separator = pick(['-', ' ']);
  return `${area}${separator}${String(int(1, 99)).padStart(2, '0')}${separator}${String(int(1, 9999)).padStart(4, '0')}`;
}
function email(): string {
  const first = pick(['alice', 'bob', 'carol', 'dave', 'eve', 'j', 'mary.ann', 'o_brien']);
  const last = pick(['smith', 'jones', 'lee', 'garcia', 'x', 'müller'.replace('ü', 'u')]);
  const local = pick([
    `${first}.${last}`,
    `${first}${int(1, 99)}`,
    `${first}+${pick(['news', 'work'])}`,
    `${first}_${last}`,
  ]);
  return `${local}@${pick(['example.com', 'mail.example.co.uk', 'corp-mail.io', 'uni.edu', 'sub.domain.org'])}`;
}
function ip(): string {
  if (random() < 0.6) return [int(1, 254), int(0, 255), int(0, 255), int(1, 254)].join('.');
  const groups = Array.from({ length: 8 }, () => chars(HEX, int(1, 4)));
  return random() < 0.5 ? groups.join(':') : `${groups.slice(0, 3).join(':')}::${groups[7]}`;
}
function secret(): string {
  return pick([
    () => `AKIA${chars(`${UPPER}234567`, 16)}`,
    () => `ghp_${chars(ALNUM, 36)}`,
    () => `github_pat_${chars(ALNUM, 22)}_${chars(ALNUM, 59)}`,
    () => `sk-proj-${chars(ALNUM, 48)}`,
    () => `sk-${chars(ALNUM, 48)}`,
    () => `xoxb-${digits(12)}-${digits(13)}-${chars(ALNUM, 24)}`,
    () => `glpat-${chars(ALNUM, 20)}`,
    () => `AIza${chars(ALNUM, 35)}`,
    () => `sk_live_${chars(ALNUM, 24)}`,
    () => `npm_${chars(ALNUM, 36)}`,
    () => `eyJhbGciOiJIUzI1NiJ9.eyJ${chars(ALNUM, int(20, 80))}.${chars(`${ALNUM}-_`, 43)}`,
    () => `-----BEGIN RSA PRIVATE KEY-----\n${chars(ALNUM, 64)}\n${chars(ALNUM, 64)}\n-----END RSA PRIVATE KEY-----`,
  ])();
}
function profanity(): string {
  return pick(['fuck', 'shit', 'sh1t', 'fuuuck', 'f.u.c.k', 'bitch', 'asshole', 'motherfucker', 'b1tch', 'dickhead']);
}

const GENERATORS = { card, iban, phone, ssn, email, ip, secret, profanity } as const;
const TEMPLATES = [
  (v: string) => `Please use ${v} for this.`,
  (v: string) => `${v}`,
  (v: string) => `Here you go: ${v}, thanks!`,
  (v: string) => `note (${v}) — see above`,
  (v: string) => `The value is\n${v}\nand that is all.`,
];

// ——— benign messages ———
function benign(): string[] {
  const root = fileURLToPath(new URL('../src/', import.meta.url));
  const files = readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .sort();
  const code: string[] = [];
  for (const file of files) {
    const lines = readFileSync(join(root, file), 'utf8').split('\n');
    for (let at = 0; at + 6 <= lines.length; at += 6) code.push(lines.slice(at, at + 6).join('\n'));
  }
  const words =
    'the model answers quickly while a plugin filters each message before it reaches the backend and after the reply'.split(
      ' ',
    );
  const prose = () => Array.from({ length: int(8, 30) }, () => pick(words)).join(' ');
  const generators = [
    () => pick(code),
    () => pick(code),
    prose,
    () =>
      `Order ${digits(int(5, 12))} shipped on ${int(2000, 2030)}-${String(int(1, 12)).padStart(2, '0')}-${String(int(1, 28)).padStart(2, '0')}.`,
    () => `id ${[8, 4, 4, 4, 12].map((n) => chars(HEX, n)).join('-')}`,
    () => `commit ${createHash('sha1').update(String(random())).digest('hex')}`,
    () => `sha256 ${createHash('sha256').update(String(random())).digest('hex')}`,
    () =>
      `upgrade to v${int(0, 20)}.${int(0, 40)}.${int(0, 99)} or ${int(0, 9)}.${int(0, 9)}.${int(0, 9)}-beta.${int(1, 9)}`,
    () => `Total: ${int(1, 99999)}.${digits(2)} EUR, ${int(1, 100)}% done, at ${int(0, 23)}:${digits(2)}:${digits(2)}`,
    () => `SKU ${digits(4)}-${digits(3)}-${digits(2)}, part ${chars(UPPER, 3)}-${digits(6)}, lot ${digits(int(6, 11))}`,
    () => `pi ≈ 3.${digits(15)}; e ≈ 2.${digits(12)}`,
    () => `The assassin passed the class assignment in Scunthorpe.`,
    () => `Matrix: ${Array.from({ length: 12 }, () => int(0, 99)).join(' ')}`,
  ];
  return Array.from({ length: BENIGN }, () => pick(generators)());
}

// ——— measuring ———
const config = contentFilterConfigSchema.parse({
  categories: { ip: { action: 'redact' }, profanity: { action: 'redact' } },
});
const scanner = createScanner(config, 'input');
interface Labelled {
  readonly text: string;
  readonly category: string;
  readonly start: number;
  readonly end: number;
}
const positives: Labelled[] = [];
for (const [category, generate] of Object.entries(GENERATORS)) {
  for (let index = 0; index < PER_CATEGORY; index++) {
    const value = generate();
    const text = pick(TEMPLATES)(value);
    const start = text.indexOf(value);
    positives.push({ text, category, start, end: start + value.length });
  }
}
const benignTexts = benign();

const stats = new Map(Object.keys(GENERATORS).map((category) => [category, { tp: 0, fn: 0, fp: 0, benignFp: 0 }]));
for (const sample of positives) {
  const findings = scanner.scan(sample.text);
  let hit = false;
  for (const finding of findings) {
    const overlaps = finding.start < sample.end && finding.end > sample.start;
    if (overlaps && finding.category === sample.category) hit = true;
    else if (!overlaps) stats.get(finding.category)!.fp++;
  }
  stats.get(sample.category)![hit ? 'tp' : 'fn']++;
}
let benignWithFinding = 0;
for (const text of benignTexts) {
  const findings = scanner.scan(text);
  if (findings.length > 0) benignWithFinding++;
  for (const finding of findings) {
    stats.get(finding.category)!.fp++;
    stats.get(finding.category)!.benignFp++;
  }
}

// Cost: every message once to warm up, then timed rounds.
const all = [...positives.map((sample) => sample.text), ...benignTexts];
for (const text of all) scanner.scan(text);
const ROUNDS = 3;
const started = performance.now();
for (let round = 0; round < ROUNDS; round++) for (const text of all) scanner.scan(text);
const perMessageUs = ((performance.now() - started) * 1000) / (ROUNDS * all.length);
const averageChars = all.reduce((sum, text) => sum + text.length, 0) / all.length;

const round3 = (value: number) => Math.round(value * 1000) / 1000;
const rows = [...stats.entries()].map(([category, { tp, fn, fp, benignFp }]) => ({
  category,
  positives: tp + fn,
  precision: round3(tp / Math.max(1, tp + fp)),
  recall: round3(tp / Math.max(1, tp + fn)),
  false_positives_per_1000_benign: round3((benignFp * 1000) / benignTexts.length),
}));
const summary = {
  category: 'all',
  positives: positives.length,
  benign_messages: benignTexts.length,
  benign_messages_with_a_finding_per_1000: round3((benignWithFinding * 1000) / benignTexts.length),
  us_per_message: round3(perMessageUs),
  average_message_chars: Math.round(averageChars),
};
console.table(rows);
console.table([summary]);
console.log(`written to ${writeResults('content-filter', [...rows, summary])}`);
