/** A startup problem the operator can fix: reported as one line, no stack, exit status 2. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
