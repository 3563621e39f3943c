/**
 * pg lets a connection string's password, even an empty one (`postgres://user@host/db` parses
 * to ''), override an explicit `password` option; so a password kept apart (from a file, say)
 * is put into the URL itself. Encoded once: the URL setter leaves `%` alone and pg decodes the
 * password once.
 */
export function withPassword(connectionString: string, password: string | undefined): string {
  if (password === undefined) return connectionString;
  let url: URL;
  try {
    url = new URL(connectionString);
  } catch {
    throw new Error('a separate password needs the connection string as a postgres:// URL');
  }
  url.password = encodeURIComponent(password);
  return url.toString();
}

/** The password written in a postgres:// URL, decoded; undefined when it has none. */
export function passwordOf(connectionString: string): string | undefined {
  try {
    const p = new URL(connectionString).password;
    return p ? decodeURIComponent(p) : undefined;
  } catch {
    return undefined;
  }
}
