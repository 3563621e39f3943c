/**
 * The workspace's user groups (`S…`), for usergroups.users.list. Tests and the sandbox
 * change membership while the bot runs, to see a grant or a revocation take effect.
 */
export class Usergroups {
  private readonly groups = new Map<string, string[]>();

  constructor(initial: Readonly<Record<string, readonly string[]>> = {}) {
    for (const [id, members] of Object.entries(initial)) this.set(id, members);
  }

  set(id: string, members: readonly string[]): void {
    this.groups.set(id, [...members]);
  }

  members(id: string): readonly string[] | undefined {
    return this.groups.get(id);
  }

  list(): Array<{ id: string; users: string[] }> {
    return [...this.groups].map(([id, users]) => ({ id, users: [...users] }));
  }
}
