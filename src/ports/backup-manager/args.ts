/**
 * Argument checks and quoting of the adapters (rest-adapter.ts, legacy-adapter.ts). client.ts
 * keeps its own private copies for now; they can merge once its rework has landed.
 */

export function requireGuid(guid: string): string {
  if (typeof guid !== 'string' || guid.trim() === '') throw new TypeError('instance guid must be a non-empty string');
  return guid.trim();
}

export function requireId(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`);
}

export function quote(guid: string): string {
  return JSON.stringify(guid.length > 80 ? `${guid.slice(0, 80)}…` : guid);
}
