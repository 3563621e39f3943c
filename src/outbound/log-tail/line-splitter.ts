import { StringDecoder } from 'node:string_decoder';

/**
 * Turns a byte stream into complete lines. Chunks can end anywhere (inside a line, between
 * `\r` and `\n`, inside a multi-byte character), so the tail is held back until its newline.
 */
export class LineSplitter {
  private decoder = new StringDecoder('utf8');
  private partial = '';

  /** @param maxPending a line longer than this is emitted in pieces, so a newline-less stream can not grow memory without bound */
  constructor(private readonly maxPending = 256 * 1024) {}

  push(chunk: Buffer | string): string[] {
    const text = this.partial + (typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
    const pieces = text.split('\n');
    this.partial = pieces.pop() ?? '';
    const lines = pieces.map(stripCr);
    while (this.partial.length > this.maxPending) {
      lines.push(this.partial.slice(0, this.maxPending));
      this.partial = this.partial.slice(this.maxPending);
    }
    return lines;
  }

  /** Whatever is held back, as a last line (empty when nothing is). Resets the splitter. */
  flush(): string[] {
    const rest = stripCr(this.partial + this.decoder.end());
    this.reset();
    return rest.length > 0 ? [rest] : [];
  }

  /** Drops anything held back, e.g. after the file was truncated under us. */
  reset(): void {
    this.decoder = new StringDecoder('utf8');
    this.partial = '';
  }

  get pendingLength(): number {
    return this.partial.length;
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
