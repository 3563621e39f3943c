import type { InstanceJson } from '../simulator';

/**
 * The commands the page offers under its composer. Each must work exactly as typed, so the
 * restore example names a backup of the default instance that is `done` right now (the seeded
 * history has a `deleted` and a `failed` one, and a restore of a9s-pg forgets later backups).
 */
export function composerExamples(defaultInstance: string, view: InstanceJson | undefined): string[] {
  const examples = ['/pgbackup help', '/pgbackup now', '/pgbackup list'];
  const restorable = (view?.backups ?? [])
    .filter((b) => b.backup_agent_task.status === 'done')
    .sort((a, b) => Date.parse(b.backup_agent_task.created_at) - Date.parse(a.backup_agent_task.created_at) || b.id - a.id)[0];
  if (view !== undefined && view.instance_id === defaultInstance && restorable !== undefined) {
    examples.push(`/pgbackup restore ${restorable.id} practising a restore`);
  }
  return examples;
}
