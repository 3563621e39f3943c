/**
 * The "open http://localhost:…" box the sandbox prints on start. The box is sized from its
 * text, so an edited sentence or a longer URL can not push the right border out of line.
 */
const TEXT = (url: string): string[] => [
  `pgbackup-bot SANDBOX — open ${url}`,
  'No Slack, no real Backup Manager: a local workspace and the',
  'simulator. Type /pgbackup help in #ops. Ctrl-C to stop.',
];

const MIN_INNER = 60;

/**
 * Columns a terminal gives the text. Every character the banner uses (ASCII, box drawing, the
 * em dash, a URL) takes one column, so code points are the measure; length in UTF-16 units is not
 * (it would differ for a character outside the BMP).
 */
export function displayWidth(text: string): number {
  return Array.from(text).length;
}

export function sandboxBanner(url: string): string[] {
  const text = TEXT(url);
  const inner = Math.max(MIN_INNER, ...text.map(displayWidth));
  const pad = (line: string): string => line + ' '.repeat(inner - displayWidth(line));
  const rule = '─'.repeat(inner + 4);
  return [`  ┌${rule}┐`, ...text.map((line) => `  │  ${pad(line)}  │`), `  └${rule}┘`];
}
