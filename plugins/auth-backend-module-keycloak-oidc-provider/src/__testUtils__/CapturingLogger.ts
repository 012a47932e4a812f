import type {
  LoggerService,
  RootLoggerService,
} from '@backstage/backend-plugin-api';

export interface LogLine {
  level: 'error' | 'warn' | 'info' | 'debug';
  message: string;
  meta: Record<string, unknown>;
}

/** A root logger that records every line, for asserting on what was logged. */
export class CapturingLogger implements RootLoggerService {
  constructor(
    readonly lines: LogLine[] = [],
    private readonly meta: Record<string, unknown> = {},
  ) {}

  #log(level: LogLine['level'], message: string, meta?: Error | unknown) {
    const extra =
      meta instanceof Error
        ? { error: meta.message, stack: meta.stack }
        : ((meta as Record<string, unknown>) ?? {});
    this.lines.push({ level, message, meta: { ...this.meta, ...extra } });
  }

  error(message: string, meta?: Error | unknown) {
    this.#log('error', message, meta);
  }
  warn(message: string, meta?: Error | unknown) {
    this.#log('warn', message, meta);
  }
  info(message: string, meta?: Error | unknown) {
    this.#log('info', message, meta);
  }
  debug(message: string, meta?: Error | unknown) {
    this.#log('debug', message, meta);
  }
  child(meta: Record<string, unknown>): LoggerService {
    return new CapturingLogger(this.lines, { ...this.meta, ...meta });
  }

  /**
   * Warnings logged while serving requests, not at startup (such as the
   * "stored unencrypted" notice of a test backend without encryption keys).
   */
  requestWarnings(): LogLine[] {
    return this.lines.filter(
      l => l.level === 'warn' && l.meta.phase !== 'startup',
    );
  }

  /** Everything logged, one string, for "never logs a token" checks. */
  dump(): string {
    return this.lines
      .map(l => `${l.level} ${l.message} ${JSON.stringify(l.meta)}`)
      .join('\n');
  }
}
