export interface Fault {
  /** HTTP status to answer with; 200 (the default) makes it a plain `{ok:false}` Slack error. */
  status?: number;
  /** The Slack error code, e.g. `channel_not_found`; `internal_error` when only a status is given. */
  error?: string;
}

/** One-shot faults, consumed in the order they were queued, one per call of the method. */
export class FaultQueue {
  private readonly queued = new Map<string, Fault[]>();

  add(method: string, fault: Fault): void {
    const list = this.queued.get(method) ?? [];
    list.push(fault);
    this.queued.set(method, list);
  }

  take(method: string): Fault | undefined {
    const list = this.queued.get(method);
    const fault = list?.shift();
    if (list?.length === 0) this.queued.delete(method);
    return fault;
  }

  reset(): void {
    this.queued.clear();
  }
}
