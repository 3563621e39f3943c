import { types } from 'node:util';

/** What every log source hands back: the one way to end it, which resolves once nothing is left running. */
export interface Follower {
  stop(): Promise<void>;
}

/** isNativeError, not instanceof: errors from Node internals can come from another realm (jest's vm). */
export function toError(e: unknown): Error {
  return e instanceof Error || types.isNativeError(e) ? e : new Error(String(e));
}

export function errorCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e) {
    const code = (e as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
