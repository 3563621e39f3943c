export interface Fault {
  /** HTTP status to answer with; 200 (the default) makes it a plain `{ok:false}` Slack error. */
  status?: number;
  /** The Slack error code, e.g. `channel_not_found`; `internal_error` when only a status is given. */
  error?: string;
  /** Only for a call with this `channel` argument; other calls of the method pass it by. */
  channel?: string;
  /** Do the work first (the message is posted), then answer with the fault: Slack failing after accepting. */
  accept?: boolean;
  /** Answer only after this many milliseconds. */
  delayMs?: number;
  /** Never answer (the call is recorded with status 0); the connection stays open until the fake closes. */
  hang?: boolean;
}

/** One-shot faults, consumed in the order they were queued, one per call of the method. */
export class FaultQueue {
  private readonly queued = new Map<string, Fault[]>();

  add(method: string, fault: Fault): void {
    const list = this.queued.get(method) ?? [];
    list.push(fault);
    this.queued.set(method, list);
  }

  /** The first fault queued for `method` that applies to a call in `channel`. */
  take(method: string, channel?: unknown): Fault | undefined {
    const list = this.queued.get(method);
    const index = list?.findIndex((f) => f.channel === undefined || f.channel === channel) ?? -1;
    if (list === undefined || index < 0) return undefined;
    const [fault] = list.splice(index, 1);
    if (list.length === 0) this.queued.delete(method);
    return fault;
  }

  reset(): void {
    this.queued.clear();
  }
}
