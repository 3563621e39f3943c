export type Role = 'leader' | 'follower';

/**
 * Which replica does the work that must happen once (backup tracking, the restore runner, the
 * Slack outbox sender). At most one replica is leader; the effects it causes are still fenced
 * by the epoch in the database, because no lease can rule out a leader that does not yet know
 * it has been replaced.
 *
 * `onChange` reports changes only: read `role()` after subscribing to learn where it starts.
 */
export interface Leadership {
  role(): Role;
  /** The epoch while leader (a number that grows with each new leadership), else null. */
  epoch(): number | null;
  /** Called on every change, after it happened: ('leader', epoch) / ('follower', null). */
  onChange(listener: (role: Role, epoch: number | null) => void): () => void;
  /** Called on NOTIFY of `channel` while connected (the leader listens for work). */
  onNotify(channel: string, listener: () => void): () => void;
  /** Begins campaigning; resolves quickly (does not wait to win). */
  start(): Promise<void>;
  /** Steps down (unlock), closes its connection; takes bounded time. */
  stop(): Promise<void>;
}

/**
 * One bot on SQLite: nobody to share with, so it leads from the start with epoch 0 and never
 * changes. It has no database to hear notifications from; its listeners are never called.
 */
export class SoleLeadership implements Leadership {
  role(): Role {
    return 'leader';
  }

  epoch(): number {
    return 0;
  }

  onChange(_listener: (role: Role, epoch: number | null) => void): () => void {
    return () => undefined;
  }

  onNotify(_channel: string, _listener: () => void): () => void {
    return () => undefined;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }
}
