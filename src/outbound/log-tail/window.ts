import { truncate } from '../../domain/text';
import { isRestoreRequest, outcomeOf, parseAgentLine, recordTime, splitRecords, type Outcome } from './parse';

export interface LogWindowOptions {
  /** Applied to every line before it is kept or truncated (truncating first could cut a secret past recognition). */
  redact?: (s: string) => string;
  maxLines?: number;
  /**
   * Budget for `lines().join('\n')`. Slack rejects section text over 3000 characters; the
   * default leaves room for a code fence and a short heading around the lines.
   */
  maxChars?: number;
  /** Longer lines are cut and end with an ellipsis. */
  maxLineChars?: number;
  /**
   * Ignore outcomes until the agent has logged `POST /v1/restore`: when earlier lines are
   * shown too, an old `success` from a backup must not end the follow-up.
   */
  outcomeAfterRestoreRequest?: boolean;
  /**
   * Records logged before this time (epoch ms) never decide anything: a `tail -F` prints old
   * lines first, and an earlier restore's `success` must not end this one.
   */
  notBefore?: number;
}

export interface WindowOutcome {
  outcome: Outcome;
  /** The redacted, possibly truncated line that decided it. */
  line: string;
}

export const DEFAULT_MAX_LINES = 20;
export const DEFAULT_MAX_CHARS = 2800;
export const DEFAULT_MAX_LINE_CHARS = 400;

/**
 * The last lines of the agent log, bounded in count and characters, for a Slack message
 * edited in place. Physical lines holding several log records are split into one line each.
 */
export class LogWindow {
  private readonly redact: (s: string) => string;
  private readonly maxLines: number;
  private readonly maxChars: number;
  private readonly maxLineChars: number;
  private readonly needsRestoreRequest: boolean;
  private readonly notBefore: number | undefined;
  private kept: string[] = [];
  private seen = 0;
  private decided: WindowOutcome | undefined;
  private restoreRequested = false;

  constructor(options: LogWindowOptions = {}) {
    this.redact = options.redact ?? ((s) => s);
    this.maxLines = Math.max(1, Math.floor(options.maxLines ?? DEFAULT_MAX_LINES));
    this.maxChars = Math.max(2, Math.floor(options.maxChars ?? DEFAULT_MAX_CHARS));
    this.maxLineChars = Math.min(this.maxChars, Math.max(2, Math.floor(options.maxLineChars ?? DEFAULT_MAX_LINE_CHARS)));
    this.needsRestoreRequest = options.outcomeAfterRestoreRequest ?? false;
    this.notBefore = options.notBefore;
  }

  push(lines: readonly string[]): void {
    for (const physical of lines) {
      for (const record of splitRecords(physical)) {
        // Blank lines would only push real content out of a 20-line window.
        if (record.trim().length === 0) continue;
        this.add(record);
      }
    }
  }

  /** Lines in order, oldest first; a copy. */
  lines(): string[] {
    return [...this.kept];
  }

  /** Records pushed so far (blank ones not counted), including those no longer in the window. */
  get totalSeen(): number {
    return this.seen;
  }

  /** The first success or failure seen; later lines do not change it. */
  get outcome(): WindowOutcome | undefined {
    return this.decided;
  }

  /** Whether `POST /v1/restore` has been seen. */
  get restoreRequestSeen(): boolean {
    return this.restoreRequested;
  }

  private add(record: string): void {
    this.seen += 1;
    const parsed = parseAgentLine(record);
    const shown = truncate(this.redact(record), this.maxLineChars);
    const time = this.notBefore === undefined ? undefined : recordTime(parsed);
    const old = time !== undefined && this.notBefore !== undefined && time < this.notBefore;
    if (isRestoreRequest(parsed) && !old) this.restoreRequested = true;
    if (!this.decided && !old && (this.restoreRequested || !this.needsRestoreRequest)) {
      // Decided on the raw record: redaction must not hide the word that ends the restore.
      const outcome = outcomeOf(parsed);
      if (outcome) this.decided = { outcome, line: shown };
    }
    this.kept.push(shown);
    this.trim();
  }

  private trim(): void {
    if (this.kept.length > this.maxLines) this.kept.splice(0, this.kept.length - this.maxLines);
    let chars = this.kept.reduce((n, l) => n + l.length, 0) + Math.max(0, this.kept.length - 1);
    // The newest line always stays: maxLineChars <= maxChars, so it fits alone.
    while (chars > this.maxChars && this.kept.length > 1) {
      const dropped = this.kept.shift() ?? '';
      chars -= dropped.length + 1;
    }
  }
}

export { truncate };
