import type { IncomingMessage } from 'node:http';
import { InputError } from '@backstage/errors';

/** The request itself is not a back-channel logout request (400). */
export class InvalidLogoutRequestError extends InputError {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

const FORM = 'application/x-www-form-urlencoded';

/** Checks the headers before any of the body is read. */
function checkHeaders(req: IncomingMessage) {
  const [mediaType, ...params] = (req.headers['content-type'] ?? '').split(';');
  if (mediaType.trim().toLowerCase() !== FORM) {
    throw new InvalidLogoutRequestError(
      'content_type',
      `content type must be ${FORM}`,
    );
  }
  for (const param of params) {
    const [name, value = ''] = param
      .split('=')
      .map(s => s.trim().toLowerCase());
    if (name === 'charset' && !['utf-8', 'utf8', '"utf-8"'].includes(value)) {
      throw new InvalidLogoutRequestError('charset', 'charset must be utf-8');
    }
  }
  const encoding = req.headers['content-encoding'];
  if (encoding && encoding.toLowerCase() !== 'identity') {
    throw new InvalidLogoutRequestError(
      'content_encoding',
      'content encoding is not supported',
    );
  }
}

/**
 * Reads at most `limitBytes` of the body. A larger body is read to its end
 * and dropped (as Express's body parsers do), so the client, still sending,
 * gets the 400 rather than a reset connection.
 */
function readBody(req: IncomingMessage, limitBytes: number): Promise<string> {
  if (req.readableEnded) {
    return Promise.resolve(''); // consumed upstream: nothing left to read
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limitBytes) {
        chunks.push(chunk);
      }
    });
    req.on('end', () => {
      if (size > limitBytes) {
        reject(
          new InvalidLogoutRequestError(
            'body_too_large',
            `request body is larger than ${limitBytes} bytes`,
          ),
        );
      } else {
        resolve(Buffer.concat(chunks).toString('utf8'));
      }
    });
    const aborted = () =>
      reject(
        new InvalidLogoutRequestError('aborted', 'request body not received'),
      );
    req.on('error', aborted);
    req.on('close', () => {
      if (!req.complete) aborted();
    });
  });
}

/**
 * A body that a body parser mounted earlier already read, if one did: the
 * stream has then ended (`readableEnded`, public Node API) and the parsed
 * form sits on `req.body`.
 */
function parsedUpstream(req: IncomingMessage): URLSearchParams | undefined {
  const { body } = req as { body?: unknown };
  if (!req.readableEnded || typeof body !== 'object' || body === null) {
    return undefined;
  }
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(body)) {
    for (const item of ([] as unknown[]).concat(value)) {
      params.append(name, String(item));
    }
  }
  return params;
}

/**
 * The `logout_token` of a back-channel logout request (OIDC Back-Channel
 * Logout 1.0, section 2.5): a form POST carrying exactly one. Every other
 * shape is an InvalidLogoutRequestError.
 */
export async function readLogoutTokenParameter(
  req: IncomingMessage,
  limitBytes: number,
): Promise<string> {
  checkHeaders(req);
  const params =
    parsedUpstream(req) ?? new URLSearchParams(await readBody(req, limitBytes));
  const tokens = params.getAll('logout_token');
  if (tokens.length > 1) {
    throw new InvalidLogoutRequestError(
      'duplicate_token',
      'logout_token parameter given more than once',
    );
  }
  if (!tokens[0]) {
    throw new InvalidLogoutRequestError(
      'missing_token',
      'missing logout_token parameter',
    );
  }
  return tokens[0];
}
