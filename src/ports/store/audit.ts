import type { SqlDb as Db } from './sql/sql-db';

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  instance: string | null;
  requestId: number | null;
  details: Record<string, unknown>;
}

/**
 * Append-only record of who did what. For a9s-pg it is the only record of a restore,
 * since the manager's own database is the thing being restored.
 */
export class AuditRepo {
  private readonly insert;
  private readonly recent;

  constructor(db: Db) {
    this.insert = db.prepare(
      'INSERT INTO audit_log (at, actor, action, instance, request_id, details) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.recent = db.prepare('SELECT * FROM audit_log ORDER BY id DESC LIMIT ?');
  }

  record(entry: Omit<AuditEntry, 'id'>): void {
    this.insert.run(entry.at, entry.actor, entry.action, entry.instance, entry.requestId, JSON.stringify(entry.details));
  }

  latest(limit = 50): AuditEntry[] {
    return (
      this.recent.all(limit) as Array<{
        id: number;
        at: number;
        actor: string;
        action: string;
        instance: string | null;
        request_id: number | null;
        details: string;
      }>
    ).map((r) => ({
      id: r.id,
      at: r.at,
      actor: r.actor,
      action: r.action,
      instance: r.instance,
      requestId: r.request_id,
      details: JSON.parse(r.details) as Record<string, unknown>,
    }));
  }
}
